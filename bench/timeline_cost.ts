/**
 * What the task timeline costs:
 *
 * 1. recording, paired per rep on the same pool size: pipelined no-op tasks (submit N, then get all)
 *    with recording off, on, and on with callsites captured (what `cli.ts profile` turns on).
 *    Target: recording costs ≤ 5% of throughput. Callsites cost a stack capture per `.remote()`
 *    and per `get`, and are on only under the profiler.
 * 2. export, on a simulated 100,000-task recording: toChromeTrace + JSON, diagnose, the terminal
 *    Gantt and the HTML report (time and size).
 *
 *   deno run -A bench/timeline_cost.ts      bun bench/timeline_cost.ts
 *
 * Options: --reps=5 --n=50000 (tasks per rep) --export=100000 (tasks in the export recording).
 *
 * @module
 */
import * as ray from "../mod.ts";
import { hooks } from "../runtime/hooks.ts";
import { toChromeTrace, toTraceFile } from "../runtime/chrome_trace.ts";
import { diagnose } from "../profile/views/diagnose.ts";
import { gantt } from "../profile/views/gantt.ts";
import { htmlReport } from "../profile/views/html.ts";
import { Sim } from "../tests/fixtures/timeline/simulate.ts";
import { fmt, hostVersion, median, parseArgs, table } from "./_util.mjs";

/** The task whose cost is all overhead. */
export const noop = ray.remote(function noop() {});

type Mode = "off" | "on" | "callsites";

async function throughput(mode: Mode, n: number): Promise<number> {
  ray.init({ numCpus: 2, recording: { enabled: mode !== "off", capacity: n } });
  hooks().captureCallsites = mode === "callsites";
  try {
    // Warm the workers and the code paths.
    await ray.get(Array.from({ length: 2000 }, () => noop.remote()));
    const t0 = performance.now();
    const refs = new Array(n);
    for (let i = 0; i < n; i++) refs[i] = noop.remote();
    await ray.get(refs);
    return (n / (performance.now() - t0)) * 1000;
  } finally {
    hooks().captureCallsites = false;
    await ray.shutdown();
  }
}

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
}

if (import.meta.main) {
  const opts = parseArgs({ reps: 5, n: 50_000, export: 100_000 }) as {
    reps: number;
    n: number;
    export: number;
  };
  console.log(`${hostVersion()}, ${navigator.hardwareConcurrency} CPUs`);
  const rate: Record<Mode, number[]> = { off: [], on: [], callsites: [] };
  const cost: number[] = [], siteCost: number[] = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    // Order alternates so drift in the machine's load does not favour one mode.
    const order: Mode[] = rep % 2 ? ["callsites", "on", "off"] : ["off", "on", "callsites"];
    const r = {} as Record<Mode, number>;
    for (const m of order) r[m] = await throughput(m, opts.n);
    for (const m of order) rate[m].push(r[m]);
    cost.push(1 - r.on / r.off);
    siteCost.push(1 - r.callsites / r.off);
  }
  const pct = (xs: number[]) =>
    `${fmt(median(xs) * 100, 1)}% (${fmt(Math.min(...xs) * 100, 1)}…${
      fmt(Math.max(...xs) * 100, 1)
    })`;
  console.log(`\nPipelined no-op tasks, 2 workers, ${opts.n} per rep, median of ${opts.reps}:`);
  console.log(table([
    ["recording off", `${fmt(median(rate.off))} tasks/s`],
    ["recording on", `${fmt(median(rate.on))} tasks/s`],
    ["on + callsites", `${fmt(median(rate.callsites))} tasks/s`],
    ["recording cost (paired)", pct(cost), median(cost) <= 0.05 ? "ok (≤ 5%)" : "OVER 5%"],
    ["callsites cost (paired)", pct(siteCost), "profiler only"],
  ]));

  const sim = new Sim(8);
  const batch: number[] = [];
  for (let i = 0; i < opts.export; i++) {
    batch.push(sim.submit(i % 3 ? "work" : "other", 1 + (i % 7), 10 + (i % 3)));
    if (batch.length === 1000) sim.block(batch.splice(0), 20);
  }
  if (batch.length) sim.block(batch, 20);
  const rec = sim.recording();
  const [events, tTrace] = time(() => toChromeTrace(rec));
  const [json, tJson] = time(() => JSON.stringify(toTraceFile(rec, events)));
  const [, tDiag] = time(() => diagnose(rec));
  const [, tGantt] = time(() => gantt(rec, { width: 120 }));
  const [html, tHtml] = time(() => htmlReport({ recording: rec }));
  console.log(`\nExport of a ${opts.export}-task recording (8 workers):`);
  console.log(table([
    ["toChromeTrace", `${fmt(tTrace)} ms`, `${events.length} events`],
    ["JSON.stringify", `${fmt(tJson)} ms`, `${fmt(json.length / 1e6, 1)} MB`],
    ["diagnose", `${fmt(tDiag)} ms`],
    ["gantt", `${fmt(tGantt)} ms`],
    ["htmlReport", `${fmt(tHtml)} ms`, `${fmt(html.length / 1e6, 1)} MB`],
  ]));
}
