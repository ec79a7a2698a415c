/**
 * Cost of task recording: 200,000 pipelined no-op tasks on 2 workers with recording on and off,
 * alternating in one process (12 rounds, a full GC before each), medians per task. The time of `.remote()` alone is shown
 * beside the total, since recording writes at submission, dispatch and completion.
 *
 * On Linux a second row gives the CPU time of the driver's thread (where all recording happens),
 * from /proc/thread-self/schedstat: wall-clock time swings with whatever else runs on the machine,
 * CPU time much less.
 *
 *   deno run -A --v8-flags=--expose-gc bench/recording_ab.ts      bun bench/recording_ab.ts
 *   (CAPACITY=8192 to vary the ring's size)
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import * as ray from "../mod.ts";

/** The task whose cost is all overhead. */
export const noop = ray.remote(function noop() {});

/** CPU time of this thread in ms (Linux), or NaN. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** A full collection between rounds, so one round's garbage is not charged to the next. */
function collectGarbage(): void {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
}

if (import.meta.main) {
  const N = 200_000;
  const capacity = Number(process.env.CAPACITY ?? 100_000);
  const res: Record<string, { submit: number[]; total: number[]; cpu: number[] }> = {
    on: { submit: [], total: [], cpu: [] },
    off: { submit: [], total: [], cpu: [] },
  };
  for (let round = 0; round < 12; round++) {
    for (const mode of round % 2 ? ["on", "off"] : ["off", "on"]) {
      collectGarbage();
      ray.init({ numCpus: 2, recording: { enabled: mode === "on", capacity } });
      await ray.get(Array.from({ length: 2000 }, () => noop.remote()));
      const c0 = threadCpuMs();
      const t0 = performance.now();
      const refs = new Array(N);
      for (let i = 0; i < N; i++) refs[i] = noop.remote();
      const t1 = performance.now();
      await ray.get(refs);
      const t2 = performance.now();
      const c2 = threadCpuMs();
      res[mode].submit.push((t1 - t0) * 1000 / N);
      res[mode].total.push((t2 - t0) * 1000 / N);
      res[mode].cpu.push((c2 - c0) * 1000 / N);
      await ray.shutdown();
    }
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
  const runtime = "Bun" in globalThis ? "bun" : "deno";
  for (const m of ["on", "off"]) {
    console.log(
      `${runtime} recording ${m.padEnd(3)}  .remote() ${med(res[m].submit).toFixed(3)} µs/task` +
        `  total ${med(res[m].total).toFixed(3)} µs/task`,
    );
  }
  const cost = med(res.on.total) / med(res.off.total) - 1;
  console.log(`recording cost: ${(cost * 100).toFixed(1)}% of no-op task time (target ≤ 5%)`);
  if (!Number.isNaN(med(res.on.cpu))) {
    const cpu = med(res.on.cpu) / med(res.off.cpu) - 1;
    console.log(
      `driver thread CPU: on ${med(res.on.cpu).toFixed(3)} µs/task, off ${
        med(res.off.cpu).toFixed(3)
      } µs/task: recording costs ${(cpu * 100).toFixed(1)}% of the driver's CPU time`,
    );
  }
}
