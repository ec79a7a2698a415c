/**
 * Timing helpers: the document's `time_this`, as a wrapper, a decorator and a block timer, plus
 * `sleepSync`, the stand-in for CPU-heavy work.
 *
 * @module
 */

type Inspect = (value: unknown, options: { depth: number; breakLength: number }) => string;
type Host = typeof globalThis & {
  Bun?: unknown;
  process?: { getBuiltinModule(id: string): { inspect: Inspect } };
};

// node:util's inspect formats the arguments, loaded off the import path: a static import costs
// every Bun process, and every worker that imports mod.ts, 3-5 ms (Bun builds its inspect
// module then). Deno loads node:util in under a millisecond but pays 7-11 ms the first time
// anything touches `globalThis.process`, so there the module is fetched by a dynamic import that
// starts now; Bun takes it synchronously from process.getBuiltinModule on the first use.
let inspectFn: Inspect | undefined;
if (!(globalThis as Host).Bun) {
  import("node:util").then((m) => inspectFn ??= m.inspect as Inspect, () => {});
}

function inspect(value: unknown, options: { depth: number; breakLength: number }): string {
  inspectFn ??= (globalThis as Host).process!.getBuiltinModule("node:util").inspect;
  return inspectFn(value, options);
}

/** One timed call. */
export interface TimingRecord {
  /** Function name or block label. */
  name: string;
  /** Arguments of the call (empty for blocks). */
  args: unknown[];
  /** Wall time in seconds. */
  seconds: number;
  /** Start, ms on the `performance.now()` clock. */
  start: number;
  /** End, ms on the `performance.now()` clock. */
  end: number;
  /** The error, if the call threw. */
  error?: unknown;
}

/** Receives timing records. */
export type TimingSink = (record: TimingRecord) => void;

const SINK = Symbol.for("rayprof.timingSink");
type G = typeof globalThis & { [SINK]?: TimingSink | null };

/**
 * Formats a record as the document prints it: `| func:'ex1' args:[] took: 2.5083 seconds |`.
 *
 * @param r The record, as a timing sink receives it.
 * @returns One line, without a newline.
 *
 * @example
 * ```ts
 * import { formatTiming } from "./timing.ts";
 * import assert from "node:assert/strict";
 *
 * const line = formatTiming({ name: "ex1", args: [5], seconds: 2.50831, start: 0, end: 2508.31 });
 * assert.equal(line, "| func:'ex1' args:[5] took: 2.5083 seconds |");
 * ```
 */
export function formatTiming(r: TimingRecord): string {
  const args = r.args.map((a) => inspect(a, { depth: 2, breakLength: Infinity })).join(", ");
  const failed = r.error === undefined ? "" : " (threw)";
  return `| func:'${r.name}' args:[${args}] took: ${r.seconds.toFixed(4)} seconds${failed} |`;
}

function printSink(r: TimingRecord): void {
  console.log(formatTiming(r));
}

/**
 * Sets where timings go: a function, or `null` for standard output (the default). Returns the
 * previous sink, so callers can restore it.
 *
 * @param sink Receives every record from {@linkcode timeThis}, {@linkcode timed} and
 *   {@linkcode time}; `null` prints them with {@linkcode formatTiming}.
 * @returns The sink that was set before.
 *
 * @example Collect timings instead of printing them
 * ```ts
 * import { setTimingSink, time, type TimingRecord } from "./timing.ts";
 * import assert from "node:assert/strict";
 *
 * const records: TimingRecord[] = [];
 * const previous = setTimingSink((r) => records.push(r));
 * try {
 *   time("sum", () => [1, 2, 3].reduce((a, b) => a + b));
 * } finally {
 *   setTimingSink(previous);
 * }
 * assert.equal(records.length, 1);
 * assert.equal(records[0].name, "sum");
 * ```
 */
export function setTimingSink(sink: TimingSink | null): TimingSink | null {
  const g = globalThis as G;
  const prev = g[SINK] ?? null;
  g[SINK] = sink;
  return prev;
}

function emit(r: TimingRecord): void {
  ((globalThis as G)[SINK] ?? printSink)(r);
}

function record(name: string, args: unknown[], start: number, error?: unknown): void {
  const end = performance.now();
  const r: TimingRecord = { name, args, seconds: (end - start) / 1000, start, end };
  if (error !== undefined) r.error = error;
  emit(r);
}

function run<R>(name: string, args: unknown[], f: () => R): R {
  const start = performance.now();
  let result: R;
  try {
    result = f();
  } catch (e) {
    record(name, args, start, e);
    throw e;
  }
  if (
    result !== null && typeof result === "object" &&
    typeof (result as { then?: unknown }).then === "function"
  ) {
    return (result as unknown as Promise<unknown>).then(
      (v) => {
        record(name, args, start);
        return v;
      },
      (e) => {
        record(name, args, start, e ?? new Error("rejected"));
        throw e;
      },
    ) as R;
  }
  record(name, args, start);
  return result;
}

/**
 * Wraps `fn` so that each call prints how long it took (awaiting it if it returns a promise),
 * keeping `this`, the return value and thrown errors.
 *
 * @param fn The function to time.
 * @param name The label printed (default: `fn.name`).
 * @returns A function that calls `fn` the same way and reports the time of each call.
 * @throws {TypeError} If `fn` is not a function.
 *
 * @example Time the document's loops
 * ```ts
 * import { get, init, remote, setTimingSink, shutdown, timeThis } from "../mod.ts";
 * import type { TimingRecord } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * // A task defined inside a block is sent as source text: it may use only globals.
 * const work = remote(async function work() {
 *   await new Promise((done) => setTimeout(done, 50)); // stands in for 50 ms of work
 * });
 * // ex2 of the document: submit every task, then get them all at once.
 * const ex2 = timeThis(async function ex2(n: number) {
 *   const refs = [];
 *   for (let i = 0; i < n; i++) refs.push(work.remote());
 *   await get(refs);
 * });
 *
 * const records: TimingRecord[] = [];
 * const previous = setTimingSink((r) => records.push(r)); // without it: printed to stdout
 * init({ numCpus: 2 });
 * try {
 *   await ex2(4); // | func:'ex2' args:[4] took: 0.1xxx seconds |
 * } finally {
 *   setTimingSink(previous);
 *   await shutdown();
 * }
 * assert.equal(records[0].name, "ex2");
 * assert.deepEqual(records[0].args, [4]);
 * assert.ok(records[0].seconds >= 0.1); // 4 tasks of 50 ms on 2 workers
 * ```
 */
// deno-lint-ignore no-explicit-any
export function timeThis<F extends (this: any, ...args: any[]) => any>(fn: F, name?: string): F {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot time a call as 'fn' must be a function: received ${typeof fn}`);
  }
  const label = name ?? (fn.name || "anonymous");
  const wrapped = function (this: unknown, ...args: unknown[]) {
    return run(label, args, () => fn.apply(this, args));
  };
  Object.defineProperty(wrapped, "name", { value: fn.name });
  return wrapped as unknown as F;
}

/**
 * A TC39 method decorator: each call of the method prints its time, as {@linkcode timeThis}.
 *
 * @param method The decorated method.
 * @param context The decorator context (its `name` is the label).
 * @returns The method, timed.
 *
 * @example
 * ```ts
 * import { setTimingSink, sleepSync, timed, type TimingRecord } from "./timing.ts";
 * import assert from "node:assert/strict";
 *
 * class Loops {
 *   @timed
 *   ex1(ms: number) {
 *     sleepSync(ms);
 *     return ms;
 *   }
 * }
 *
 * const records: TimingRecord[] = [];
 * const previous = setTimingSink((r) => records.push(r));
 * try {
 *   assert.equal(new Loops().ex1(20), 20);
 * } finally {
 *   setTimingSink(previous);
 * }
 * assert.equal(records[0].name, "ex1");
 * assert.ok(records[0].seconds >= 0.02);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function timed<This, F extends (this: This, ...args: any[]) => any>(
  method: F,
  context: ClassMethodDecoratorContext<This, F>,
): F {
  const label = String(context.name);
  return function (this: This, ...args: unknown[]) {
    return run(label, args, () => method.apply(this, args));
  } as F;
}

/**
 * Times a block: runs `fn` (awaiting it if async), emits a record labelled `label`, returns its
 * result.
 *
 * @param label The name printed for the block.
 * @param fn The block; if it returns a promise, the time runs until the promise settles.
 * @returns What `fn` returned.
 *
 * @example
 * ```ts
 * import { setTimingSink, time, type TimingRecord } from "./timing.ts";
 * import assert from "node:assert/strict";
 *
 * const records: TimingRecord[] = [];
 * const previous = setTimingSink((r) => records.push(r));
 * try {
 *   const n = await time("fetch-ish", () => new Promise((ok) => setTimeout(() => ok(7), 20)));
 *   assert.equal(n, 7);
 * } finally {
 *   setTimingSink(previous);
 * }
 * assert.equal(records[0].name, "fetch-ish");
 * assert.ok(records[0].end - records[0].start >= 15); // milliseconds
 * ```
 */
export function time<R>(label: string, fn: () => R): R {
  return run(label, [], fn);
}

let sleeper: Int32Array | undefined;

/**
 * Blocks the current thread for `ms` milliseconds (Atomics.wait): the stand-in for CPU-heavy
 * work, like Python's time.sleep inside a Ray task.
 *
 * @param ms How long to block, in milliseconds.
 * @throws {RangeError} If `ms` is negative or not a number.
 *
 * @example
 * ```ts
 * import { sleepSync } from "./timing.ts";
 * import assert from "node:assert/strict";
 *
 * const t0 = performance.now();
 * sleepSync(30);
 * assert.ok(performance.now() - t0 >= 30);
 * assert.throws(() => sleepSync(-1), RangeError);
 * ```
 */
export function sleepSync(ms: number): void {
  if (typeof ms !== "number" || Number.isNaN(ms) || ms < 0) {
    throw new RangeError(`Cannot sleep as 'ms' must be a non-negative number: received ${ms}`);
  }
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  const end = performance.now() + ms;
  // Atomics.wait may wake early; loop until the time has really passed.
  for (let left = ms; left > 0; left = end - performance.now()) Atomics.wait(sleeper, 0, 0, left);
}
