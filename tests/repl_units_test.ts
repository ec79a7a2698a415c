// The REPL's pure parts: input completeness, the rewrite of declarations and imports, the line map,
// the free-variable check of remote functions, completion and the history file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import vm from "node:vm";
import { parseSync } from "oxc-parser";
import {
  compileInput,
  freeNames,
  InputSyntaxError,
  isComplete,
} from "../profile/repl/transform.ts";
import { complete } from "../profile/repl/completion.ts";
import { appendHistory, historyPath, loadHistory } from "../profile/repl/history.ts";
import { formatTimingLine, type InputTiming } from "../profile/repl/session.ts";

test("isComplete() asks for more lines only when an opening is left open", () => {
  for (
    const open of ["function f() {", "[1,\n2,", "f(", "const s = `a", "/* note", "x = 1 +", "`${a"]
  ) {
    assert.equal(isComplete(open), false, open);
  }
  for (const done of ["1 + 1", "let x = ;", "const t = 'abc", "x = /ab", "}", "", "// hi"]) {
    assert.equal(isComplete(done), true, done);
  }
});

test("compileInput() turns top-level declarations into globals and returns the last value", async () => {
  const c = compileInput(
    "const a: number = 1, { b, c: [d] } = { b: 2, c: [3] }\nlet e\nfunction f(x: number) { return x + a }\n" +
      "class K {}\nenum E { A = 5 }\nexport const g = 7\nf(d) + E.A + g",
  );
  assert.deepEqual(c.declared.sort(), ["E", "K", "a", "b", "d", "e", "f", "g"]);
  assert.deepEqual(c.functions.map((x) => [x.name, x.line, x.declaration]), [["f", 3, true]]);
  const scope: Record<string, unknown> = {};
  const ctx = vm.createContext(scope);
  const [value] = await vm.runInContext(c.code, ctx) as unknown[];
  assert.equal(value, 1 + 3 + 5 + 7);
  assert.equal(scope.a, 1);
  assert.equal(scope.d, 3);
  assert.equal(scope.e, undefined);
  assert.equal(typeof scope.K, "function");
  assert.equal(c.empty, false);
  assert.equal(compileInput("// only a comment").empty, true);
});

test("compileInput() rewrites imports and import() to the REPL's helper, keeping type imports out", () => {
  const c = compileInput(
    'import def, { type T, a as b, c } from "./x.ts"\nimport * as ns from "./y.ts"\n' +
      'import type { U } from "./z.ts"\nconst m = await import("./w.ts")\nimport.meta.url',
  );
  assert.match(
    c.code,
    /\{\s*default: def,\s*a: b,\s*c: c\s*\} = await __rayprofRepl\.import\("\.\/x\.ts"\)/,
  );
  assert.match(c.code, /ns = await __rayprofRepl\.import\("\.\/y\.ts"\)/);
  assert.doesNotMatch(c.code, /z\.ts/);
  assert.match(c.code, /m = await __rayprofRepl\.import\("\.\/w\.ts"\)/);
  assert.match(c.code, /__rayprofRepl\.importMeta\.url/);
  assert.deepEqual(c.declared.sort(), ["b", "c", "def", "m", "ns"]);
});

test("compileInput() maps the stripped code's lines back to the lines typed", () => {
  const src =
    "interface A {\n  a: number\n}\nfunction f<T>(x: T): T {\n  throw new Error('x')\n}\nf(1)";
  const c = compileInput(src);
  const genLine = c.code.split("\n").findIndex((l) => l.includes("throw")) + 1;
  assert.equal(c.lines.original(genLine), 5);
});

test("compileInput() reports syntax errors, and treats { ... } as an object literal", () => {
  assert.throws(() => compileInput("let x = ;"), (e) => {
    assert.ok(e instanceof InputSyntaxError);
    assert.equal(e.incomplete, false);
    assert.match(e.codeFrame, /let x = ;/);
    return true;
  });
  assert.match(compileInput("{ a: 1 }").code, /^\[\{ a: 1 \}\];$/m);
  assert.match(compileInput("{ let x = 1 }").code, /let x = 1/, "a block stays a block");
});

test("compileInput() names the session variables a remote function would need in its workers", () => {
  const c = compileInput(
    "const k = 2\nconst f = remote(function f(n: number) {\n  const local = n * k + other;\n" +
      "  return local + Math.max(n, limit) + ray.get.length\n})\nconst g = ray.remote((x: number) => x)",
    { sessionNames: new Set(["limit", "unrelated"]) },
  );
  assert.deepEqual(c.shipping, [{ name: "f", uses: ["k", "limit"], line: 2 }]);
});

test("freeNames() leaves out parameters, locals, properties and types", () => {
  const program = parseSync(
    "x.ts",
    "(function (a: Foo, { b }) { const c = a.d + b; let { e } = c; try {} catch (err) { err } return { f: c, [g]: e, h } })",
    { lang: "ts" },
  ).program;
  const fn =
    (program.body[0] as unknown as { expression: Parameters<typeof freeNames>[0] }).expression;
  assert.deepEqual(freeNames(fn).sort(), ["g", "h"]);
});

test("complete() completes commands, globals and properties of dotted paths", () => {
  const scope = { ray: { remote: 1, recording: 2, sleepSync() {} }, rayCount: 4, other: 5 };
  assert.deepEqual(complete(".ti", [".timing", ".timeline", ".help"], scope), [
    [".timing", ".timeline"],
    ".ti",
  ]);
  assert.deepEqual(complete("await ray.re", [], scope), [["recording", "remote"], "re"]);
  assert.deepEqual(complete("x = ray", [], scope)[0].filter((n) => n.startsWith("ray")), [
    "ray",
    "rayCount",
  ]);
  assert.ok(complete("ret", [], scope)[0].includes("return"), "keywords");
  assert.ok(complete("ray.sleepSync.ca", [], scope)[0].includes("call"), "prototype members");
  assert.deepEqual(complete("nothing.he", [], scope), [[], "he"]);
  assert.deepEqual(complete(".profile ray.sl", [".profile"], scope), [["sleepSync"], "sl"]);
});

test("historyPath() honours RAYPROF_REPL_HISTORY; loadHistory() returns newest first", () => {
  assert.equal(historyPath({ RAYPROF_REPL_HISTORY: "/x/h", HOME: "/home/u" }), "/x/h");
  assert.equal(historyPath({ RAYPROF_REPL_HISTORY: "", HOME: "/home/u" }), undefined);
  assert.equal(historyPath({ HOME: "/home/u" }), "/home/u/.rayprof_repl_history");
  const dir = mkdtempSync(join(tmpdir(), "rayprof-history-"));
  try {
    const file = join(dir, "sub", "h");
    appendHistory(file, "first");
    appendHistory(file, "   ");
    appendHistory(file, "second");
    assert.equal(readFileSync(file, "utf8"), "first\nsecond\n");
    assert.deepEqual(loadHistory(file), ["second", "first"]);
    assert.deepEqual(loadHistory(join(dir, "missing")), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("compileInput() runs inputs without top-level await as scripts, so functions are hoisted", () => {
  const plain = compileInput("const r = later(); function later() { return 4 }; r");
  assert.equal(plain.wrapped, false);
  const scope: Record<string, unknown> = {};
  // (Spread: an array of another realm is not deep-equal to one of this realm.)
  assert.deepEqual([...vm.runInContext(plain.code, vm.createContext(scope))], [4]);
  assert.equal(typeof scope.later, "function");
  const awaiting = compileInput("function f() { return 1 }\nawait f()");
  assert.equal(awaiting.wrapped, true);
  assert.match(awaiting.code, /f = function f\(\)/);
  assert.equal(
    compileInput("async function g() { await 1 }").wrapped,
    false,
    "await inside a function",
  );
  assert.equal(compileInput('import { a } from "./a.ts"').wrapped, true);
  const declared = vm.runInContext(compileInput("let z = 1").code, vm.createContext({}));
  assert.deepEqual([...declared], [undefined]);
});

test("formatTimingLine() names the time spent starting workers when it explains the figures", () => {
  const base: InputTiming = {
    input: 1,
    start: 1000,
    end: 1400,
    tasks: [],
    workers: 0,
    parallelism: 0,
    starting: 0,
  };
  assert.equal(formatTimingLine(base), "took 0.4000 s");
  const tasks = [{}, {}, {}, {}] as InputTiming["tasks"];
  const ran = { ...base, tasks, workers: 2, parallelism: 1 };
  assert.equal(formatTimingLine(ran), "took 0.4000 s · 4 tasks on 2 workers · parallelism 1.0x");
  assert.equal(
    formatTimingLine({ ...ran, starting: 180 }),
    "took 0.4000 s · 4 tasks on 2 workers · parallelism 1.0x · 0.18 s starting workers",
  );
  // Under 10 ms, or under a tenth of the input: not worth a mention.
  assert.doesNotMatch(formatTimingLine({ ...ran, starting: 9 }), /starting/);
  assert.doesNotMatch(formatTimingLine({ ...ran, start: 0, end: 4000, starting: 300 }), /starting/);
});
