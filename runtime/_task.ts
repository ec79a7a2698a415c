/**
 * What the scheduler knows of a definition, of what the tasks submitted the same way share, and of
 * an actor. A task itself is its ref (see object_ref.ts).
 *
 * @module
 */
import { captureCallsite } from "./_platform.ts";
import type { FnDef } from "./_protocol.ts";
import type { Entry } from "./object_ref.ts";
import type { PoolWorker } from "./_pool_worker.ts";

/** A submitted task: its ref, whose symbol-keyed fields hold what the scheduler needs. */
export type Task = Entry;

/** Options a task is submitted with, already validated. */
export interface TaskOptions {
  numCpus: number;
  maxRetries: number;
  retryExceptions: boolean | (abstract new (...args: never[]) => unknown)[];
  name: string;
}

/**
 * What the tasks submitted the same way share (a remote function with its options, or one method
 * of one actor), so each task holds one field for all of it.
 */
export class TaskSpec {
  constructor(
    readonly def: Def,
    readonly opts: TaskOptions,
    /** Display name ("func", "Counter.incr", "put"). */
    readonly name: string,
    /** Runtime generation: refs of a shut-down runtime are dead. */
    readonly gen: number,
    readonly actor: Actor | null,
    /** The actor method, or null for the actor's constructor (and for tasks). */
    readonly method: string | null,
    /** False for `put` values: not tasks. */
    readonly task: boolean,
  ) {}
}

/** Driver-side state of a function or class definition (one per runtime generation). */
export class Def {
  /** Mean run time in ms (exponential moving average) and how many runs it is based on. */
  avg = 0;
  runs = 0;
  #site: string | undefined;
  #submits = 0;
  #lastOpts: TaskOptions | null = null;
  #lastSpec: TaskSpec | null = null;
  constructor(readonly wire: FnDef, readonly gen: number) {}

  /**
   * The spec of this definition's tasks with options `opts`: a remote function keeps its options
   * object, so this is one comparison per task.
   */
  specFor(opts: TaskOptions): TaskSpec {
    if (opts !== this.#lastOpts) {
      this.#lastOpts = opts;
      this.#lastSpec = new TaskSpec(this, opts, opts.name, this.gen, null, null, true);
    }
    return this.#lastSpec!;
  }

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

/** An actor: a class instance living in its own worker. */
export class Actor {
  dead: Error | null = null;
  /** Calls waiting for their arguments, in submission order. */
  pending: Task[] = [];
  #specs = new Map<string | null, TaskSpec>();
  constructor(
    readonly id: number,
    readonly name: string,
    readonly def: Def,
    readonly worker: PoolWorker,
    readonly numCpus: number,
  ) {}

  /** The spec of calls to `method` (null: the constructor) with options `opts`. */
  specFor(method: string | null, opts: TaskOptions): TaskSpec {
    let s = this.#specs.get(method);
    if (s === undefined || s.opts !== opts) {
      const name = `${this.name}.${method ?? "constructor"}`;
      s = new TaskSpec(this.def, opts, name, this.def.gen, this, method, true);
      this.#specs.set(method, s);
    }
    return s;
  }
}
