// kernprof's timing semantics, through the real import hook: per-call clocks, loop headers
// counted once per test, awaits and callees counted in their line, and stack traces that point
// at the user's own lines. Time bounds are loose: the machine is noisy.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type LineProfiling, startLineProfiling } from "../profile/instrument/loader.ts";
import type { LineTiming } from "../profile/line/stats.ts";

let dir = "";
let profiling: LineProfiling;
let n = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "rayprof-time-"));
  profiling = await startLineProfiling({
    select: { all: true },
    include: (path) => path.startsWith(dir),
  });
});

after(() => {
  // Bun runs all test files in one process: leave no hook behind for the others.
  profiling.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Imports `code` as a fresh module, calls its `run`, returns per-line stats by function name. */
async function profileRun(code: string) {
  const file = join(dir, `t${n++}.ts`);
  writeFileSync(file, code);
  const mod = await import(pathToFileURL(file).href);
  const value = await mod.run();
  const stats = profiling.collector.snapshot();
  const lines = (name: string): Map<number, LineTiming> => {
    const f = stats.functions.find((x) => x.file === file && x.name === name);
    assert.ok(f, `no stats for ${name}`);
    return new Map(f.lines.map((l) => [l.line, l]));
  };
  const ms = (l: LineTiming | undefined) => (l?.time ?? 0) * stats.unit * 1e3;
  return { file, value, lines, ms, mod };
}

test("loop headers count one hit per test (N+1), bodies N", async () => {
  const { lines } = await profileRun(`
export function run() {
  let s = 0;
  for (let i = 0; i < 5; i++) {
    s += i;
  }
  for (const x of [1, 2, 3, 4, 5]) {
    s += x;
  }
  let k = 5;
  while (k > 0) {
    k--;
  }
  for (const y of [1, 2]) s += y;
  return s;
}
`);
  const l = lines("run");
  assert.deepEqual([3, 4, 5, 7, 8, 10, 11, 12, 14, 15].map((x) => l.get(x)?.hits), [
    1,
    6,
    5,
    6,
    5,
    1,
    6,
    5,
    3,
    1,
  ]);
});

test("a line's time includes its callees", async () => {
  const { lines, ms } = await profileRun(`
function spin(ms: number) { const end = performance.now() + ms; while (performance.now() < end); }
export function run() {
  const a = 1;
  spin(120);
  return a;
}
`);
  const l = lines("run");
  assert.ok(ms(l.get(5)) >= 110 && ms(l.get(5)) < 1000, `spin line: ${ms(l.get(5))} ms`);
  assert.ok(ms(l.get(4)) < 20, `first line: ${ms(l.get(4))} ms`);
});

test("interleaved async calls keep their own clocks; awaits count in their line", async () => {
  const { lines, ms } = await profileRun(`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function call(ms: number) {
  const before = 1;
  await sleep(ms);
  return before;
}
export async function run() {
  return await Promise.all([call(150), call(150), call(150)]);
}
`);
  const l = lines("call");
  assert.equal(l.get(5)?.hits, 3);
  // Three calls of ≈150 ms each: ≈450 ms. A global clock would give one call's worth, or
  // charge the waits to the wrong lines.
  assert.ok(ms(l.get(5)) >= 400 && ms(l.get(5)) < 1500, `await line: ${ms(l.get(5))} ms`);
  assert.ok(ms(l.get(4)) < 20 && ms(l.get(6)) < 20, "other lines take no wait time");
  const r = lines("run");
  assert.ok(ms(r.get(9)) >= 140 && ms(r.get(9)) < 800, `run: ${ms(r.get(9))} ms`);
});

test("a generator's time does not include the consumer's time between yields", async () => {
  const { lines, ms } = await profileRun(`
function spin(ms: number) { const end = performance.now() + ms; while (performance.now() < end); }
function* gen() {
  for (let i = 0; i < 3; i++) {
    yield i;
  }
}
export function run() {
  const out = [];
  for (const v of gen()) {
    spin(60);
    out.push(v);
  }
  return out;
}
`);
  const g = lines("gen");
  assert.equal(g.get(5)?.hits, 3);
  const total = [...g.values()].reduce((s, x) => s + x.time, 0);
  assert.ok(ms({ line: 0, hits: 0, time: total }) < 40, `generator total: ${total}`);
  const r = lines("run");
  assert.ok(ms(r.get(11)) >= 170, `consumer spin: ${ms(r.get(11))} ms`);
});

test("stack traces of profiled code show the user's file and line", async () => {
  const { file, mod } = await profileRun(`
export function run() { return 1; }
interface Unused { a: number }
export function fails(x: number): number {
  const y: number = x * 2;
  if (y > 0) {
    throw new Error("boom");
  }
  return y;
}
`);
  try {
    mod.fails(1);
    assert.fail("no error");
  } catch (e) {
    const stack = String((e as Error).stack);
    const url = pathToFileURL(file).href;
    assert.ok(stack.includes(`${file}:7:`) || stack.includes(`${url}:7:`), stack);
  }
});
