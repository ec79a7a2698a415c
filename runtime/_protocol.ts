/**
 * The driver↔worker message protocol, in one place. The worker side imports this file and nothing
 * of the scheduler.
 *
 * Task batches are flat arrays (`[id, fid, args, flags, id, fid, ...]`): structured clone copies
 * them faster than arrays of objects, which matters at 100,000 tasks per second.
 *
 * @module
 */
import type { RemoteErrorInfo } from "./errors.ts";

/** How a worker finds a remote function or actor class. */
export interface FnDef {
  /** Driver-wide id of the definition. */
  fid: number;
  /** Module that called `remote()`; the worker imports it and looks the function up by `key`. */
  url: string;
  /** "line:col#n": the `remote()` call site in that module and its occurrence count. */
  key: string;
  name: string;
  /** Source text, used when the module cannot give the function (eval, REPL, nested scope). */
  src: string;
  cls: boolean;
}

/** Task flag: arguments contain references below the top level, to revive in the worker. */
export const FLAG_REFS = 1;

/** Status of a finished task in a "done" batch: it returned its value. */
export const DONE_OK = 0;
/** Status of a finished task in a "done" batch: it threw (the value is the error as data). */
export const DONE_ERROR = 1;
/** Status of a finished task in a "done" batch: it was cancelled before it started. */
export const DONE_CANCELLED = 2;

/** Ids of objects made inside worker n are n * ID_SPAN + k, unique without asking the driver. */
export const ID_SPAN = 4294967296;

/** Entries per task in a "run" batch. */
export const RUN_STRIDE = 4;
/** Entries per task in a "done" batch: id, status, value, started, finished, resultBytes. */
export const DONE_STRIDE = 6;

/** Messages from the driver to a worker, keyed by `t`. */
export type ToWorker =
  /** `tasks` is flat: id, fid (or method name for actors), args, flags. */
  | { t: "run"; defs: FnDef[] | null; tasks: unknown[] }
  | { t: "cancel"; id: number }
  | { t: "reply"; req: number; ok: boolean; value: unknown }
  | { t: "collect"; names: string[] };

/** Messages from a worker to the driver, keyed by `t`. */
export type FromWorker =
  | { t: "ready"; origin: number }
  | { t: "done"; r: unknown[] }
  | {
    t: "submit";
    id: number;
    def: Omit<FnDef, "fid">;
    args: unknown[];
    flags: number;
    opts: Record<string, unknown>;
    parent: number;
    /** Actor method call: the actor id and method name (def is unused). */
    actor?: number;
    method?: string;
  }
  | {
    t: "get";
    req: number;
    ids: number[];
    timeout: number | null;
    numReturns: number | null;
    /** The task that asked (the one whose code was running when get() was called). */
    task: number;
  }
  | { t: "put"; id: number; value: unknown }
  | { t: "cancel"; id: number; force: boolean }
  /** A cancel arrived for a task this worker had already started. */
  | { t: "cancelmiss"; id: number }
  | { t: "block" }
  | { t: "unblock" }
  | { t: "fault"; error: RemoteErrorInfo }
  | { t: "collected"; data: Record<string, unknown> };

/** What a worker is started with. */
export interface WorkerInit {
  id: number;
  kind: "pool" | "actor";
  /** Int32Array over it: [0] tasks dequeued so far (started or dropped), for crash accounting. */
  counter: SharedArrayBuffer;
  /**
   * Int32Array over it, shared by the pool's workers: [0] the highest slot in use, [slot] 1 while
   * that worker is awake (running or polling), so an idle worker polls only while a core is to
   * spare. Slot 0: this worker has none, and does not poll.
   */
  awake: SharedArrayBuffer;
  awakeSlot: number;
  /** The channels' shared memory (see _channel.ts): driver to worker, and worker to driver. */
  toWorker: SharedArrayBuffer;
  fromWorker: SharedArrayBuffer;
  preload: string[];
  data: Record<string, unknown>;
  /** For actor workers: how many calls may run at once. */
  concurrency: number;
  /**
   * The definitions known when the worker was started (pool workers): it loads them once its
   * preloads ran, before it says it is ready, so the first task does not wait for the driver's
   * answer to "ready" to start loading its function.
   */
  defs: FnDef[];
}

/**
 * "run" and "done" batches travel as JSON text when JSON carries them exactly: Deno copies a
 * string between threads on a fast path, far cheaper than an object or array (≈ 20 µs less per
 * message here), and JSON.parse of a flat batch is cheaper than structured deserialisation in
 * both runtimes. Anything else (NaN, -0, undefined inside values, Maps, typed arrays, class
 * instances...) goes as an object, as before.
 *
 * A text "run" batch is the flat task array, preceded by the definitions array when there is one.
 * A text "done" batch is the flat result array; status DONE_UNDEFINED | s stands for status s with
 * an undefined value (JSON has no undefined).
 */
export const DONE_UNDEFINED = 4;

/** True if `JSON.parse(JSON.stringify(v))` gives back an equal value (checks at most 64 nodes). */
export function jsonExact(v: unknown): boolean {
  let budget = 64;
  const walk = (x: unknown): boolean => {
    if (--budget < 0) return false;
    switch (typeof x) {
      case "string":
      case "boolean":
        return true;
      case "number":
        return Number.isFinite(x) && !Object.is(x, -0);
      case "object": {
        if (x === null) return true;
        if (Array.isArray(x)) {
          for (let i = 0; i < x.length; i++) if (!walk(x[i])) return false;
          // Named properties on an array survive structured clone but not JSON.
          return x.length === 0 || Object.keys(x).length === x.length;
        }
        if (Object.getPrototypeOf(x) !== Object.prototype) return false;
        for (const k in x) if (!walk((x as Record<string, unknown>)[k])) return false;
        return true;
      }
      default:
        return false;
    }
  };
  return walk(v);
}
