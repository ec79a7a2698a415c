/**
 * Cost of the function profiler's probes (`cli.ts profile --functions`), against
 * `performance.now()`'s own cost measured in the same run: the cost per call event (entry or exit
 * of a profiled function) and the slowdown of call-heavy code, with and without the event log
 * that `--speedscope` keeps.
 *
 *   deno run -A bench/func_overhead.ts        bun bench/func_overhead.ts
 *
 * Each figure is the median of 9 interleaved rounds; the machine is noisy, so read ratios, not digits.
 *
 * @module
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { FuncCollector } from "../profile/func/collector.ts";
import { instrument } from "../profile/instrument/instrument.ts";
import { timeAll } from "./_util.mjs";

const RUNTIME = "Bun" in globalThis ? "bun" : "deno";
const arg = (name: string, fallback: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
};
const N = arg("n", 1_000_000);
const FIB = arg("fib", 25);
const ROUNDS = arg("rounds", 9);

// A loop that calls a tiny function N times, and the classic recursive call storm.
const CODE = `
function add(a: number, b: number): number {
  return a + b;
}
export function calls(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s = add(s, i) % 1000003;
  return s;
}
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
`;

interface Mod {
  calls(n: number): number;
  fib(n: number): number;
}

const dir = mkdtempSync(join(tmpdir(), "rayprof-bench-"));
let k = 0;
async function load(code: string): Promise<Mod> {
  const file = join(dir, `m${k++}.ts`);
  writeFileSync(file, code);
  return await import(pathToFileURL(file).href);
}

async function profiled(collector: FuncCollector): Promise<Mod> {
  collector.install();
  const r = instrument(CODE, {
    file: "/bench/calls.ts",
    functionProbes: true,
    firstFunctionId: collector.nextId,
  });
  collector.register(r.sites!, r.nextFunctionId!);
  // The probes are looked up when the module loads, so each collector gets its own module.
  return await load(r.code);
}

function fibCalls(n: number): number {
  let a = 1, b = 1; // calls of fib(0), fib(1)
  for (let i = 2; i <= n; i++) [a, b] = [b, a + b + 1];
  return n === 0 ? 1 : b;
}

try {
  let sink = 0;
  const plain = await load(CODE);
  const counts = await profiled(new FuncCollector());
  // With the event log, capped so the bench's millions of calls keep logging throughout.
  const logged = new FuncCollector({ events: true, maxEvents: 1e9 });
  const events = await profiled(logged);
  const [nowMs, plainMs, countsMs, eventsMs, fibPlain, fibCounts, fibEvents] = timeAll([
    () => {
      for (let i = 0; i < N; i++) sink += performance.now();
    },
    () => void (sink += plain.calls(N)),
    () => void (sink += counts.calls(N)),
    () => void (logged.clearEvents(), sink += events.calls(N)),
    () => void (sink += plain.fib(FIB)),
    () => void (sink += counts.fib(FIB)),
    () => void (logged.clearEvents(), sink += events.fib(FIB)),
  ], ROUNDS);
  const ns = (ms: number, n: number) => (ms * 1e6) / n;
  const nowNs = ns(nowMs, N);
  const perEvent = (ms: number) => ns(ms - plainMs, 2 * N); // an entry and an exit per call
  const x = (a: number, b: number) => `${(a / b).toFixed(1)}x`;
  const rows = [
    ["runtime", RUNTIME],
    ["performance.now() per call", `${nowNs.toFixed(1)} ns`],
    [`loop of ${N} calls, unprofiled`, `${plainMs.toFixed(1)} ms`],
    ["  profiled", `${countsMs.toFixed(1)} ms (${x(countsMs, plainMs)})`],
    [
      "  per call event",
      `${perEvent(countsMs).toFixed(1)} ns = ${x(perEvent(countsMs), nowNs)} performance.now()`,
    ],
    ["  with --speedscope events", `${eventsMs.toFixed(1)} ms (${x(eventsMs, plainMs)})`],
    [
      "  per call event",
      `${perEvent(eventsMs).toFixed(1)} ns = ${x(perEvent(eventsMs), nowNs)} performance.now()`,
    ],
    [`fib(${FIB}): ${fibCalls(FIB)} calls, unprofiled`, `${fibPlain.toFixed(1)} ms`],
    ["  profiled", `${fibCounts.toFixed(1)} ms (${x(fibCounts, fibPlain)})`],
    ["  with --speedscope events", `${fibEvents.toFixed(1)} ms (${x(fibEvents, fibPlain)})`],
  ];
  for (const [key, v] of rows) console.log(`${key.padEnd(36)} ${v}`);
  if (sink === 0) console.log("");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
