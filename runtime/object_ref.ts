/**
 * Object references: the futures returned by `.remote()` and `put()`. On the driver a ref is also
 * the runtime's record of its object and, for a task's result, the task itself: one object per
 * task (a task, its entry and its ref were three objects, ≈273 heap bytes a pending task in Deno).
 *
 * The driver's state sits in fields keyed by symbols, which structured clone and JSON leave out
 * (they copy own enumerable string keys): a ref sent into a worker carries its id alone.
 *
 * @module
 */
import type { PoolWorker } from "./_pool_worker.ts";
import { FLAG_REFS } from "./_protocol.ts";
import type { TaskSpec } from "./_task.ts";

/** 0 pending, 1 ok, 2 failed. */
export const STATE: unique symbol = Symbol("rayprof.state");
/** The value once settled (the error when failed). */
export const VALUE: unique symbol = Symbol("rayprof.value");
/** A task's arguments until it settles (top-level refs among them replaced by their values). */
export const ARGS: unique symbol = Symbol("rayprof.args");
/** Who waits for it to settle: null, one callback, or an array of them. */
export const WAITERS: unique symbol = Symbol("rayprof.waiters");
/**
 * Number of its task's record in the recorder's TaskLog (the order it was added, which tells
 * whether the ring still holds it); -1 for `put` values or none.
 */
export const SLOT: unique symbol = Symbol("rayprof.slot");
/**
 * What it shares with the other tasks submitted the same way (definition, options, name, runtime
 * generation, actor); null for a ref the driver holds no entry for (one made in a worker).
 */
export const SPEC: unique symbol = Symbol("rayprof.spec");
/** Flags (`B_` constants) and, from bit B_DEPS_SHIFT, the top-level arguments still pending. */
export const BITS: unique symbol = Symbol("rayprof.bits");
/** The worker it was dispatched to, while it runs there. */
export const WORKER: unique symbol = Symbol("rayprof.worker");
/** Position in its worker's dispatch order, to tell started from not started after a crash. */
export const SEQ: unique symbol = Symbol("rayprof.seq");
/** Retries left (-1: no limit). */
export const RETRIES: unique symbol = Symbol("rayprof.retries");
/** Expected run time when dispatched, in whole µs (kept an integer: see the keeper below). */
export const EST: unique symbol = Symbol("rayprof.est");

/** `BITS`: arguments contain refs below the top level (sent to the worker as the task's flags). */
export const B_REFS: number = FLAG_REFS;
/** `BITS`: cancel() was called. */
export const B_CANCELLED = 2;
/** `BITS`: a forced cancel was asked while it was being dispatched. */
export const B_FORCE_CANCEL = 4;
/** `BITS`: pending top-level arguments are counted from this bit. */
export const B_DEPS_SHIFT = 4;
/** One pending argument, in `BITS`. */
export const B_DEP: number = 1 << B_DEPS_SHIFT;

/** The arguments of a task that takes none: one array for all of them. */
export const NO_ARGS: unknown[] = Object.freeze([]) as unknown as unknown[];

/** Tag carried by a reference when it is copied into a worker. */
export const REF_TAG = "__rayprofRef";

type Waiter = (e: Entry) => void;

/**
 * A reference to a value that a task will produce (or that `put` stored). Pass it to `get` or
 * `wait`, or to other tasks: as a top-level argument it is replaced by its value before the task
 * runs; nested inside arrays or objects it arrives as a reference.
 *
 * @example A ref as a task's argument
 * ```ts
 * import { get, init, ObjectRef, put, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const total = remote(function total(xs: number[]) {
 *   return xs.reduce((a, b) => a + b, 0);
 * });
 * init({ numCpus: 2 });
 * try {
 *   const data = put([1, 2, 3]); // stored once, shared by every task that takes it
 *   assert.ok(data instanceof ObjectRef);
 *   assert.equal(String(data), `ObjectRef(${data.id})`);
 *   const sum = total.remote(data); // at the top level: replaced by its value
 *   assert.equal(await get(total.remote([await get(sum), 4])), 10);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export class ObjectRef<T = unknown> {
  /** Unique id of the object (the task id for task results); copied along into workers. */
  readonly __rayprofRef: number;
  /** Phantom field carrying the value type. */
  declare readonly __type?: T;
  // The driver's state, in the order of the symbols' docs above. Class fields, not assignments in
  // the constructor: JSC then keeps them all inside the object (16 + 8 a field bytes); assigned
  // under symbol keys in the constructor they went to a separate property store (200 bytes a
  // ref with the array slot, against 120).
  /** @internal */
  [STATE]: 0 | 1 | 2 = 0;
  /** @internal */
  [VALUE]: unknown = undefined;
  /** @internal */
  [ARGS]: unknown[] = NO_ARGS;
  /** @internal */
  [WAITERS]: Waiter | Waiter[] | null = null;
  /** @internal */
  [SLOT] = -1;
  /** @internal */
  [SPEC]: TaskSpec | null;
  /** @internal */
  [BITS] = 0;
  /** @internal */
  [WORKER]: PoolWorker | null = null;
  /** @internal */
  [SEQ] = 0;
  /** @internal */
  [RETRIES] = 0;
  /** @internal */
  [EST] = 0;

  /** @internal Created by the runtime only. */
  constructor(id: number, spec: TaskSpec | null = null) {
    this.__rayprofRef = id;
    this[SPEC] = spec;
  }

  /**
   * The object's id (the task id, for a task's result).
   *
   * @example
   * ```ts
   * import { put, shutdown } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const a = put(1);
   * const b = put(2);
   * assert.notEqual(a.id, b.id);
   * await shutdown();
   * ```
   */
  get id(): number {
    return this.__rayprofRef;
  }

  /** Returns `ObjectRef(id)`. */
  toString(): string {
    return `ObjectRef(${this.id})`;
  }

  /** @internal Shows the ref as `ObjectRef(id)` in Deno's `console.log`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @internal Shows the ref as `ObjectRef(id)` in Node's and Bun's `console.log`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** A ref the driver holds the state of: a task's result or a `put` value. */
export type Entry = ObjectRef<unknown> & { [SPEC]: TaskSpec };

/** @internal The ref itself when the driver holds its entry (state), else undefined. */
export function entryOf(ref: ObjectRef<unknown>): Entry | undefined {
  return ref[SPEC] === null ? undefined : ref as Entry;
}

/** Settles an entry (once) and calls who waits for it. */
export function settle(e: Entry, state: 1 | 2, value: unknown): void {
  if (e[STATE] !== 0) return;
  e[STATE] = state;
  e[VALUE] = value;
  e[ARGS] = NO_ARGS;
  e[WORKER] = null;
  const w = e[WAITERS];
  if (w === null) return;
  e[WAITERS] = null;
  if (typeof w === "function") w(e);
  else for (let i = 0; i < w.length; i++) w[i](e);
}

/** Calls `f` once the entry is settled (at once if it is). */
export function whenSettled(e: Entry, f: Waiter): void {
  if (e[STATE] !== 0) {
    f(e);
    return;
  }
  const w = e[WAITERS];
  if (w === null) e[WAITERS] = f;
  else if (typeof w === "function") e[WAITERS] = [w, f];
  else w.push(f);
}

/**
 * Keeps a ref alive for as long as the module is, with each field already holding every kind of
 * value it will hold. V8 holds the hidden class (map) of objects only weakly, from its transition
 * tree: when every ref of a burst of tasks had died, the next major collection freed their maps and
 * deoptimized each function built for them (`--trace-deopt`: "embedded weak objects cleared" for
 * submit, settle, the dispatch and result paths: ≈10 per major collection, bench/deopts.ts). A live
 * ref keeps the map. Writing a number and an object into its id and value fields now makes them
 * "tagged" (any value) from the start, so the ids of refs made in workers (above 2^32) and results
 * of any type later keep the same map rather than make a new one (which this ref would not hold).
 */
const keeper = new ObjectRef(0);
(keeper as { __rayprofRef: unknown }).__rayprofRef = null;
keeper[VALUE] = 0.5;
keeper[VALUE] = keeper;
keeper[WAITERS] = () => {};
keeper[WAITERS] = [];
/** @internal The ref that keeps the maps (see above); exported so that it is plainly reachable. */
export const SHAPE_KEEPER: ObjectRef<unknown> = keeper;
