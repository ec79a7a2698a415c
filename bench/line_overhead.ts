/**
 * Cost of the line profiler's probes, measured against `performance.now()`'s own cost in the
 * same run (the issue's targets: exact mode ≤ 1.3× one `performance.now()` per line event;
 * `--sample` mode keeps a hot loop's slowdown ≤ 3×).
 *
 *   deno run -A bench/line_overhead.ts        bun bench/line_overhead.ts
 *
 * Each figure is the median of 9 interleaved rounds; the machine is noisy, so read ratios, not digits.
 *
 * @module
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { LineCollector } from "../profile/line/collector.ts";
import { startTickClock } from "../profile/line/clock.ts";
import { instrument } from "../profile/instrument/instrument.ts";
import { timeAll } from "./_util.mjs";

const RUNTIME = "Bun" in globalThis ? "bun" : "deno";
const N = 2_000_000;

// The kernprof benchmark's shape: a 2M-iteration loop with a small body.
const HOT = `
export function hot(n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += (i * 7) % 13;
  }
  return total;
}
`;

const ROUNDS = 9;

const dir = mkdtempSync(join(tmpdir(), "rayprof-bench-"));
let k = 0;
async function load(code: string): Promise<(n: number) => number> {
  const file = join(dir, `m${k++}.ts`);
  writeFileSync(file, code);
  return (await import(pathToFileURL(file).href)).hot;
}

async function profiled(collector: LineCollector) {
  collector.install();
  const r = instrument(HOT, {
    file: "/bench/hot.ts",
    firstSlot: collector.nextSlot,
    probes: collector.probeStyle,
    select: { all: true },
  });
  collector.register(r.functions, r.nextSlot);
  // The probes are looked up when the module loads, so each mode gets its own module.
  return await load(r.code);
}

try {
  // performance.now() alone, in a loop like the probes' (summed so it cannot be dropped)
  let sink = 0;
  const plain = await load(HOT);
  const exact = new LineCollector();
  const exactHot = await profiled(exact);
  const clock = startTickClock();
  const sample = new LineCollector({
    mode: "sample",
    ticks: { cells: clock.cells, periodMs: clock.periodMs },
  });
  const sampleHot = await profiled(sample);
  const [nowMs, plainMs, exactMs, sampleMs] = timeAll([
    () => {
      for (let i = 0; i < N; i++) sink += performance.now();
    },
    () => void plain(N),
    () => void exactHot(N),
    () => void sampleHot(N),
  ], ROUNDS);
  clock.stop();
  const runs = ROUNDS + 1;
  const events = exact.snapshot().functions[0].lines.reduce((s, l) => s + l.hits, 0) / runs;
  // What the tick clock measured per run, against the wall time of a run: they must agree.
  const sampleMeasuredMs = sample.snapshot().functions[0].lines.reduce((s, l) => s + l.time, 0) /
    1e6 / runs;

  const ns = (ms: number) => (ms * 1e6) / N;
  const perEventExact = ((exactMs - plainMs) * 1e6) / events;
  const perEventSample = ((sampleMs - plainMs) * 1e6) / events;
  const rows = [
    ["runtime", RUNTIME],
    ["loop iterations", String(N)],
    ["line events per run", String(events)],
    ["performance.now() per call", `${ns(nowMs).toFixed(1)} ns`],
    ["unprofiled loop", `${plainMs.toFixed(1)} ms`],
    ["exact mode loop", `${exactMs.toFixed(1)} ms (${(exactMs / plainMs).toFixed(1)}x)`],
    [
      "exact mode per line event",
      `${perEventExact.toFixed(1)} ns = ${
        (perEventExact / ns(nowMs)).toFixed(2)
      }x performance.now()`,
    ],
    ["--sample mode loop", `${sampleMs.toFixed(1)} ms (${(sampleMs / plainMs).toFixed(1)}x)`],
    ["--sample per line event", `${perEventSample.toFixed(1)} ns`],
    [
      "--sample measured per run",
      `${sampleMeasuredMs.toFixed(1)} ms (wall ${sampleMs.toFixed(1)} ms)`,
    ],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(28)} ${v}`);
  if (sink === 0) console.log("");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
