/**
 * Task benchmarks of the runtime, each beside its floor measured in the same run, in this order:
 *
 * 1. 1,000,000 queued tasks, while the process is fresh: RSS and heap growth while they wait
 *    behind a blocked worker (bench/queued.ts; targets ≤ 250 MB, ≤ 150 heap bytes a task), then how
 *    fast one worker drains them;
 * 2. round trip: raw postMessage ping-pong with a bare `node:worker_threads` worker and a bare Web
 *    Worker, and our `await get(f.remote())` (target ≤ 1.2x the worker_threads floor: our workers
 *    are worker_threads Workers), interleaved in slices;
 * 3. pipelined no-op tasks on 2 workers, submit N then get all (target ≥ 100,000 tasks/s), with
 *    recording on and off back to back (target: recording costs ≤ 5%), in wall time and in CPU
 *    time of the process (a second view; on our loaded 2-core machine it was as noisy as wall time).
 *
 *   deno run -A --v8-flags=--expose-gc bench/tasks.ts      bun bench/tasks.ts
 *
 * Options: --reps=7 --rt=2000 (round trips per rep) --warm=30000 (warm-up round trips of each)
 * --n=200000 (pipelined tasks per rep)
 * --queued=1000000 --json (also print the figures as one JSON line for bench/run.mjs).
 * Figures are medians over the reps; ratios are taken within each rep, then the median.
 *
 * @module
 */
import process from "node:process";
import * as ray from "../mod.ts";
import {
  type Echo,
  fmt,
  gc,
  hostVersion,
  JSON_MARK,
  median,
  nodeEcho,
  parseArgs,
  roundTrips,
  table,
  webEcho,
} from "./_util.mjs";
import { queuedMemory } from "./queued.ts";

/** The task whose cost is all overhead. */
export const noop = ray.remote(function noop() {});

/** Options of {@linkcode runTaskBench}. */
export interface TaskBenchOptions {
  /** Repetitions of each measurement. @default {7} */
  reps: number;
  /** Sequential round trips per repetition. @default {2000} */
  rt: number;
  /** Round trips of warm-up for each of the three round trips measured. @default {30000} */
  warm: number;
  /** Pipelined tasks per repetition. @default {200000} */
  n: number;
  /** Tasks queued behind a blocked worker. @default {1000000} */
  queued: number;
  /** Print a JSON line with the figures after the table. @default {false} */
  json: boolean;
}

/** What one run measured: medians, with each rep's figure kept. */
export interface TaskBenchResult {
  host: string;
  cpus: number;
  gc: boolean;
  options: Omit<TaskBenchOptions, "json">;
  rawNodeUs: number[];
  rawWebUs: number[];
  syncUs: number[];
  /** syncUs / rawNodeUs, rep by rep. */
  syncRatio: number[];
  tasksPerSec: number[];
  tasksPerSecNoRec: number[];
  /** Submission rate alone (the `.remote()` loop), recording on. */
  submitPerSec: number[];
  /** 1 - on/off, rep by rep. */
  recordingCost: number[];
  /** CPU time of the whole process (driver and workers) per pipelined task, µs. */
  cpuUsPerTask: number[];
  cpuUsPerTaskNoRec: number[];
  /** on/off - 1 of the CPU time per task, rep by rep (a second view of the recording cost). */
  recordingCpuCost: number[];
  queuedRssMB: number;
  queuedHeapMB: number;
  /** Heap growth per queued task, bytes (the refs array's slot included). */
  queuedHeapBytesPerTask: number;
  queuedRssTotalMB: number;
  queuedSubmitPerSec: number;
  drainPerSec: number;
  queuedHeapNoRecMB: number;
}

async function syncRoundTrip(n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await ray.get(noop.remote());
  return (performance.now() - t0) * 1000 / n;
}

async function pipelined(
  n: number,
): Promise<{ perSec: number; submitPerSec: number; cpuUs: number }> {
  const refs = new Array<ray.ObjectRef<void>>(n);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) refs[i] = noop.remote();
  const t1 = performance.now();
  await ray.get(refs);
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  return {
    perSec: n / (t2 - t0) * 1000,
    submitPerSec: n / (t1 - t0) * 1000,
    cpuUs: (cpu.user + cpu.system) / n,
  };
}

/** Starts a 2-worker pool and runs tasks until both workers are up and the scheduler is warm. */
async function warmPool(recording: boolean): Promise<void> {
  ray.init({ numCpus: 2, recording: { enabled: recording } });
  for (let i = 0; i < 3; i++) await pipelined(10_000);
  await syncRoundTrip(200);
}

function progress(msg: string): void {
  console.error(`[tasks ${hostVersion()}] ${msg}`);
}

/** Runs every measurement and returns the figures. */
export async function runTaskBench(o: TaskBenchOptions): Promise<TaskBenchResult> {
  const r: TaskBenchResult = {
    host: hostVersion(),
    cpus: navigator.hardwareConcurrency,
    gc: gc(),
    options: { reps: o.reps, rt: o.rt, warm: o.warm, n: o.n, queued: o.queued },
    rawNodeUs: [],
    rawWebUs: [],
    syncUs: [],
    syncRatio: [],
    tasksPerSec: [],
    tasksPerSecNoRec: [],
    submitPerSec: [],
    recordingCost: [],
    cpuUsPerTask: [],
    cpuUsPerTaskNoRec: [],
    recordingCpuCost: [],
    queuedRssMB: NaN,
    queuedHeapMB: NaN,
    queuedHeapBytesPerTask: NaN,
    queuedRssTotalMB: NaN,
    queuedSubmitPerSec: NaN,
    drainPerSec: NaN,
    queuedHeapNoRecMB: NaN,
  };

  // 1. Many queued tasks, first while the process is fresh: one slot, held by a task that blocks
  // until we have measured. Recording on (the default), then off for the heap figure alone.
  progress(`${fmt(o.queued)} queued tasks`);
  const q = await queuedMemory(o.queued, true);
  r.queuedRssMB = q.rssMB;
  r.queuedHeapMB = q.heapMB;
  r.queuedHeapBytesPerTask = q.heapBytesPerTask;
  r.queuedRssTotalMB = q.rssTotalMB;
  r.queuedSubmitPerSec = q.submitPerSec;
  r.drainPerSec = q.drainPerSec;
  r.queuedHeapNoRecMB = (await queuedMemory(o.queued, false)).heapMB;

  // 2. Round trips, interleaved in slices so drift in the machine hits all three alike.
  progress("round trips");
  const echoes: [Echo, Echo] = [await nodeEcho(), await webEcho()];
  await warmPool(true);
  // The same warm-up for each of the three, long enough for the JIT to settle: in Bun our round
  // trip is still ≈1.1–1.8x its steady cost after 10,000 (the first 10,000 of a measurement after
  // a 10,000 warm-up: 1.14–1.75x the raw ping-pong, then 0.77–0.95x; after a 50,000 warm-up
  // 0.93–1.28x, then 0.71–0.97x). A bare echo has far less code to compile.
  for (const e of echoes) await roundTrips(e, o.warm);
  await syncRoundTrip(o.warm);
  const slices = 10;
  const per = Math.max(1, Math.round(o.rt / slices));
  for (let rep = 0; rep < o.reps; rep++) {
    let rawNode = 0, rawWeb = 0, ours = 0;
    for (let s = 0; s < slices; s++) {
      rawNode += await roundTrips(echoes[0], per);
      rawWeb += await roundTrips(echoes[1], per);
      ours += await syncRoundTrip(per);
    }
    r.rawNodeUs.push(rawNode / slices);
    r.rawWebUs.push(rawWeb / slices);
    r.syncUs.push(ours / slices);
    r.syncRatio.push(ours / rawNode);
  }
  await ray.shutdown();
  for (const e of echoes) await e.close();

  // 3. Pipelined throughput, recording on and off back to back (the order alternates).
  progress("pipelined throughput");
  for (let rep = 0; rep < o.reps; rep++) {
    const pair: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    for (const rec of rep % 2 === 0 ? [true, false] : [false, true]) {
      await warmPool(rec);
      gc();
      const t = await pipelined(o.n);
      await ray.shutdown();
      pair[String(rec)] = t.perSec;
      cpu[String(rec)] = t.cpuUs;
      if (rec) {
        r.tasksPerSec.push(t.perSec);
        r.submitPerSec.push(t.submitPerSec);
        r.cpuUsPerTask.push(t.cpuUs);
      } else {
        r.tasksPerSecNoRec.push(t.perSec);
        r.cpuUsPerTaskNoRec.push(t.cpuUs);
      }
    }
    r.recordingCost.push(1 - pair["true"] / pair["false"]);
    r.recordingCpuCost.push(cpu["true"] / cpu["false"] - 1);
  }
  return r;
}

function spread(xs: number[], digits = 0): string {
  return `${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}`;
}

/** The figures as a text table: ours, the floor or peer, the ratio, the target. */
export function formatTaskBench(r: TaskBenchResult): string {
  const pass = (ok: boolean) => (ok ? "yes" : "NO");
  const m = (xs: number[]) => median(xs);
  const rows = [
    ["measure (median of reps)", "ours", "spread", "floor / peer", "ratio", "target", "met"],
    [
      "sync round trip, µs",
      fmt(m(r.syncUs), 1),
      spread(r.syncUs, 1),
      `${fmt(m(r.rawNodeUs), 1)} raw worker_threads`,
      `${fmt(m(r.syncRatio), 2)}x`,
      "≤ 1.2x",
      pass(m(r.syncRatio) <= 1.2),
    ],
    [
      "  raw Web Worker ping-pong, µs",
      "",
      "",
      `${fmt(m(r.rawWebUs), 1)} (${spread(r.rawWebUs, 1)})`,
      `${fmt(m(r.syncUs) / m(r.rawWebUs), 2)}x`,
      "",
      "",
    ],
    [
      "pipelined no-op tasks/s, 2 workers",
      fmt(m(r.tasksPerSec)),
      spread(r.tasksPerSec),
      "",
      "",
      "≥ 100,000",
      pass(m(r.tasksPerSec) >= 100_000),
    ],
    [
      "  same, recording off",
      fmt(m(r.tasksPerSecNoRec)),
      spread(r.tasksPerSecNoRec),
      "",
      "",
      "",
      "",
    ],
    [
      "  recording cost (paired per rep)",
      `${fmt(m(r.recordingCost) * 100, 1)}%`,
      `${fmt(Math.min(...r.recordingCost) * 100, 1)}–${
        fmt(Math.max(...r.recordingCost) * 100, 1)
      }%`,
      "",
      "",
      "≤ 5%",
      pass(m(r.recordingCost) <= 0.05),
    ],
    [
      "  CPU µs per task (all threads), rec on/off",
      `${fmt(m(r.cpuUsPerTask), 2)} / ${fmt(m(r.cpuUsPerTaskNoRec), 2)}`,
      "",
      "",
      "",
      "",
      "",
    ],
    [
      "  recording cost in CPU time (paired)",
      `${fmt(m(r.recordingCpuCost) * 100, 1)}%`,
      `${fmt(Math.min(...r.recordingCpuCost) * 100, 1)}–${
        fmt(Math.max(...r.recordingCpuCost) * 100, 1)
      }%`,
      "",
      "",
      "≤ 5%",
      pass(m(r.recordingCpuCost) <= 0.05),
    ],
    [
      "  submission alone (.remote() loop)/s",
      fmt(m(r.submitPerSec)),
      spread(r.submitPerSec),
      "",
      "",
      "",
      "",
    ],
    [
      `${fmt(r.options.queued)} queued: RSS growth, MB`,
      fmt(r.queuedRssMB),
      "",
      `RSS then ${fmt(r.queuedRssTotalMB)} MB`,
      "",
      "≤ 250",
      pass(r.queuedRssMB <= 250),
    ],
    [
      "  heap per queued task, bytes",
      fmt(r.queuedHeapBytesPerTask),
      "",
      "",
      "",
      "≤ 150",
      pass(r.queuedHeapBytesPerTask <= 150),
    ],
    [
      "  heap growth, MB" + (r.gc ? "" : " (no gc: rough)"),
      fmt(r.queuedHeapMB),
      "",
      "",
      "",
      "",
      "",
    ],
    ["  submission/s", fmt(r.queuedSubmitPerSec), "", "", "", "", ""],
    ["  drain on 1 worker, tasks/s", fmt(r.drainPerSec), "", "", "", "", ""],
    ["  heap growth, recording off, MB", fmt(r.queuedHeapNoRecMB), "", "", "", "", ""],
  ];
  return `${r.host}, ${r.cpus} CPUs, ${r.options.reps} reps, ${fmt(r.options.rt)} round trips ` +
    `and ${fmt(r.options.n)} pipelined tasks per rep\n${table(rows)}`;
}

if (import.meta.main) {
  const o = parseArgs({
    reps: 7,
    rt: 2000,
    warm: 30_000,
    n: 200_000,
    queued: 1_000_000,
    json: false,
  });
  const r = await runTaskBench(o);
  console.log(formatTaskBench(r));
  if (o.json) console.log(JSON_MARK + JSON.stringify(r));
}
