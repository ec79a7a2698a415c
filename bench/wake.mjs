/**
 * How fast a sleeping worker thread can be woken, by the way it sleeps: a ping-pong whose far end
 * sleeps between pings in `Atomics.wait`, in its event loop on `Atomics.waitAsync`, or in its
 * event loop on a port (postMessage both ways). The driver always waits in its event loop. The
 * runtime's idle workers choose their way of sleeping from this (runtime/worker.ts, BLOCK_MS). Run
 * it on a quiet machine and again while other processes keep the cores busy: in Bun the order of
 * the three changes.
 *
 *   deno run -A bench/wake.mjs      bun bench/wake.mjs      node bench/wake.mjs
 *
 * Options: --n=10000 (round trips per measurement) --reps=3 (interleaved).
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { hostVersion, median, parseArgs } from "./_util.mjs";

const o = parseArgs({ n: 10000, reps: 3 });
const modes = ["wait", "waitAsync", "message"];

/**
 * Round trips to a fresh worker sleeping the `mode` way.
 * @param {string} mode
 * @param {number} n
 * @returns {Promise<{ times: number[], wakeUs: number }>} µs per round trip, and the driver's
 *   mean cost of the call that wakes the worker (Atomics.notify or postMessage), µs
 */
async function pingPong(mode, n) {
  const sab = new SharedArrayBuffer(8);
  const cell = new Int32Array(sab);
  const w = new Worker(new URL("./_wake_worker.mjs", import.meta.url), {
    workerData: { sab, mode },
  });
  /** @type {(v?: unknown) => void} */
  let reply = () => {};
  w.on("message", () => reply());
  let sent = 0;
  let wakeCost = 0;
  const one = () => {
    if (mode === "message") {
      const p = new Promise((r) => reply = r);
      const t = performance.now();
      w.postMessage(0);
      wakeCost += performance.now() - t;
      return p;
    }
    const r = Atomics.waitAsync(cell, 1, sent);
    Atomics.store(cell, 0, ++sent);
    const t = performance.now();
    Atomics.notify(cell, 0);
    wakeCost += performance.now() - t;
    return r.async ? r.value : Promise.resolve();
  };
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 2000; i++) await one(); // warm-up
  const times = [];
  wakeCost = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await one();
    times.push((performance.now() - t) * 1000);
  }
  await w.terminate();
  return { times, wakeUs: wakeCost * 1000 / n };
}

/** @type {Record<string, number[]>} */
const medians = Object.fromEntries(modes.map((m) => [m, []]));
/** @type {Record<string, number[]>} */
const means = Object.fromEntries(modes.map((m) => [m, []]));
/** @type {Record<string, number[]>} */
const wakes = Object.fromEntries(modes.map((m) => [m, []]));
for (let rep = 0; rep < o.reps; rep++) {
  for (const mode of modes) {
    const { times: t, wakeUs } = await pingPong(mode, o.n);
    wakes[mode].push(wakeUs);
    medians[mode].push(median(t));
    means[mode].push(t.reduce((a, b) => a + b, 0) / t.length);
  }
}
console.log(
  `${hostVersion()}: round trip to a worker that sleeps in ..., µs (median / mean; the waking call)`,
);
for (const mode of modes) {
  const label = {
    wait: "Atomics.wait",
    waitAsync: "its event loop, Atomics.waitAsync",
    message: "its event loop, postMessage",
  }[mode];
  console.log(
    `  ${label.padEnd(36)} ${median(medians[mode]).toFixed(1).padStart(6)} / ${
      median(means[mode]).toFixed(1).padStart(6)
    }; ${median(wakes[mode]).toFixed(1).padStart(5)}`,
  );
}
