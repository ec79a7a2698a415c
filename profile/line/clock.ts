/**
 * The shared tick clock of `--sample` mode: a thread stores the elapsed time, in ticks, into a
 * shared integer; probes read it with one atomic load instead of calling `performance.now()`.
 * A line's time is then the sum of whole ticks that passed during it: coarse for one event, but
 * unbiased over many, and the same per-call semantics as exact mode.
 *
 * @module
 */

import { Worker } from "node:worker_threads";

/** A running tick clock. */
export interface TickClock {
  /** `[ticks, stop]`: read `cells[0]`; the clock stops when `cells[1]` is set. */
  cells: Int32Array;
  /** Shared memory of `cells`, to hand to workers. */
  buffer: SharedArrayBuffer;
  /** Milliseconds per tick. */
  periodMs: number;
  /** Stops the clock thread. */
  stop(): void;
}

/**
 * Starts a tick clock thread. It does not keep the process alive.
 *
 * @param periodMs Milliseconds per tick.
 * @returns The clock, already ticking.
 */
export function startTickClock(periodMs = 0.05): TickClock {
  const buffer = new SharedArrayBuffer(8);
  const cells = new Int32Array(buffer);
  const worker = new Worker(new URL("./_clock_worker.ts", import.meta.url), {
    workerData: { buffer, periodMs },
  });
  worker.unref();
  return {
    cells,
    buffer,
    periodMs,
    stop() {
      Atomics.store(cells, 1, 1);
      worker.terminate();
    },
  };
}
