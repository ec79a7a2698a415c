/**
 * Starting and ending the runtime (`init`, `shutdown`), and what tools read of it: whether it
 * runs, its figures, its task recording.
 *
 * @module
 */
import { envVar, hardwareConcurrency, totalMemory } from "./_platform.ts";
import { workerContext } from "./_context.ts";
import { ACTOR_TAG } from "./_wire.ts";
import { RayError } from "./errors.ts";
import { Pool } from "./pool.ts";
import { emptyRecording, type RecorderOptions, type Recording } from "./recorder.ts";
import { state } from "./_state.ts";
import { checkCount, checkKeys, describe } from "./_validate.ts";
import { actorHandle } from "./_actor_handle.ts";
import type { Backend, BackendOptions } from "./backend.ts";

/** Options for {@linkcode init}. */
export interface InitOptions {
  /**
   * Slots of the pool: how many tasks (of `numCpus: 1`) run at once, one worker each.
   * @default {navigator.hardwareConcurrency}
   */
  numCpus?: number;
  /**
   * Do nothing, instead of throwing, when the runtime is already running.
   * @default {false}
   */
  ignoreReinitError?: boolean;
  /** Task recording for timelines and diagnostics. */
  recording?: RecorderOptions;
  /**
   * Memory monitor: when the process's resident memory passes this many MB, the worker running
   * the most recently dispatched task is ended (its task fails with WorkerCrashedError, or is
   * retried). 0 turns the monitor off.
   * @default {90% of the machine's memory, at most 3072}
   */
  memoryLimitMb?: number;
  /**
   * A cluster to run on (`redis://[user:password@]host:port`, or `rediss://` for TLS): tasks go to
   * its nodes (`cli.ts node --address ...`) instead of local workers, and `init` returns a promise
   * to await before submitting. `numCpus` and `memoryLimitMb` are then the nodes' own.
   * @default {the RAYPROF_ADDRESS environment variable, else none: run on this machine}
   */
  address?: string;
  /**
   * With `address`: give up connecting after this many ms.
   * @default {5000}
   */
  connectTimeoutMs?: number;
}

const INIT_KEYS = new Set([
  "numCpus",
  "ignoreReinitError",
  "recording",
  "memoryLimitMb",
  "address",
  "connectTimeoutMs",
]);

/** What cluster/mod.ts gives the runtime (imported only when an address is given). */
interface ClusterModule {
  connectDriver(options: BackendOptions, recording: RecorderOptions): Promise<Backend>;
}

function envAddress(): string | undefined {
  return envVar("RAYPROF_ADDRESS") || undefined; // unreadable (no permission): no cluster
}

/**
 * Starts the pool of workers. Called lazily by the first `.remote()` if you do not call it.
 *
 * With an `address` (or `RAYPROF_ADDRESS` set), connects to that cluster instead and returns a
 * promise that settles once connected: await it before submitting.
 *
 * @param options Pool size and recording, or the cluster's address.
 * @returns Nothing, or with a cluster a promise that rejects if it cannot be reached.
 * @throws {RayError} If the runtime is already running, unless `ignoreReinitError` is set.
 * @throws {RangeError} If `numCpus` is not a positive integer.
 *
 * @example Start two slots, run tasks, end the workers
 * ```ts
 * import { get, init, isInitialized, remote, runtimeInfo, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const double = remote(function double(x: number) {
 *   return 2 * x;
 * });
 * init({ numCpus: 2 });
 * try {
 *   assert.equal(isInitialized(), true);
 *   assert.equal(runtimeInfo()?.numCpus, 2);
 *   assert.deepEqual(await get([double.remote(1), double.remote(2)]), [2, 4]);
 * } finally {
 *   await shutdown();
 * }
 * assert.equal(isInitialized(), false);
 * ```
 *
 * @example Join a cluster
 * ```ts ignore
 * import * as ray from "./mod.ts";
 * await ray.init({ address: "redis://10.0.0.1:6379" });
 * ```
 */
export function init(options: InitOptions & { address: string }): Promise<void>;
/**
 * Starts the pool of workers on this machine (see the overload above for a cluster).
 *
 * @param options Pool size and recording.
 */
export function init(options?: InitOptions): void;
export function init(options: InitOptions = {}): void | Promise<void> {
  if (workerContext()) return; // a module imported by a worker: the driver owns the pool
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot init as 'options' must be an object: received ${describe(options)}`,
    );
  }
  checkKeys("init", options, INIT_KEYS);
  const s = state();
  if (s.pool || s.connecting) {
    if (options.ignoreReinitError) return s.connecting ?? undefined;
    throw new RayError(
      "Cannot init as the runtime is already running: call shutdown() first, or pass ignoreReinitError: true",
    );
  }
  const address = options.address ?? envAddress();
  if (address !== undefined) return initCluster(address, options);
  const numCpus = options.numCpus === undefined
    ? hardwareConcurrency()
    : checkCount("init", "numCpus", options.numCpus, 1);
  const memoryLimitMb = options.memoryLimitMb === undefined
    ? Math.min(3072, Math.floor((totalMemory() ?? Infinity) / 1024 / 1024 * 0.9))
    : checkCount("init", "memoryLimitMb", options.memoryLimitMb, 0);
  s.gen++;
  const pool = new Pool({ numCpus, recording: options.recording ?? {}, memoryLimitMb }, s.gen);
  s.pool = pool;
  // recording() now reads the new pool's records: the old ones are gone, their memory is reused.
  if (s.lastRecorder) s.pool.recorder.tasks.takeChunks(s.lastRecorder.tasks);
  s.lastRecorder = null;
  s.wasShutdown = false;
  for (const w of s.wires) s.pool.def(w);
  s.pool.actorHandleFor = (tag) => {
    const a = s.pool?.actor(tag[ACTOR_TAG] as number);
    return a ? actorHandle(a.id, a.name, tag.methods as string[]) : tag;
  };
  pool.start();
}

/** Connects to a cluster: its driver becomes the runtime's engine. */
function initCluster(address: string, options: InitOptions): Promise<void> {
  const s = state();
  const gen = ++s.gen;
  const connectTimeoutMs = options.connectTimeoutMs === undefined
    ? 5000
    : checkCount("init", "connectTimeoutMs", options.connectTimeoutMs, 1);
  // Dynamic, and by a computed URL, on purpose: the cluster (and its Redis client) loads only when
  // an address is given, and mod.ts's module graph (what a URL import fetches) does not hold it.
  const url = new URL("../cluster/mod.ts", import.meta.url).href;
  const p = (import(url) as Promise<ClusterModule>)
    .then((m) => m.connectDriver({ address, gen, connectTimeoutMs }, options.recording ?? {}))
    .then((b) => {
      s.connecting = null;
      if (s.gen !== gen) {
        b.close(); // shut down while connecting
        return;
      }
      s.pool = b;
      s.lastRecorder = null;
      s.wasShutdown = false;
      for (const w of s.wires) b.def(w);
      b.actorHandleFor = (tag) => {
        const a = b.actor(tag[ACTOR_TAG] as number);
        return a ? actorHandle(a.id, a.name, tag.methods as string[]) : tag;
      };
    }, (e) => {
      s.connecting = null;
      throw e;
    });
  s.connecting = p;
  return p;
}

/**
 * Tells whether the runtime is running (on the driver).
 *
 * @returns True between {@linkcode init} (or the first `.remote()`) and {@linkcode shutdown}.
 *
 * @example Before and after init
 * ```ts
 * import { init, isInitialized, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isInitialized(), false);
 * init({ numCpus: 2 });
 * assert.equal(isInitialized(), true);
 * await shutdown();
 * assert.equal(isInitialized(), false);
 * ```
 */
export function isInitialized(): boolean {
  return state().pool !== null;
}

/**
 * Ends all workers. Pending refs reject with {@linkcode RuntimeShutdownError}; later use of old
 * refs or remote functions throws until `init()` is called again. Safe to call twice. Resolves when
 * workers have handed over tool data (profiler figures) and were terminated.
 *
 * @returns A promise that resolves once the workers are terminated.
 *
 * @example Refs of a shut-down runtime
 * ```ts
 * import { get, init, remote, RuntimeShutdownError, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const one = remote(function one() {
 *   return 1;
 * });
 * init({ numCpus: 2 });
 * const ref = one.remote();
 * assert.equal(await get(ref), 1);
 * await shutdown();
 * await assert.rejects(get(ref), RuntimeShutdownError);
 * await shutdown(); // safe to call twice
 * ```
 */
export function shutdown(): Promise<void> {
  if (workerContext()) return Promise.resolve();
  const s = state();
  const p = s.pool;
  if (s.connecting) {
    s.connecting = null;
    s.gen++; // the connection under way closes its driver when it arrives
  }
  if (!p) return Promise.resolve();
  s.pool = null;
  s.wasShutdown = true;
  s.lastRecorder = p.recorder;
  return p.close();
}

/** Figures of the running pool, for tools. */
export interface RuntimeInfo {
  /** Slots of the pool. */
  numCpus: number;
  /** Worker threads alive (pool and actors). */
  workers: number;
  /** Tasks waiting for a slot. */
  queued: number;
}

/**
 * Returns figures of the running pool, or undefined when it is not running.
 *
 * @returns Slots, live workers and queued tasks.
 *
 * @example Figures of a pool of two slots
 * ```ts
 * import { init, runtimeInfo, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(runtimeInfo(), undefined);
 * init({ numCpus: 2 });
 * try {
 *   assert.equal(runtimeInfo()?.numCpus, 2);
 *   assert.equal(runtimeInfo()?.queued, 0);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function runtimeInfo(): RuntimeInfo | undefined {
  const p = state().pool;
  return p ? { numCpus: p.numCpus, workers: p.liveWorkers, queued: p.queueSize } : undefined;
}

/** Options for {@linkcode recording}. */
export interface RecordingOptions {
  /** Only tasks submitted, and spans started, at or after this time (ms, performance.now()). */
  since?: number;
}

/**
 * Returns a snapshot of the task recording of the running (or last) runtime.
 *
 * @param options `since`: only what was submitted or started at or after this time.
 * @returns The tasks, blocked spans and workers recorded (times in ms on `performance.now()`).
 *
 * @example What the tasks did
 * ```ts
 * import { get, init, recording, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const square = remote(function square(x: number) {
 *   return x * x;
 * });
 * init({ numCpus: 2 });
 * try {
 *   const since = performance.now();
 *   await get([square.remote(2), square.remote(3)]);
 *   const { tasks } = recording({ since });
 *   assert.deepEqual(tasks.map((t) => [t.name, t.status]), [["square", "ok"], ["square", "ok"]]);
 *   assert.ok(tasks.every((t) => t.finished >= t.started));
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function recording(options: RecordingOptions = {}): Recording {
  const s = state();
  const r = s.pool?.recorder ?? s.lastRecorder;
  if (!r) return emptyRecording();
  return r.snapshot(options.since);
}

/**
 * Forgets recorded tasks and spans (workers alive stay listed).
 *
 * @example Start a recording afresh
 * ```ts
 * import { clearRecording, get, init, recording, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const one = remote(function one() {
 *   return 1;
 * });
 * init({ numCpus: 2 });
 * try {
 *   await get(one.remote());
 *   clearRecording();
 *   assert.equal(recording().tasks.length, 0);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function clearRecording(): void {
  const s = state();
  (s.pool?.recorder ?? s.lastRecorder)?.clear();
}
