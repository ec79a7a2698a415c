// Blanking TypeScript-only syntax (instrument()'s `stripTypes`), which spares Deno's import hook
// oxc-transform: lines and columns stay, the result is JavaScript that behaves as the original,
// and modules that need a real transform are left to it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runHost, scriptArgs } from "./_run_host.ts";
import { parseSync } from "oxc-parser";
import { instrument } from "../profile/instrument/instrument.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "cli.ts");
const FILE = "/virtual/x.ts";
let dir = "";

before(() => {
  dir = mkdtempSync(join(tmpdir(), "rayprof-strip-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const IS_BUN = "Bun" in globalThis;
const run = (args: string[], env: Record<string, string> = {}) =>
  runHost(scriptArgs(args), dir, env);

// Most of TypeScript's erasable syntax, in a profiled function and around it.
const TYPED = `import type { Missing } from "./missing.ts";
import { helper, type HelperOptions } from "./helper.ts";
export type { Missing };
interface Shape { w: number; h?: number }
type Pair<T> = [T, T];
declare const G: number;
declare global { interface Window { x: number } }
declare enum Never { A }
export interface Exported { a: string }
abstract class Base<T> implements Shape {
  w = 2;
  private readonly secret?: string;
  declare extra: number;
  h!: number;
  [key: string]: unknown;
  abstract area(): number;
  protected static make<U>(x: U): Pair<U> {
    return [x, x];
  }
}
class Square extends Base<number> {
  public override area(): number {
    return this.w * this.w;
  }
  twice?(): void;
  twice(): number {
    return Base.make<number>(this.area())[0] * 2;
  }
}
function over(a: string): string;
function over(a: number): number;
// @profile
function over(a: any): any {
  const p = <Pair<number>> [1, 2];
  const q = (p as unknown as number[])!.length satisfies number;
  const r: Record<string, number> = { a: 1 };
  let z!: number;
  z = helper(q, { scale: 3 } as HelperOptions);
  const f = <T,>(x: T): T => x;
  const opt = (o?: { k?: number }): number => o?.k ?? 7;
  return new Square().twice() + r.a + z + (a as number) + f<number>(1) + opt();
}
try {
  console.log("result", over(2));
} catch (e: unknown) {
  console.log("error", (e as Error).message);
}
`;
const HELPER = `export interface HelperOptions { scale: number }
export function helper(n: number, o: HelperOptions): number {
  return n * o.scale;
}
`;

test("instrument() with stripTypes blanks TypeScript out: JavaScript, every line and column kept", () => {
  const typed = instrument(TYPED, { file: FILE });
  const r = instrument(TYPED, { file: FILE, stripTypes: true });
  assert.equal(r.js, true);
  const a = typed.code.split("\n");
  const b = r.code.split("\n");
  assert.equal(b.length, a.length);
  for (let i = 0; i < a.length; i++) {
    assert.equal(b[i].length, a[i].length, `line ${i + 1}:\n${a[i]}\n${b[i]}`);
    // Only spaces replace characters.
    for (let c = 0; c < a[i].length; c++) {
      if (b[i][c] !== a[i][c]) assert.equal(b[i][c], " ", `line ${i + 1}, column ${c + 1}`);
    }
  }
  const js = parseSync("x.js", r.code, { lang: "js", sourceType: "module" });
  assert.deepEqual(js.errors.map((e) => e.message), []);
  assert.match(b[32], /^function over\(a {5}\) {6}\{/);
  assert.match(b[29], /^ +$/); // an overload signature
  assert.match(b[0], /__rp\$I\(\); +$/); // the prologue, then `import type` blanked
  assert.equal(
    b[1],
    `import { helper${" ".repeat(", type HelperOptions".length)} } from "./helper.ts";`,
  );
  assert.deepEqual(r.functions, typed.functions);
});

test("instrument() with stripTypes removes type-only specifiers from any place in a list", () => {
  // Each with a value left, so the import stays; trailing commas and multi-line lists, as
  // denoland/std writes them (path/posix/glob_to_regexp.ts, csv/parse.ts).
  const cases: [string, string][] = [
    ["import { a, type B } from './m.ts';", "import { a         } from './m.ts';"],
    ["import { type B, a } from './m.ts';", "import {         a } from './m.ts';"],
    ["import { a, type B, } from './m.ts';", "import { a,         } from './m.ts';"],
    [
      "import {\n  a,\n  type B,\n  type C,\n} from './m.ts';",
      "import {\n  a,\n         \n         \n} from './m.ts';",
    ],
    [
      "import { a, type B /* b */, } from './m.ts';",
      "import { a,                 } from './m.ts';",
    ],
    ["import { a, type B, type C } from './m.ts';", "import { a,                } from './m.ts';"],
  ];
  for (const [ts, js] of cases) {
    const source = `${ts}\nconsole.log(a);\n`;
    const r = instrument(source, { file: FILE, stripTypes: true, asJavaScript: true });
    assert.equal(r.js, true, ts);
    const code = r.code.replace(/^.*__rp\$I\(\);/, "");
    assert.equal(code, `${js}\nconsole.log(a);\n`, ts);
    const parsed = parseSync("x.js", r.code, { lang: "js", sourceType: "module" });
    assert.deepEqual(parsed.errors.map((e) => e.message), [], ts);
  }
  const out = instrument("export { a, type B, };\nconst a = 1;\n", {
    file: FILE,
    stripTypes: true,
    asJavaScript: true,
  });
  assert.equal(out.js, true);
  assert.deepEqual(parseSync("x.js", out.code, { lang: "js", sourceType: "module" }).errors, []);
});

test("instrument() with stripTypes leaves what needs a real transform to it", () => {
  const cases: [string, string][] = [
    ["enum", "enum Color { Red }\n// @profile\nfunction f() {\n  return Color.Red;\n}\n"],
    [
      "namespace",
      "namespace N { export const a = 1; }\n// @profile\nfunction f() {\n  return N.a;\n}\n",
    ],
    [
      "parameter property",
      "class P {\n  constructor(private x: number) {}\n}\n// @profile\nfunction f() {\n  return new P(1);\n}\n",
    ],
    [
      "import used only as a type",
      'import { T } from "./t.ts";\n// @profile\nfunction f(x: T) {\n  return x;\n}\n',
    ],
    [
      "export of an imported name",
      'import { T } from "./t.ts";\nexport { T };\n// @profile\nfunction f() {\n  return 1;\n}\n',
    ],
    ["this parameter", "// @profile\nfunction f(this: Window, x: number) {\n  return x;\n}\n"],
    [
      "import x = require()",
      'import fs = require("fs");\n// @profile\nfunction f() {\n  return fs;\n}\n',
    ],
    [
      "a type assertion a line could continue",
      "// @profile\nfunction f(x: unknown) {\n  const a = x as number\n  (a)\n  return a;\n}\n",
    ],
  ];
  for (const [what, source] of cases) {
    const r = instrument(source, { file: FILE, stripTypes: true });
    assert.notEqual(r.js, true, what);
    assert.equal(r.functions.length, 1, what);
  }
  const jsx = instrument("// @profile\nfunction f() {\n  return <div />;\n}\n", {
    file: "/virtual/x.tsx",
    stripTypes: true,
  });
  assert.notEqual(jsx.js, true);
  // Plain JavaScript stays as it is.
  const plain = instrument("// @profile\nfunction f(a) {\n  return a?.b;\n}\n", {
    file: "/virtual/x.js",
    stripTypes: true,
  });
  assert.equal(plain.js, true);
});

test("a profiled script with types blanked prints what it prints unprofiled", async () => {
  writeFileSync(join(dir, "typed.ts"), TYPED);
  writeFileSync(join(dir, "helper.ts"), HELPER);
  const plain = await run([join(dir, "typed.ts")]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^result 25$/m);
  const cache = join(dir, "cache1");
  const profiled = await run(
    [CLI, "profile", "-o", join(dir, "o.json"), join(dir, "typed.ts")],
    { RAYPROF_CACHE_DIR: cache },
  );
  assert.equal(profiled.code, 0, profiled.stderr);
  assert.equal(profiled.stdout.split("\n")[0], "result 25");
  assert.match(profiled.stderr, /Function: over at line 30/);
  // Under Deno, neither module took the transpiler.
  for (const f of readdirSync(cache).filter((f) => f.startsWith("m-"))) {
    assert.equal(JSON.parse(readFileSync(join(cache, f), "utf8")).transpiled, undefined, f);
  }
});

/** An error report with the columns of its frames and its caret line taken out. */
function withoutColumns(text: string): string {
  return text.replace(/:(\d+):\d+\)/g, ":$1)").replace(/:(\d+):\d+$/gm, ":$1")
    .replace(/^ *\^ *$/gm, "^");
}

test("an error in a module with types blanked points at its line", async () => {
  writeFileSync(
    join(dir, "throws.ts"),
    "interface X { a: number }\n// @profile\nfunction boom(x: X): number {\n  const y: number = x.a * 2;\n  throw new Error(`boom ${y}`);\n}\nboom({ a: 1 } as X);\n",
  );
  const r = await run([CLI, "profile", "-q", "-o", join(dir, "t.json"), join(dir, "throws.ts")], {
    RAYPROF_CACHE_DIR: join(dir, "cache2"),
  });
  assert.equal(r.code, 1);
  const plain = await run([join(dir, "throws.ts")]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /rror: boom 2\n[\s\S]*at boom \(.*throws\.ts:5:\d+\)/);
  assert.match(plain.stderr, /throws\.ts:7:\d+/);
  // Printed as the plain run prints it: the user's frames, files and lines (and, under Deno, whose
  // source maps the profiler writes, columns: Bun takes none from a load hook, so there a probe
  // inserted on the line moves the column and the caret under it).
  const printed = r.stderr.slice(0, r.stderr.indexOf("Wrote profile results"));
  if (IS_BUN) assert.equal(withoutColumns(printed), withoutColumns(plain.stderr));
  else assert.equal(printed, plain.stderr);
});

test("a module that comes to need the transpiler after a run that needed none still runs", async () => {
  // Run 1 blanks everything, so run 2 starts without oxc-transform (Deno) and meets an enum.
  const cache = join(dir, "cache3");
  const script = join(dir, "later_enum.ts");
  writeFileSync(script, "// @profile\nfunction f(): number {\n  return 1;\n}\nconsole.log(f());\n");
  const args = [CLI, "profile", "-q", "-o", join(dir, "e.json"), script];
  const first = await run(args, { RAYPROF_CACHE_DIR: cache });
  assert.equal(first.code, 0, first.stderr);
  writeFileSync(
    script,
    "enum E { A = 5 }\n// @profile\nfunction f(): number {\n  return E.A;\n}\nconsole.log(f());\n",
  );
  const second = await run(args, { RAYPROF_CACHE_DIR: cache });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, "5\n");
  const third = await run(args, { RAYPROF_CACHE_DIR: cache });
  assert.equal(third.stdout, "5\n");
});

test("a first run that needs no transpiler for its static imports still runs an import that does", async () => {
  // Under Deno the entry and its static imports decide that oxc-transform is not loaded; the
  // enum module, imported dynamically, then goes through the child process, and the next run
  // (its list says a module needed it) loads the transpiler.
  writeFileSync(
    join(dir, "colors.ts"),
    "export enum Color { Red = 1, Green = 2 }\nexport function green(): Color {\n  return Color.Green;\n}\n",
  );
  const script = join(dir, "uses_enum.ts");
  writeFileSync(
    script,
    '// @profile\nasync function f(): Promise<number> {\n  const { green } = await import("./colors.ts");\n  return green() + 40;\n}\nconsole.log(await f());\n',
  );
  const cache = join(dir, "cache4");
  const args = [CLI, "profile", "--all", "-o", join(dir, "c.json"), "--overwrite", script];
  for (let i = 0; i < 2; i++) {
    const r = await run(args, { RAYPROF_CACHE_DIR: cache });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split("\n")[0], "42");
    assert.match(r.stderr, /Function: green at line 2/);
  }
});
