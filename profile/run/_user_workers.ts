/**
 * The user's own Web Workers, profiled like the rest of the program: in a profiled process,
 * `new Worker(url, { type: "module" })` of one of the program's modules starts
 * `_user_worker.ts` instead, which instruments the worker's modules as they load (with the
 * driver's selection) and then imports `url`. The worker's counters live in shared memory that
 * this thread reads at the end, so they count even when the program terminated the worker.
 *
 * @module
 */

import { fileURLToPath } from "../host/path.ts";
import { createCounterArena } from "../line/collector.ts";
import type { Selection } from "../instrument/instrument.ts";

/** The message key of the configuration a profiled user worker gets first. */
export const USER_WORKER_KEY = "__rayprofUserWorker";

/** What a profiled user worker needs to instrument like the driver. */
export interface UserWorkerConfig {
  select?: Selection;
  selectIn?: string[];
  ticks?: { buffer: SharedArrayBuffer; periodMs: number };
  cache?: { dir: string; scope: string };
}

/** The first message a profiled user worker gets. */
export interface UserWorkerStart {
  /** URL of the module the program asked the worker to run. */
  target: string;
  /** Where its counters go (see `createCounterArena`). */
  arena: SharedArrayBuffer;
  config: UserWorkerConfig;
}

const SHIM = new URL("./_user_worker.ts", import.meta.url).href;

/**
 * Replaces `globalThis.Worker` in this thread by a subclass that profiles the program's own
 * module workers.
 *
 * @param config What the workers instrument.
 * @param isUserModule Whether a path is one of the program's modules.
 * @returns The counter arenas of the workers started from now on (read them at the end).
 */
export function profileUserWorkers(
  config: UserWorkerConfig,
  isUserModule: (path: string) => boolean,
): SharedArrayBuffer[] {
  const arenas: SharedArrayBuffer[] = [];
  const g = globalThis as { Worker?: typeof Worker };
  const Native = g.Worker;
  if (typeof Native !== "function") return arenas;
  const target = (url: string | URL): string | undefined => {
    try {
      const href = url instanceof URL ? url.href : new URL(url).href;
      return href.startsWith("file:") && isUserModule(fileURLToPath(href)) ? href : undefined;
    } catch {
      return undefined; // a relative string: left to the runtime, as unprofiled
    }
  };
  class ProfiledWorker extends Native {
    constructor(url: string | URL, options?: WorkerOptions) {
      const href = target(url);
      super(href === undefined ? url : SHIM, options);
      if (href !== undefined) {
        const arena = createCounterArena();
        arenas.push(arena);
        const start: UserWorkerStart = { target: href, arena, config };
        super.postMessage({ [USER_WORKER_KEY]: start });
      }
    }
  }
  Object.defineProperty(ProfiledWorker, "name", { value: "Worker" });
  g.Worker = ProfiledWorker;
  return arenas;
}
