// The profiled program behaves exactly as unprofiled: each case runs through the real import
// hook twice, once with every function instrumented and once untouched, and the results
// (values, thrown errors, logs) must be equal. Each case also checks that probes did fire, so a
// case cannot pass by not being instrumented.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type LineProfiling, startLineProfiling } from "../profile/instrument/loader.ts";

let dir = "";
let profiling: LineProfiling;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "rayprof-sem-"));
  profiling = await startLineProfiling({
    select: { all: true },
    selectIn: (path) => path.endsWith(".profiled.ts"),
    include: (path) => path.startsWith(dir),
  });
});

after(() => {
  // Bun runs all test files in one process: leave no hook behind for the others.
  profiling.stop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function outcome(file: string): Promise<unknown> {
  const mod = await import(pathToFileURL(file).href);
  try {
    return { value: await mod.run() };
  } catch (e) {
    return { thrown: e instanceof Error ? `${e.name}: ${e.message}` : e };
  }
}

async function same(code: string): Promise<void> {
  const base = join(dir, `case${n++}`);
  writeFileSync(`${base}.plain.ts`, code);
  writeFileSync(`${base}.profiled.ts`, code);
  const before = profiling.collector.functions.length;
  const plain = await outcome(`${base}.plain.ts`);
  const profiled = await outcome(`${base}.profiled.ts`);
  assert.deepEqual(profiled, plain);
  const mine = profiling.collector.functions.slice(before);
  assert.ok(mine.length > 0, "nothing was instrumented");
  assert.ok(mine.every((f) => f.file.endsWith(".profiled.ts")));
  const stats = profiling.collector.snapshot();
  const hits = stats.functions
    .filter((f) => f.file === `${base}.profiled.ts`)
    .reduce((sum, f) => sum + f.lines.reduce((s, l) => s + l.hits, 0), 0);
  assert.ok(hits > 0, "no line event was recorded");
}

test("profiled code keeps return values and thrown errors", () =>
  same(`
export function run() {
  const out: unknown[] = [f(1), f(2)];
  try { f(-1); } catch (e) { out.push(String(e)); }
  return out;
}
function f(x: number) {
  if (x < 0) throw new RangeError("negative " + x)
  return x * 2
}
`));

test("profiled code keeps this and arguments", () =>
  same(`
export function run() {
  const o = { k: 7, m(a: number, b?: number) { return [this.k, arguments.length, a, b]; } };
  const arrow = function (this: { z: number }) { return (() => [this.z, arguments[0]])(); };
  return [o.m(1), o.m(1, 2), arrow.call({ z: 3 }, "a"), (function () { return this; })()];
}
`));

test("profiled code keeps hoisting and TDZ", () =>
  same(`
export function run() {
  const out: unknown[] = [hoisted(), typeof later];
  try { out.push(tdz); } catch (e) { out.push((e as Error).name); }
  let tdz = 1;
  var later = 2;
  function hoisted() { return "hoisted"; }
  out.push(later, tdz);
  return out;
}
`));

test("profiled code keeps generators and yield values", () =>
  same(`
function* gen(n: number) {
  for (let i = 0; i < n; i++) {
    const got = yield i * 10;
    if (got) yield "got " + got;
  }
  yield* [7, 8];
  return "done";
}
export function run() {
  const g = gen(3);
  const out: unknown[] = [g.next(), g.next("a"), g.next(), g.next(), g.return("early"), g.next()];
  out.push([...gen(2)]);
  return out;
}
`));

test("profiled code keeps async functions and async generators", () =>
  same(`
async function* ticks(n: number) {
  for (let i = 0; i < n; i++) {
    await new Promise((r) => setTimeout(r, 1));
    yield i;
  }
}
const twice = async (x: number) => (await Promise.resolve(x)) * 2;
export async function run() {
  const out: number[] = [];
  for await (const t of ticks(3)) out.push(await twice(t));
  const [a, b] = await Promise.all([twice(1), twice(2)]);
  return [out, a, b];
}
`));

test("profiled code keeps getters, setters, class fields and private members", () =>
  same(`
class Box {
  static count = 0;
  #value = 1;
  label = "box";
  arrow = () => this.#value;
  get value() { return this.#value; }
  set value(v: number) { this.#value = v * 2; }
  #secret() { return "s" + this.#value; }
  reveal() { return this.#secret(); }
  static make() { Box.count++; return new Box(); }
}
export function run() {
  const b = Box.make();
  b.value = 5;
  return [b.value, b.reveal(), b.arrow(), b.label, Box.count, Object.keys(b)];
}
`));

test("profiled code keeps constructors calling super()", () =>
  same(`
class Base {
  name: string;
  constructor(name: string) { this.name = name; }
  hello() { return "hello " + this.name; }
}
class Child extends Base {
  extra = "x";
  constructor(name: string) {
    const upper = name.toUpperCase();
    super(upper);
    this.extra += name.length;
  }
  override hello() { return super.hello() + "!" + this.extra; }
}
export function run() {
  return [new Child("ab").hello(), new Child("abc") instanceof Base];
}
`));

test("profiled code keeps labeled break and continue", () =>
  same(`
export function run() {
  const out: string[] = [];
  outer: for (let i = 0; i < 4; i++) {
    inner: for (const j of [0, 1, 2]) {
      if (j === 1) continue inner;
      if (i === 2) continue outer;
      if (i === 3) break outer;
      out.push(i + ":" + j);
    }
  }
  block: { out.push("in"); if (out.length) break block; out.push("never"); }
  let k = 0;
  loop: while (true) { if (++k > 3) break loop; }
  do k--; while (k > 0)
  return [out, k];
}
`));

test("profiled code keeps switch fall-through", () =>
  same(`
function sw(x: number) {
  const out: string[] = [];
  switch (x) {
    case 1: out.push("one");
    case 2: out.push("two"); break;
    case 3: { out.push("three"); }
    default: out.push("default");
  }
  return out;
}
export function run() { return [sw(1), sw(2), sw(3), sw(4)]; }
`));

test("profiled code keeps try/catch/finally", () =>
  same(`
function tf(x: number): string {
  try {
    if (x === 0) return "zero";
    if (x === 1) throw new Error("one");
    return "other";
  } catch (e) {
    return "caught " + (e as Error).message;
  } finally {
    if (x === 2) return "finally wins";
  }
}
export function run() { return [tf(0), tf(1), tf(2), tf(3)]; }
`));

test("profiled code keeps using declarations", () =>
  same(`
const log: string[] = [];
function resource(name: string) {
  return { name, [Symbol.dispose]() { log.push("dispose " + name); } };
}
function scope() {
  using a = resource("a");
  using b = resource("b");
  log.push("body " + a.name + b.name);
  return log.length;
}
export function run() { const n = scope(); return [n, log]; }
`));

test("profiled code keeps directive prologues", () =>
  same(`
function sloppyThis() { return typeof this; }
function strict() {
  "use strict";
  return [typeof this, (function () { return typeof this; })()];
}
export function run() { return [strict(), sloppyThis()]; }
`));

test("profiled code keeps default parameters and closures", () =>
  same(`
function defaults(a: number, b = a + 1, c = () => a + b) { return [a, b, c()]; }
function counter() {
  let n = 0;
  return { inc: () => ++n, get: () => n };
}
export function run() {
  const c = counter();
  c.inc(); c.inc();
  const fns: (() => number)[] = [];
  for (let i = 0; i < 3; i++) fns.push(() => i);
  return [defaults(1), defaults(1, 5), c.get(), fns.map((f) => f())];
}
`));

test("profiled code keeps one-line statements and ASI", () =>
  same(`
export function run() {
  let a = 1
  const b = [a]
  ;[a] = [2]
  if (a) a++; else a--
  for (const x of b) a += x
  let s = 0; for (let i = 0; i < 3; i++) s += i; while (s > 100) s--
  return [a, b, s, (() => ({ obj: true }))()]
}
`));

test("profiled code keeps enums and parameter properties (TypeScript transforms)", () =>
  same(`
enum Color { Red, Green = "g" }
class Point {
  constructor(public x: number, private readonly y = 2) {}
  sum() { return this.x + this.y; }
}
class Point3 extends Point {
  constructor(x: number, public z: number) { super(x); }
}
export function run() {
  return [Color.Red, Color.Green, new Point(1).sum(), new Point3(1, 3).z, new Point3(4, 1).sum()];
}
`));

test("profiled code keeps import cycles (a profiled function runs before its module's body)", async () => {
  const results: unknown[] = [];
  for (const kind of ["plain", "profiled"]) {
    writeFileSync(
      join(dir, `cyc_a.${kind}.ts`),
      `import { early } from "./cyc_b.${kind}.ts";\nexport function f(): number {\n  return 7;\n}\nexport function run() {\n  return early;\n}\n`,
    );
    writeFileSync(
      join(dir, `cyc_b.${kind}.ts`),
      `import { f } from "./cyc_a.${kind}.ts";\nexport const early = f() * 2;\n`,
    );
    results.push(await outcome(join(dir, `cyc_a.${kind}.ts`)));
  }
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[0], { value: 14 });
});
