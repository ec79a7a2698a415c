// deno-lint-ignore-file no-regex-spaces -- report rows are aligned with runs of spaces
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  instrument,
  InstrumentError,
  InstrumentSyntaxError,
  MarkerError,
} from "../profile/instrument/instrument.ts";

const FILE = "/virtual/x.ts";

function names(source: string, options = {}) {
  return instrument(source, { file: FILE, ...options }).functions.map((f) =>
    `${f.name}@${f.line}-${f.endLine}`
  );
}

/** Instruments and checks that no line moved: every line is its original plus insertions. */
function sameLines(source: string, options = {}) {
  const r = instrument(source, { file: FILE, ...options });
  const a = source.split("\n");
  const b = r.code.split("\n");
  assert.equal(b.length, a.length, "line count changed");
  for (let i = 0; i < a.length; i++) {
    // Removing what the instrumenter inserts must give the original line back.
    const stripped = b[i]
      .replace(/var __rp\$l,.*?\.module\(\d+\)\)\}__rp\$I\(\);/, "")
      .replace(/__rp\$n\|\|__rp\$I\(\);let __rp\$t=[^;]*;(try\{)?/g, "")
      .replace(/\}finally\{__rp\$x\(__rp\$s,__rp\$t\)\}/g, "")
      .replace(/;?__rp\$t=__rp\$l\(__rp\$s,__rp\$t,__rp\$s=\d+\)[;,]?/g, "");
    assert.ok(
      stripped.replace(/[{}();\s]/g, "") === a[i].replace(/[{}();\s]/g, ""),
      `line ${i + 1} changed:\n${a[i]}\n${b[i]}`,
    );
  }
  return r;
}

test("instrument() finds every kind of marker", () => {
  const src = `// @profile
function a() {}
/** Does b.
 * @profile
 */
export async function b() {}
// @profile
export const c = (x: number) => x;
const o = {
  // @profile
  d() { return 1; },
  /* @profile */ e: function () {},
};
// @profile
class F {
  g() {}
  get h() { return 1; }
}
class I {
  @profile
  j() {}
  k() {}
}
const l = profile(() => 1);
function m() {}
profile(m);
/** Mentions \`@profile\` in prose, and in an example:
 * \`\`\`ts
 * // @profile
 * @profile
 * \`\`\`
 */
function notMarked() {}
// @profile
const n = ray.remote(function task() {}, { numCpus: 1 });
// @profile
app.get("/", async () => {}, { x: 1 });
// @profile
const Actor = ray.remote(class Counter {
  add() {}
});
`;
  assert.deepEqual(names(src), [
    "a@1-2",
    "b@3-6",
    "c@7-8",
    "d@10-11",
    "e@12-12",
    "F.g@16-16",
    "F.h@17-17",
    "I.j@20-21",
    "l@24-24",
    "m@25-25",
    "task@34-35",
    "<anonymous>@36-37",
    "Counter.add@40-40",
  ]);
});

test("instrument() takes a marker above an overload signature for the implementation", () => {
  const src = `// @profile
export function over(a: string): string;
export function over(a: number): number;
export function over(a: unknown): unknown {
  return a;
}
class K {
  // @profile
  m(a: string): void;
  m(a: unknown): void {}
}
`;
  assert.deepEqual(names(src), ["over@1-6", "K.m@8-10"]);
});

test("instrument() blanks the @profile decorator and keeps lines", () => {
  const src = "class A {\n  @profile\n  m() {\n    return 1;\n  }\n}\n";
  const r = instrument(src, { file: FILE });
  assert.equal(r.code.split("\n")[1], "          ");
  assert.deepEqual(r.functions[0].slots.map(([line]) => line), [4]);
});

test("instrument() selects with all and names, and names methods Class.method", () => {
  const src = `export default function () {}
class Shape { area() { return 0; } static make() { return new Shape(); } }
const arrow = async () => { await 0; };
function outer() { function inner() {} return inner; }
`;
  assert.deepEqual(names(src, { select: { all: true } }), [
    "default@1-1",
    "Shape.area@2-2",
    "Shape.make@2-2",
    "arrow@3-3",
    "outer@4-4",
    "inner@4-4",
  ]);
  assert.deepEqual(names(src, { select: { names: ["area", "inner"] } }), [
    "Shape.area@2-2",
    "inner@4-4",
  ]);
  assert.deepEqual(names(src), []);
});

test("instrument() never moves a line", () => {
  const src = `#!/usr/bin/env -S deno run
// @profile
export function f(n: number, m = 2): number {
  "use strict";
  let s = 0
  for (let i = 0; i < n; i++) s += i
  for (const x of [1, 2]) {
    if (x > 1) continue; else if (x) s++
  }
  outer: while (s > 100) { if (s) break outer; }
  do s--; while (s > 50)
  switch (s) { case 1: s++; default: s-- }
  try { s++ } catch { s-- } finally { s += 0 }
  return s + m
}
`;
  const r = sameLines(src);
  assert.equal(r.functions.length, 1);
  assert.ok(r.code.startsWith("#!/usr/bin/env -S deno run\nvar __rp$l,"));
});

test("a profiled function runs before its module's body, as in an import cycle", async () => {
  const { LineCollector } = await import("../profile/line/collector.ts");
  const collector = new LineCollector();
  collector.install();
  const r = instrument("export const early = f();\n// @profile\nfunction f() {\n  return 7;\n}\n", {
    file: FILE,
    firstSlot: collector.nextSlot,
  });
  collector.register(r.functions, r.nextSlot);
  // the first statement calls f() before the prologue's own call has run: simulate by
  // evaluating the body with the prologue's __rp$I() call moved after it
  const code = r.code.replace(/__rp\$I\(\);(?=export)/, "").replace(/^/, "") + "\n__rp$I();";
  const out = new Function(code.replace("export const early", "const early") + "\nreturn early;")();
  assert.equal(out, 7);
  const hits = collector.snapshot().functions[0].lines.find((l) => l.line === 4)?.hits;
  assert.equal(hits, 1);
});

test("instrument() replaces import.meta.main only in the entry module", () => {
  const src = "if (import.meta.main) console.log(1);\n";
  assert.equal(instrument(src, { file: FILE }).code, src);
  const entry = instrument(src, { file: FILE, entry: true }).code;
  assert.equal(entry, "if (true            ) console.log(1);\n");
});

test("instrument() leaves a function whose var and function names clash, with a warning", () => {
  const src = "// @profile\nfunction f() {\n  var g = 1;\n  function g() {}\n  return g;\n}\n";
  const r = instrument(src, { file: FILE });
  assert.equal(r.functions.length, 0);
  assert.equal(r.code, src);
  assert.match(
    r.warnings[0],
    /'f' is not profiled as 'g' is declared both with var and as a function/,
  );
});

test("instrument() throws MarkerError for a marker above nothing", () => {
  const src = "const a = 1;\n\n// @profile\nconst b = 2;\n";
  assert.throws(() => instrument(src, { file: FILE }), (e: unknown) => {
    assert.ok(e instanceof MarkerError && e instanceof InstrumentError);
    assert.equal(e.name, "MarkerError");
    assert.equal(
      e.message,
      "Cannot profile /virtual/x.ts as the @profile marker at line 3 is not directly above a function, method or class",
    );
    assert.equal(e.line, 3);
    assert.equal(e.column, 1);
    assert.match(e.codeFrame, /> 3 \| \/\/ @profile\n +\| \^/);
    return true;
  });
});

test("instrument() throws InstrumentSyntaxError with the place and a code frame", () => {
  const src = "function f() {\n  return 1 +;\n}\n";
  assert.throws(() => instrument(src, { file: FILE }), (e: unknown) => {
    assert.ok(e instanceof InstrumentSyntaxError);
    assert.equal(e.name, "InstrumentSyntaxError");
    assert.match(
      e.message,
      /^Cannot profile \/virtual\/x\.ts as it has a syntax error at line 2, column 13: /,
    );
    assert.equal(e.line, 2);
    assert.match(e.codeFrame, /> 2 \|   return 1 \+;\n/);
    return true;
  });
});

test("instrument() keeps offsets right after non-ASCII text", () => {
  const src = 'const s = "héllo wörld ✓ 😀";\n// @profile\nfunction f() {\n  return s;\n}\n';
  const r = sameLines(src);
  assert.deepEqual(r.functions.map((f) => [f.name, f.line, f.endLine]), [["f", 2, 5]]);
  assert.ok(r.code.includes('"héllo wörld ✓ 😀"'));
});
