/**
 * The memory monitor (as Ray's): a worker that runs out of memory would take the whole process
 * down (Deno) or eat the machine (Bun has no per-worker heap limit), so above the limit the
 * worker running the most recently dispatched task is ended and its task fails or is retried.
 *
 * @module
 */
import { clearInterval, setInterval } from "node:timers";
import type { PoolWorker } from "./_pool_worker.ts";
import { residentMemory } from "./_platform.ts";

/** Checks the process's resident memory every 100 ms and ends a worker above the limit. */
export class MemoryMonitor {
  #memoryLimit: number;
  #memTimer: ReturnType<typeof setInterval>;
  #memQuietUntil = 0;
  #workers: () => readonly PoolWorker[];
  #end: (w: PoolWorker, reason: string) => void;

  /**
   * Starts checking.
   *
   * @param limitMb Resident memory, in MB, above which a worker is ended.
   * @param workers The live workers.
   * @param end Ends a worker, failing or retrying what it ran.
   */
  constructor(
    limitMb: number,
    workers: () => readonly PoolWorker[],
    end: (w: PoolWorker, reason: string) => void,
  ) {
    this.#memoryLimit = limitMb * 1024 * 1024;
    this.#workers = workers;
    this.#end = end;
    this.#memTimer = setInterval(() => this.#checkMemory(), 100);
    this.#memTimer.unref();
  }

  /** Stops checking. */
  stop(): void {
    clearInterval(this.#memTimer);
  }

  /** Over the limit: ends the worker running the most recently dispatched task (once a second). */
  #checkMemory(): void {
    const now = performance.now();
    if (now < this.#memQuietUntil) return;
    const rss = residentMemory();
    if (rss <= this.#memoryLimit) return;
    let victim: PoolWorker | undefined;
    for (const w of this.#workers()) {
      if (w.dead || w.inflight.size === 0) continue;
      if (!victim || w.lastDispatch > victim.lastDispatch) victim = w;
    }
    if (!victim) return;
    this.#memQuietUntil = now + 1000;
    const mb = (n: number) => Math.round(n / 1024 / 1024);
    const reason = `out of memory: the process used ${mb(rss)} MB, over memoryLimitMb ${
      mb(this.#memoryLimit)
    }, so the memory monitor ended the worker running the newest task`;
    this.#end(victim, reason);
  }
}
