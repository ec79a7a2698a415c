// profile/line/stats.ts: LineStats merged, saved and loaded (the versioned .lprof.json format).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createLineStats,
  LINE_STATS_FORMAT,
  type LineStats,
  LineStatsFormatError,
  loadLineStats,
  mergeLineStats,
  parseLineStats,
  saveLineStats,
  stringifyLineStats,
  totalTime,
} from "../profile/line/stats.ts";

function run(hits: number, time: number, unit = 1e-9): LineStats {
  return {
    unit,
    functions: [
      {
        file: "/x/b.ts",
        name: "g",
        line: 1,
        endLine: 2,
        lines: [{ line: 2, hits, time }],
      },
      {
        file: "/x/a.ts",
        name: "f",
        line: 10,
        endLine: 13,
        lines: [{ line: 11, hits: 1, time: 3 }, { line: 12, hits, time }],
        source: ["function f() {", "  a();", "  b();", "}"],
      },
    ],
  };
}

test("mergeLineStats() sums hits and times per line and sorts by file", () => {
  const m = mergeLineStats(run(2, 100), run(3, 50));
  assert.deepEqual(m.functions.map((f) => f.file), ["/x/a.ts", "/x/b.ts"]);
  assert.deepEqual(m.functions[0].lines, [
    { line: 11, hits: 2, time: 6 },
    { line: 12, hits: 5, time: 150 },
  ]);
  assert.equal(totalTime(m.functions[0]), 156);
  assert.deepEqual(m.functions[0].source?.length, 4);
});

test("mergeLineStats() converts to the finest unit", () => {
  const m = mergeLineStats(run(1, 2, 1e-6), run(1, 7, 1e-9));
  assert.equal(m.unit, 1e-9);
  assert.deepEqual(m.functions[1].lines, [{ line: 2, hits: 2, time: 2007 }]);
});

test("mergeLineStats() throws RangeError with no input", () => {
  assert.throws(() => mergeLineStats(), {
    name: "RangeError",
    message: "Cannot merge line stats as none were given",
  });
});

test("createLineStats() rejects a non-positive unit", () => {
  assert.throws(() => createLineStats(0), {
    name: "RangeError",
    message: "Cannot create line stats as 'unit' must be a positive number of seconds: received 0",
  });
});

test("parseLineStats() round-trips stringifyLineStats()", () => {
  const s = run(4, 9);
  const text = stringifyLineStats(s);
  assert.equal(JSON.parse(text).format, LINE_STATS_FORMAT);
  assert.equal(JSON.parse(text).version, 1);
  assert.deepEqual(parseLineStats(text), s);
});

test("parseLineStats() rejects other documents with clear messages", () => {
  assert.throws(() => parseLineStats("{", "x.json"), (e: Error) => {
    assert.ok(e instanceof LineStatsFormatError);
    assert.match(e.message, /^Cannot read line stats from x\.json as it is not JSON: /);
    return true;
  });
  assert.throws(() => parseLineStats('{"format":"other"}', "x.json"), {
    name: "LineStatsFormatError",
    message:
      "Cannot read line stats from x.json as it is not a rayprof line stats file: 'format' is not \"rayprof-line-stats\"",
  });
  assert.throws(() => parseLineStats(`{"format":"${LINE_STATS_FORMAT}","version":99}`, "x.json"), {
    name: "LineStatsFormatError",
    message:
      "Cannot read line stats from x.json as its version is not supported: expected 1, received 99",
  });
  const bad = JSON.parse(stringifyLineStats(run(1, 1)));
  bad.functions[0].lines[0].time = -1;
  assert.throws(() => parseLineStats(JSON.stringify(bad), "x.json"), {
    name: "LineStatsFormatError",
    message:
      "Cannot read line stats from x.json as functions[0].lines has an entry that is not {line, hits, time} of integers",
  });
});

test("saveLineStats() merges with an existing file when asked", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rayprof-ls-"));
  try {
    const path = join(dir, "s.lprof.json");
    await saveLineStats(path, run(1, 10), { merge: true });
    await saveLineStats(path, run(1, 10), { merge: true });
    const loaded = await loadLineStats(path);
    assert.deepEqual(loaded.functions[1].lines, [{ line: 2, hits: 2, time: 20 }]);
    await saveLineStats(path, run(1, 10));
    assert.deepEqual((await loadLineStats(path)).functions.find((f) => f.name === "g")?.lines, [
      { line: 2, hits: 1, time: 10 },
    ]);
    await writeFile(path, "not json");
    await assert.rejects(saveLineStats(path, run(1, 1), { merge: true }), LineStatsFormatError);
    assert.equal(await readFile(path, "utf8"), "not json");
  } finally {
    await rm(dir, { recursive: true });
  }
});
