// The document's lessons, shown by the line profiler on ex1/ex2 with real remote tasks; the
// remote function marked @profile is profiled inside the workers and merged into the report.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { type LineStats, loadLineStats, totalTime } from "../profile/line/stats.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const IS_BUN = "Bun" in globalThis;
let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "rayprof-ray-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function profile(extra: string[], out: string): Promise<{ code: number; stdout: string }> {
  const cli = join(ROOT, "cli.ts");
  const script = join(ROOT, "tests", "fixtures", "profile", "loops.ts");
  const args = [
    ...(IS_BUN ? [] : ["run", "-A"]),
    cli,
    "profile",
    "-q",
    ...extra,
    "-o",
    out,
    script,
  ];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: dir }, (error, stdout) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

function fn(stats: LineStats, name: string) {
  const f = stats.functions.find((x) => x.name === name);
  assert.ok(f, `no ${name}`);
  const total = totalTime(f) * stats.unit;
  const line = (n: number) => {
    const l = f.lines.find((x) => x.line === n);
    assert.ok(l, `${name}: no line ${n}`);
    return { hits: l.hits, s: l.time * stats.unit, share: l.time / totalTime(f) };
  };
  return { total, line };
}

// Two profiled runs of ≈4.2 s of tasks each, side by side: above Bun's default 5 s on a busy machine.
test(
  "cli.ts profile shows ex1's get and ex2's final get as ≈100%, remote calls cheap, workers merged",
  {
    timeout: 30_000,
  },
  async () => {
    const exactOut = join(dir, "exact.json");
    const sampleOut = join(dir, "sample.json");
    const [exact, sample] = await Promise.all([
      profile(["--overwrite"], exactOut),
      profile(["--overwrite", "--sample"], sampleOut),
    ]);
    assert.equal(exact.code, 0);
    assert.equal(sample.code, 0);
    const results: Record<string, number>[] = [];
    for (const out of [exactOut, sampleOut]) {
      const stats = await loadLineStats(out);
      const ex1 = fn(stats, "ex1");
      assert.ok(ex1.total > 2.3 && ex1.total < 8, `ex1 total ${ex1.total}`);
      assert.equal(ex1.line(18).hits, 5);
      assert.ok(ex1.line(18).share > 0.95, `ex1 get share ${ex1.line(18).share}`);
      assert.equal(ex1.line(17).hits, 6);
      const ex2 = fn(stats, "ex2");
      assert.ok(ex2.total > 0.45 && ex2.total < 3, `ex2 total ${ex2.total}`);
      assert.equal(ex2.line(27).hits, 5);
      // ≈0.1 ms per .remote() on a quiet machine; bounded loosely, as other tests may be running
      assert.ok(ex2.line(27).s / 5 < 0.005, `ex2 remote per hit ${ex2.line(27).s / 5} s`);
      assert.ok(ex2.line(27).share < 0.02, `ex2 remote share ${ex2.line(27).share}`);
      assert.ok(ex2.line(29).share > 0.95, `ex2 get share ${ex2.line(29).share}`);
      // func runs in the workers: 15 calls of 0.5 s, measured there and merged here
      const func = fn(stats, "func");
      assert.equal(func.line(7).hits, 15);
      assert.ok(func.line(7).s > 7 && func.line(7).s < 12, `func ${func.line(7).s}`);
      results.push({ ex1: ex1.total, ex2: ex2.total, ex3: fn(stats, "ex3").total });
    }
    // --sample keeps the examples' times close to exact mode (runs differ by their own noise too)
    for (const k of ["ex1", "ex2", "ex3"]) {
      const ratio = results[1][k] / results[0][k];
      assert.ok(ratio > 0.75 && ratio < 1.33, `${k}: sample/exact ${ratio}`);
    }
  },
);
