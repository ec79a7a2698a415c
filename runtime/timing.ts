/**
 * Timing helpers: the document's `time_this`, as a wrapper, a decorator and a block timer, plus
 * `sleepSync`, the stand-in for CPU-heavy work.
 *
 * @module
 */
import { inspect } from "node:util";

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

/** Formats a record as the document prints it: `| func:'ex1' args:[] took: 2.5083 seconds |`. */
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
 * @example Time the document's loops
 * ```ts ignore
 * import { timeThis } from "./mod.ts";
 * await timeThis(ex1)(); // | func:'ex1' args:[] took: 2.5083 seconds |
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
 * @example
 * ```ts ignore
 * class Loops { @timed ex1() { ... } }
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

/** Times a block: runs `fn` (awaiting it if async), emits a record labelled `label`, returns its result. */
export function time<R>(label: string, fn: () => R): R {
  return run(label, [], fn);
}

let sleeper: Int32Array | undefined;

/**
 * Blocks the current thread for `ms` milliseconds (Atomics.wait): the stand-in for CPU-heavy
 * work, like Python's time.sleep inside a Ray task.
 *
 * @throws {RangeError} If `ms` is negative or not a number.
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
