// deno-lint-ignore-file no-regex-spaces -- report rows are aligned with runs of spaces
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatG, HEADER, showFunction, showText } from "../profile/line/report.ts";
import type { LineStats } from "../profile/line/stats.ts";

test("formatG() prints like C's %g", () => {
  const cases: [number, string][] = [
    [1e-6, "1e-06"],
    [1e-9, "1e-09"],
    [0.001, "0.001"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1, "1"],
    [2.508830001, "2.50883"],
    [1.003571, "1.00357"],
    [123456789, "1.23457e+08"],
    [999999.5, "1e+06"],
    [0, "0"],
  ];
  for (const [x, s] of cases) assert.equal(formatG(x), s, String(x));
});

// The document's ex2 block (its Python source, one-space indented as printed there).
const EX2: LineStats = {
  unit: 1e-9,
  functions: [{
    file: "/work/your_script_here.py",
    name: "ex2",
    line: 36,
    endLine: 41,
    lines: [
      { line: 38, hits: 1, time: 2_000 },
      { line: 39, hits: 6, time: 13_000 },
      { line: 40, hits: 5, time: 637_000 },
      { line: 41, hits: 1, time: 1_002_919_000 },
    ],
    source: [
      "@profile",
      "def ex2():",
      " list2 = []",
      " for i in range(5):",
      "   list2.append(func.remote())",
      "  ray.get(list2)",
    ],
  }],
};

test("showFunction() prints line_profiler's block, as in the document", () => {
  assert.equal(
    showFunction(EX2.functions[0], EX2.unit, { cwd: "/work" }),
    `Total time: 1.00357 s
File: your_script_here.py
Function: ex2 at line 36

Line #      Hits         Time  Per Hit   % Time  Line Contents
==============================================================
    36                                           @profile
    37                                           def ex2():
    38         1          2.0      2.0      0.0   list2 = []
    39         6         13.0      2.2      0.0   for i in range(5):
    40         5        637.0    127.4      0.1     list2.append(func.remote())
    41         1    1002919.0 1002919.0     99.9    ray.get(list2)

`,
  );
  assert.equal(HEADER, "Line #      Hits         Time  Per Hit   % Time  Line Contents");
});

test("showText() applies the unit, -z and --summarize", () => {
  const stats: LineStats = {
    unit: 1e-9,
    functions: [
      ...EX2.functions,
      { file: "/work/a.ts", name: "idle", line: 1, endLine: 2, lines: [], source: ["a", "b"] },
    ],
  };
  const ms = showText(stats, { unit: 1e-3, cwd: "/work" });
  assert.match(
    ms,
    /^Timer unit: 0\.001 s\n\nTotal time: 0 s\nFile: a\.ts\nFunction: idle at line 1\n/,
  );
  assert.match(ms, /\n    41         1       1002\.9   1002\.9     99\.9    ray\.get\(list2\)\n/);
  const z = showText(stats, { skipZero: true, summarize: true, cwd: "/work" });
  assert.doesNotMatch(z, /idle/);
  assert.ok(z.endsWith("\n  1.00 seconds - your_script_here.py:36 - ex2\n"), z);
  const colour = showText(stats, { color: true, cwd: "/work" });
  assert.ok(colour.includes("\x1b[31m    41 ")); // the hot line in red
});

test("showFunction() says so when the source cannot be found", () => {
  const fn = {
    file: "/nonexistent/x.ts",
    name: "f",
    line: 3,
    endLine: 4,
    lines: [{ line: 4, hits: 1, time: 5 }],
  };
  const text = showFunction(fn, 1e-9);
  assert.match(text, /Could not find file \/nonexistent\/x\.ts/);
  assert.match(text, /\n     4         1          0\.0      0\.0    100\.0  \n/);
});
