/**
 * Per-thread state shared by every copy of the runtime module in that thread (a script may import
 * mod.ts from a URL while the CLI imports it from disk): kept on `globalThis` under `Symbol.for`.
 *
 * @module
 */
import type { FromWorker } from "./_protocol.ts";

/** What a worker thread exposes to the API functions running inside it. */
export interface WorkerContext {
  id: number;
  kind: "pool" | "actor";
  post(msg: FromWorker): void;
  /** Functions and classes registered by `remote()` while user modules load, by "url#key". */
  registry: Map<string, unknown>;
  /**
   * URLs of the modules being imported to find functions. A set, not one URL: imports overlap
   * (a worker is taught several modules at once), and a module's `remote()` calls must register
   * even when another import finished first.
   */
  importing: Set<string>;
  /** Allocates an object id that is unique across threads. */
  nextId(): number;
  /** Asks the driver for the values of `ids` (or, with numReturns, which are ready). */
  request(ids: number[], timeout: number | null, numReturns: number | null): Promise<unknown>;
  /** Id of the task whose synchronous part is running (best effort for async tasks). */
  currentTask: number;
  /** Counts ObjectRefs made in this thread, so results are only scanned for refs when needed. */
  refsMade: number;
}

const CTX = Symbol.for("rayprof.workerContext");
const SITES = Symbol.for("rayprof.callsiteCounts");

type G = typeof globalThis & { [CTX]?: WorkerContext; [SITES]?: Map<string, number> };

/** The worker context, when running inside a worker. */
export function workerContext(): WorkerContext | undefined {
  return (globalThis as G)[CTX];
}

/** @internal Installs the worker context (worker entry only). */
export function setWorkerContext(ctx: WorkerContext): void {
  (globalThis as G)[CTX] = ctx;
}

/**
 * Key of a `remote()` call site: "line:col#n", where n counts earlier calls from the same place,
 * so a `remote()` inside a top-level loop gives each function its own key. The same module run in
 * a worker produces the same keys in the same order.
 */
export function siteKey(url: string, line: number, column: number): string {
  const counts = (globalThis as G)[SITES] ??= new Map();
  const site = `${url}:${line}:${column}`;
  const n = counts.get(site) ?? 0;
  counts.set(site, n + 1);
  return `${line}:${column}#${n}`;
}
