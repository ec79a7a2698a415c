/**
 * Extension points of the runtime for tools that run beside it (the profiler CLI, the REPL).
 *
 * Not part of the public API of mod.ts. The state lives on `globalThis` under `Symbol.for` keys, so
 * that two copies of the runtime loaded from different URLs (a script importing mod.ts from a URL,
 * the CLI importing it from disk) share one set of hooks.
 *
 * @module
 */

/** Collects data inside a worker; the value must be structured-cloneable. */
export type WorkerCollector = () => unknown | Promise<unknown>;

/** Receives what one worker's collector returned, on the driver. */
export type CollectedHandler = (data: unknown, worker: WorkerDescription) => void;

/** Identifies a worker for tools. */
export interface WorkerDescription {
  /** Worker id, as in the timeline. */
  id: number;
  /** "pool" for task workers, "actor" for an actor's own worker. */
  kind: "pool" | "actor";
  /** Human-readable name, e.g. "worker 2" or "actor Counter#1". */
  label: string;
  /** A worker on a cluster node: the node's name. */
  node?: string;
  /**
   * A worker on a cluster node: ms to add to its epoch times (`performance.timeOrigin` based) to
   * put them on this process's clock (the two clocks' offsets to Redis's).
   */
  clockShiftMs?: number;
}

/** Runtime hooks shared by all copies of the runtime in this thread. */
export interface RuntimeHooks {
  /**
   * Module URLs that every new worker imports before any user module (for example, a module that
   * registers an import hook to instrument user code inside workers).
   */
  workerPreload: string[];
  /** Structured-cloneable data handed to workers; read inside a worker with {@linkcode workerData}. */
  workerData: Record<string, unknown>;
  /**
   * Record the source location of each `.remote()`, `get` and `wait` call in the timeline. Costs a
   * stack capture per call, so it is off unless a tool turns it on.
   */
  captureCallsites: boolean;
  /**
   * Driver-side handlers, keyed by collector name. Before a worker is retired (shutdown, actor
   * kill, idle retirement) the runtime asks it to run the collector of the same name registered
   * inside the worker with {@linkcode registerWorkerCollector}, and hands the result to the handler.
   */
  collected: Map<string, CollectedHandler>;
  /**
   * On a cluster's driver: what the nodes need to run this driver's tasks in workers of its own
   * kind, as the driver's own workers run (for example, profiled). `preload` names rayprof's own
   * modules by their path inside the package (`"profile/run/worker_preload.ts"`: each node
   * imports its own copy); `data` is what they read with {@linkcode workerData} there. When the
   * driver ends, each node hands what those workers' collectors hold (one per key of `data`) to
   * the handlers in {@linkcode RuntimeHooks.collected}, the worker's label naming the node.
   * Absent: the nodes run the driver's tasks in their shared workers.
   */
  nodeWorkers?: { preload: string[]; data: Record<string, unknown> };
  /**
   * On a cluster's driver: told when what a node's workers collected could not be had (the node
   * died or did not answer in time).
   */
  onCollectWarning?: (message: string) => void;
  /**
   * Inside a cluster node's worker: the driver's path of a module file shipped to the node (the
   * path itself for any other file), so that tools name the user's files.
   */
  driverPath?: (path: string) => string;
  /** Inside a cluster node's worker: a folder of the node's where tools may keep their caches. */
  nodeCacheDir?: string;
}

const HOOKS = Symbol.for("rayprof.hooks");
const COLLECTORS = Symbol.for("rayprof.workerCollectors");
const WORKER_DATA = Symbol.for("rayprof.workerData");

type Global = typeof globalThis & {
  [HOOKS]?: RuntimeHooks;
  [COLLECTORS]?: Map<string, WorkerCollector>;
  [WORKER_DATA]?: Record<string, unknown>;
};

/** Returns the hooks of this thread, creating them on first use. */
export function hooks(): RuntimeHooks {
  const g = globalThis as Global;
  return g[HOOKS] ??= {
    workerPreload: [],
    workerData: {},
    captureCallsites: false,
    collected: new Map(),
  };
}

/** Inside a worker: registers a collector that the driver calls before the worker is retired. */
export function registerWorkerCollector(name: string, collector: WorkerCollector): void {
  const g = globalThis as Global;
  (g[COLLECTORS] ??= new Map()).set(name, collector);
}

/** Inside a worker: the collectors registered with {@linkcode registerWorkerCollector}. */
export function workerCollectors(): Map<string, WorkerCollector> {
  const g = globalThis as Global;
  return g[COLLECTORS] ??= new Map();
}

/** Inside a worker: the `workerData` the driver's hooks carried when the worker started. */
export function workerData(): Record<string, unknown> {
  return (globalThis as Global)[WORKER_DATA] ?? {};
}

/** @internal Used by the worker entry to publish the data it was started with. */
export function _setWorkerData(data: Record<string, unknown>): void {
  (globalThis as Global)[WORKER_DATA] = data;
}
