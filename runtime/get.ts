/**
 * Getting results: `get`, `wait`, and the object store's `put` and `cancel`. On the driver each
 * blocking call is recorded as a span of the driver's time, for the timeline and diagnostics.
 *
 * @module
 */
import { captureCallsite } from "./_platform.ts";
import { workerContext } from "./_context.ts";
import { type Scan, scanValue } from "./_wire.ts";
import { GetTimeoutError, RuntimeShutdownError } from "./errors.ts";
import { hooks } from "./hooks.ts";
import {
  type Entry,
  entryOf,
  ObjectRef,
  SLOT,
  SPEC,
  STATE,
  VALUE,
  whenSettled,
} from "./object_ref.ts";
import { addTaskId, type SpanEntry } from "./recorder.ts";
import { state } from "./_state.ts";
import { activePool } from "./_active_pool.ts";
import { checkTimeout, describe } from "./_validate.ts";

/** Options for {@linkcode get}. */
export interface GetOptions {
  /** Milliseconds to wait before rejecting with GetTimeoutError. @default {no limit} */
  timeout?: number | null;
}

/** Options for {@linkcode wait}. */
export interface WaitOptions {
  /**
   * How many refs must be ready.
   * @default {1}
   */
  numReturns?: number;
  /** Milliseconds to wait at most; then returns what is ready. @default {no limit} */
  timeout?: number | null;
}

/**
 * The entries of `refs`, each marked as awaited. With recording on, `runs` also gets their task ids
 * (for the blocked span, see `blockedSpan`): read here, while each entry is at hand, rather than
 * in a second pass over all of them.
 */
function entriesOf(what: string, refs: readonly unknown[], runs: number[] | null): Entry[] {
  const s = state();
  const out: Entry[] = new Array(refs.length);
  try {
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i];
      if (!(r instanceof ObjectRef)) {
        throw new TypeError(
          `Cannot ${what} as item ${i} is not an ObjectRef: received ${describe(r)}`,
        );
      }
      const e = entryOf(r);
      if (!e || s.pool === null || e[SPEC].gen !== s.pool.gen) {
        throw new RuntimeShutdownError(
          `Cannot ${what} ${r} as the runtime it belongs to was shut down`,
        );
      }
      // With recording on, the ids of the recorded tasks (the blocked span's) mark them awaited,
      // all at once. Read from the entry: `instanceof Task` cost ≈80 ns a ref in Deno (profile).
      if (runs === null) s.pool.markAwaited(e);
      else if (e[SLOT] >= 0) addTaskId(runs, e.id);
      out[i] = e;
    }
  } finally {
    if (runs !== null && runs.length !== 0) s.pool?.recorder.tasks.awaitedIds(runs);
  }
  return out;
}

/** Task ids for a blocked span when recording is on, else null. */
function spanRuns(): number[] | null {
  const p = state().pool;
  return p !== null && p.recorder.enabled ? [] : null;
}

/** Starts a blocked span over the task ids in `runs` (from `entriesOf`); returns its end. */
function blockedSpan(kind: "get" | "wait", runs: number[] | null): () => void {
  const p = state().pool;
  if (!p || runs === null) return () => {};
  const start = performance.now();
  const callsite = hooks().captureCallsites ? captureCallsite() : undefined;
  return () => {
    const span: SpanEntry = { kind, start, end: performance.now(), runs };
    if (callsite) span.callsite = callsite;
    p.recorder.spans.push(span);
  };
}

/**
 * Waits for the value of one ref.
 *
 * @param ref A ref from `.remote()` or {@linkcode put}.
 * @param options `timeout` in milliseconds.
 * @returns The value: the task's result, or the value put.
 * @throws {TaskError} If the task threw (its remote stack is kept).
 * @throws {GetTimeoutError} If `timeout` ms passed first.
 * @throws {WorkerCrashedError} If the worker died and no retry was left.
 * @throws {TaskCancelledError} If the task was cancelled.
 *
 * @example The result of one task
 * ```ts
 * import { get, init, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const add = remote(function add(a: number, b: number) {
 *   return a + b;
 * });
 * init({ numCpus: 2 });
 * try {
 *   assert.equal(await get(add.remote(40, 2)), 42);
 *   assert.equal(await get(add.remote(add.remote(1, 2), 3)), 6); // a ref as an argument
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function get<T>(ref: ObjectRef<T>, options?: GetOptions): Promise<T>;
/**
 * Waits for the values of an array of refs; resolves with them in the order of the refs, or
 * rejects with the first error.
 *
 * @param refs Refs from `.remote()` or {@linkcode put}.
 * @param options `timeout` in milliseconds.
 * @returns The values, in the order of `refs`.
 * @throws {TaskError} If a task threw (its remote stack is kept).
 * @throws {GetTimeoutError} If `timeout` ms passed first.
 * @throws {WorkerCrashedError} If a worker died and no retry was left.
 * @throws {TaskCancelledError} If a task was cancelled.
 *
 * @example Submit all, then get once
 * ```ts
 * import { get, init, remote, shutdown, TaskError } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const square = remote(function square(x: number) {
 *   if (x < 0) throw new RangeError("negative");
 *   return x * x;
 * });
 * init({ numCpus: 2 });
 * try {
 *   const refs = [1, 2, 3, 4].map((x) => square.remote(x));
 *   assert.deepEqual(await get(refs), [1, 4, 9, 16]);
 *   await assert.rejects(get([square.remote(-1)]), TaskError);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function get<const R extends readonly ObjectRef<unknown>[]>(
  refs: R,
  options?: GetOptions,
): Promise<{ -readonly [K in keyof R]: R[K] extends ObjectRef<infer T> ? T : never }>;
export function get(refs: unknown, options: GetOptions = {}): Promise<unknown> {
  const single = !Array.isArray(refs);
  const list = single ? [refs] : refs as unknown[];
  if (single && !(refs instanceof ObjectRef)) {
    return Promise.reject(
      new TypeError(
        `Cannot get as 'refs' must be an ObjectRef or an array of ObjectRefs: received ${
          describe(refs)
        }`,
      ),
    );
  }
  let timeout: number | null;
  try {
    timeout = checkTimeout("get", options?.timeout);
  } catch (e) {
    return Promise.reject(e);
  }
  const ctx = workerContext();
  if (ctx) {
    for (const r of list) {
      if (!(r instanceof ObjectRef)) {
        return Promise.reject(
          new TypeError(`Cannot get as an item is not an ObjectRef: received ${describe(r)}`),
        );
      }
    }
    return ctx.request(list.map((r) => (r as ObjectRef<unknown>).id), timeout, null).then((vs) =>
      single ? (vs as unknown[])[0] : vs
    );
  }
  let entries: Entry[];
  const runs = spanRuns();
  try {
    entries = entriesOf("get", list, runs);
  } catch (e) {
    return Promise.reject(e);
  }
  let pending = 0;
  for (const e of entries) {
    if (e[STATE] === 2) return Promise.reject(e[VALUE]);
    if (e[STATE] === 0) pending++;
  }
  if (pending === 0) {
    return Promise.resolve(single ? entries[0][VALUE] : entries.map((e) => e[VALUE]));
  }
  const endSpan = blockedSpan("get", runs);
  return new Promise((resolve, reject) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      endSpan();
    };
    const onSettled = (e: Entry) => {
      if (done) return;
      if (e[STATE] === 2) {
        finish();
        reject(e[VALUE]);
      } else if (--pending === 0) {
        finish();
        resolve(single ? entries[0][VALUE] : entries.map((x) => x[VALUE]));
      }
    };
    for (const e of entries) if (e[STATE] === 0) whenSettled(e, onSettled);
    if (timeout !== null && !done) {
      timer = setTimeout(() => {
        if (done) return;
        finish();
        reject(
          new GetTimeoutError(
            `Cannot get ${
              entries.length === 1 ? "the object" : `${entries.length} objects`
            } within ${timeout} ms: ${pending} not ready`,
          ),
        );
      }, timeout);
    }
  });
}

/**
 * Waits until `numReturns` of `refs` are ready (or `timeout` ms pass), and returns
 * `[ready, notReady]`, both in input order.
 *
 * @param refs Refs from `.remote()` or {@linkcode put}.
 * @param options `numReturns` (how many must be ready) and `timeout` in milliseconds.
 * @returns The refs that are ready and those that are not.
 * @throws {RangeError} If `numReturns` is not between 1 and `refs.length`.
 *
 * @example Take the first result to be ready
 * ```ts
 * import { get, init, remote, shutdown, wait } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const after = remote(async function after(ms: number) {
 *   await new Promise((resolve) => setTimeout(resolve, ms));
 *   return ms;
 * });
 * init({ numCpus: 2 });
 * try {
 *   const refs = [after.remote(10), after.remote(1000)];
 *   const [ready, notReady] = await wait(refs, { numReturns: 1 });
 *   assert.deepEqual([ready, notReady], [[refs[0]], [refs[1]]]);
 *   assert.equal(await get(ready[0]), 10);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function wait<T>(
  refs: readonly ObjectRef<T>[],
  options: WaitOptions = {},
): Promise<[ObjectRef<T>[], ObjectRef<T>[]]> {
  if (!Array.isArray(refs)) {
    return Promise.reject(
      new TypeError(
        `Cannot wait as 'refs' must be an array of ObjectRefs: received ${describe(refs)}`,
      ),
    );
  }
  let timeout: number | null;
  let numReturns: number;
  try {
    timeout = checkTimeout("wait", options.timeout);
    numReturns = options.numReturns ?? 1;
    if (
      typeof numReturns !== "number" || !Number.isInteger(numReturns) || numReturns < 1 ||
      (numReturns > refs.length && refs.length > 0)
    ) {
      throw new RangeError(
        `Cannot wait as 'numReturns' must be an integer from 1 to ${refs.length} (the number of refs): received ${
          describe(numReturns)
        }`,
      );
    }
  } catch (e) {
    return Promise.reject(e);
  }
  if (refs.length === 0) return Promise.resolve([[], []]);
  const split = (readyFlags: boolean[]): [ObjectRef<T>[], ObjectRef<T>[]] => {
    const ready: ObjectRef<T>[] = [];
    const notReady: ObjectRef<T>[] = [];
    refs.forEach((r, i) => (readyFlags[i] ? ready : notReady).push(r));
    return [ready, notReady];
  };
  const ctx = workerContext();
  if (ctx) {
    return ctx.request(refs.map((r) => r.id), timeout, numReturns).then((f) =>
      split(f as boolean[])
    );
  }
  let entries: Entry[];
  const runs = spanRuns();
  try {
    entries = entriesOf("wait on", refs, runs);
  } catch (e) {
    return Promise.reject(e);
  }
  let ready = 0;
  for (const e of entries) if (e[STATE] !== 0) ready++;
  const flags = () => entries.map((e) => e[STATE] !== 0);
  if (ready >= numReturns || timeout === 0) return Promise.resolve(split(flags()));
  const endSpan = blockedSpan("wait", runs);
  return new Promise((resolve) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      endSpan();
      resolve(split(flags()));
    };
    const onSettled = () => {
      if (!done && ++ready >= numReturns) finish();
    };
    for (const e of entries) if (e[STATE] === 0) whenSettled(e, onSettled);
    if (timeout !== null) timer = setTimeout(finish, timeout);
  });
}

/**
 * Stores a value in the object store and returns a reference to it, to pass to many tasks
 * without copying it into each `.remote()` call.
 *
 * @param value A value that can be sent to workers (structured clone).
 * @returns A reference to the stored value.
 * @throws {TypeError} If the value cannot be sent to a worker (a function, a symbol...).
 *
 * @example Share one array with several tasks
 * ```ts
 * import { get, init, put, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const sumFrom = remote(function sumFrom(xs: number[], start: number) {
 *   return xs.slice(start).reduce((a, b) => a + b, 0);
 * });
 * init({ numCpus: 2 });
 * try {
 *   const xs = put([1, 2, 3, 4]);
 *   assert.deepEqual(await get(xs), [1, 2, 3, 4]);
 *   assert.deepEqual(await get([sumFrom.remote(xs, 0), sumFrom.remote(xs, 2)]), [10, 7]);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function put<T>(value: T): ObjectRef<T> {
  if (value instanceof ObjectRef) {
    throw new TypeError("Cannot put an ObjectRef: pass the ref itself instead");
  }
  const scan: Scan = { bytes: 0, refs: false };
  try {
    scanValue(value, "value", scan);
  } catch (e) {
    if (e instanceof TypeError) throw new TypeError(`Cannot put as ${e.message}`);
    throw e;
  }
  const ctx = workerContext();
  if (ctx) {
    const id = ctx.nextId();
    ctx.post({ t: "put", id, value });
    ctx.refsMade++;
    return new ObjectRef<T>(id);
  }
  const p = activePool("put a value");
  const e = p.put(value);
  return e as ObjectRef<T>;
}

/** Options for {@linkcode cancel}. */
export interface CancelOptions {
  /**
   * Also stop a task that is already running, by terminating its worker (the pool replaces it).
   * @default {false}
   */
  force?: boolean;
}

/**
 * Cancels a task. A task that has not started is dropped; `get` on it rejects with
 * TaskCancelledError. A running task is only stopped with `force`.
 *
 * @param ref The ref of the task's result.
 * @param options `force` to also stop a running task.
 * @throws {TypeError} If `ref` is not an ObjectRef.
 * @throws {RuntimeShutdownError} If the runtime `ref` belongs to was shut down.
 *
 * @example Drop a task that waits for a slot
 * ```ts
 * import { cancel, get, init, remote, shutdown, TaskCancelledError } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const after = remote(async function after(ms: number) {
 *   await new Promise((resolve) => setTimeout(resolve, ms));
 *   return ms;
 * });
 * init({ numCpus: 1 }); // one slot: the second task waits for the first
 * try {
 *   const first = after.remote(50);
 *   const second = after.remote(50);
 *   cancel(second);
 *   await assert.rejects(get(second), TaskCancelledError);
 *   assert.equal(await get(first), 50);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function cancel(ref: ObjectRef<unknown>, options: CancelOptions = {}): void {
  if (!(ref instanceof ObjectRef)) {
    throw new TypeError(`Cannot cancel as 'ref' must be an ObjectRef: received ${describe(ref)}`);
  }
  const force = options.force ?? false;
  const ctx = workerContext();
  if (ctx) {
    ctx.post({ t: "cancel", id: ref.id, force });
    return;
  }
  const e = entryOf(ref);
  const p = state().pool;
  if (!e || !p || e[SPEC].gen !== p.gen) {
    throw new RuntimeShutdownError(
      `Cannot cancel ${ref} as the runtime it belongs to was shut down`,
    );
  }
  if (e[SPEC].task) p.cancel(e, force);
}
