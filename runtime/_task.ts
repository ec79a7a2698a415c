/**
 * What the scheduler knows of a task, of the definition it runs, and of an actor.
 *
 * @module
 */
import { captureCallsite } from "./_platform.ts";
import type { FnDef } from "./_protocol.ts";
import { Entry } from "./object_ref.ts";
import type { PoolWorker } from "./_pool_worker.ts";

/** Driver-side state of a function or class definition. */
export class Def {
  /** Mean run time in ms (exponential moving average) and how many runs it is based on. */
  avg = 0;
  runs = 0;
  #site: string | undefined;
  #submits = 0;
  constructor(readonly wire: FnDef) {}

  /**
   * Where `.remote()` was called, for the timeline. A stack capture costs 10-100 µs in Deno, so
   * after the first 32 submissions of a function only 1 in 32 is captured; the others carry the
   * last one captured (a function is nearly always submitted from the same line).
   */
  callsite(): string | undefined {
    const n = this.#submits++;
    if (n < 32 || (n & 31) === 0) this.#site = captureCallsite() ?? this.#site;
    return this.#site;
  }
}

/** Options a task is submitted with, already validated. */
export interface TaskOptions {
  numCpus: number;
  maxRetries: number;
  retryExceptions: boolean | (abstract new (...args: never[]) => unknown)[];
  name: string;
}

/** A submitted task: its result entry plus what is needed to run it. */
export class Task extends Entry {
  args: unknown[];
  flags: number;
  /** Top-level arguments still pending. */
  deps = 0;
  cancelled = false;
  worker: PoolWorker | null = null;
  /** Position in its worker's dispatch order, to tell started from not started after a crash. */
  seq = 0;
  retriesLeft: number;
  /** Expected run time when dispatched (ms), from its function's mean. */
  est = 0;
  /** A forced cancel was asked while it was being dispatched. */
  forceCancel = false;
  constructor(
    id: number,
    gen: number,
    name: string,
    readonly def: Def,
    readonly method: string | null,
    readonly actor: Actor | null,
    args: unknown[],
    readonly opts: TaskOptions,
  ) {
    super(id, gen, name);
    this.args = args;
    this.flags = 0;
    this.retriesLeft = opts.maxRetries;
  }
}

/** An actor: a class instance living in its own worker. */
export class Actor {
  dead: Error | null = null;
  /** Calls waiting for their arguments, in submission order. */
  pending: Task[] = [];
  constructor(
    readonly id: number,
    readonly name: string,
    readonly def: Def,
    readonly worker: PoolWorker,
    readonly numCpus: number,
  ) {}
}
