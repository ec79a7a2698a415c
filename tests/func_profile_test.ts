// The function profiler (cli.ts profile --functions): pstats layout, sort keys, call counts,
// recursion, async attribution, workers, speedscope export. CLI runs are subprocesses of the
// runtime running the tests (Deno or Bun).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../cli.ts";
import { instrument } from "../profile/instrument/instrument.ts";
import { FuncCollector } from "../profile/func/collector.ts";
import {
  type FuncStats,
  funcStatsFromThread,
  mergeFuncStats,
  resolveSortKey,
  sortFuncStats,
} from "../profile/func/stats.ts";
import { formatFuncStats } from "../profile/func/report.ts";
import { SPEEDSCOPE_SCHEMA } from "../profile/func/speedscope.ts";
import { type Run, runHost, scriptArgs } from "./_run_host.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "cli.ts");
let dir = "";

before(() => {
  dir = mkdtempSync(join(tmpdir(), "rayprof-funcprof-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): Promise<Run> {
  return runHost(scriptArgs([CLI, ...args]), ROOT);
}

interface Row {
  calls: number;
  primitive: number;
  tottime: number;
  cumtime: number;
  line: string;
}

const ROW =
  /^ {0,8}(\d+)(?:\/(\d+))? +(\d+\.\d{3}) +(\d+\.\d{3}) +(\d+\.\d{3}) +(\d+\.\d{3}) (.+)$/;

/** Rows of every pstats table in the output, by `file:line(name)` (tables added together). */
function rows(stdout: string): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const line of stdout.split("\n")) {
    const m = ROW.exec(line);
    if (!m) continue;
    const calls = Number(m[1]);
    const r = {
      calls,
      primitive: m[2] === undefined ? calls : Number(m[2]),
      tottime: Number(m[3]),
      cumtime: Number(m[5]),
      line,
    };
    const prev = out.get(m[7]);
    if (prev) {
      prev.calls += r.calls;
      prev.primitive += r.primitive;
      prev.tottime += r.tottime;
      prev.cumtime += r.cumtime;
    } else out.set(m[7], r);
  }
  return out;
}

function row(table: Map<string, Row>, key: string, out: string): Row {
  const r = table.get(key);
  assert.ok(r, `no row ${key} in:\n${out}`);
  return r;
}

// Each fixture runs once; tests share the result.
const runs = new Map<string, Promise<Run>>();
function run(...args: string[]): Promise<Run> {
  const key = args.join(" ");
  if (!runs.has(key)) runs.set(key, cli(["profile", ...args]));
  return runs.get(key)!;
}

const F = "tests/fixtures/funcprof";
// Subprocess runs: Bun's default test timeout (5 s) is too short on a loaded machine.
const SLOW = { timeout: 120_000 };

// ---------------------------------------------------------------- stats and report, in-process

const SAMPLE: FuncStats = {
  functions: [
    {
      file: "/p/a.ts",
      line: 3,
      name: "fib",
      calls: 15,
      primitiveCalls: 1,
      tottime: 0.004,
      cumtime: 0.004,
    },
    {
      file: "/p/a.ts",
      line: 10,
      name: "main",
      calls: 1,
      primitiveCalls: 1,
      tottime: 0.5,
      cumtime: 2.25,
    },
    {
      file: "/p/b.ts",
      line: 1,
      name: "work",
      calls: 3,
      primitiveCalls: 3,
      tottime: 1.7465,
      cumtime: 1.75,
    },
    {
      file: "/p/a.ts",
      line: 12,
      name: "<await>",
      kind: "await",
      calls: 2,
      primitiveCalls: 2,
      tottime: 1,
      cumtime: 1,
    },
  ],
};

test("formatFuncStats() prints the layout of pstats' print_stats()", () => {
  const text = formatFuncStats(SAMPLE, { cwd: "/p" });
  assert.equal(
    text,
    [
      "         19 function calls (5 primitive calls) in 2.250 seconds",
      "",
      "   Ordered by: cumulative time",
      "",
      "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)",
      "        1    0.500    0.500    2.250    2.250 a.ts:10(main)",
      "        3    1.746    0.582    1.750    0.583 b.ts:1(work)",
      "        2    1.000    0.500    1.000    0.500 a.ts:12(<await>)",
      "     15/1    0.004    0.000    0.004    0.004 a.ts:3(fib)",
      "",
      "",
      "",
    ].join("\n"),
  );
  // No "(N primitive calls)" when there is no recursion, as pstats.
  const plain = formatFuncStats({ functions: [SAMPLE.functions[1]] }, {
    cwd: "/p",
    sort: ["time"],
  });
  assert.match(plain, /^ {9}1 function calls in 0\.500 seconds\n\n {3}Ordered by: internal time\n/);
  assert.match(
    formatFuncStats(SAMPLE, { stripDirs: true, limit: 1 }),
    /List reduced from 4 to 1 due to restriction <1>/,
  );
});

test("sortFuncStats() sorts by every pstats key, in pstats' directions", () => {
  const first = (key: string) => {
    const { rows } = sortFuncStats(SAMPLE, [key]);
    return `${rows[0].name}`;
  };
  const expect: Record<string, [string, string]> = {
    calls: ["fib", "call count"],
    ncalls: ["fib", "call count"],
    pcalls: ["work", "primitive call count"],
    cumulative: ["main", "cumulative time"],
    cumtime: ["main", "cumulative time"],
    time: ["work", "internal time"],
    tottime: ["work", "internal time"],
    filename: ["main", "file name"], // a.ts before b.ts, ties by standard name
    module: ["main", "file name"],
    line: ["work", "line number"], // line 1 first
    name: ["<await>", "function name"],
    nfl: ["<await>", "name/file/line"],
    stdname: ["main", "standard name"], // "/p/a.ts:10(main)" sorts first as text, as in pstats
  };
  for (const [key, [name, description]] of Object.entries(expect)) {
    const sorted = sortFuncStats(SAMPLE, [key]);
    assert.equal(first(key), name, key);
    assert.equal(sorted.orderedBy, description, key);
  }
  // Several keys: ties of the first broken by the next.
  const two = sortFuncStats(SAMPLE, ["filename", "tottime"]);
  assert.deepEqual(two.rows.map((r) => r.name), ["<await>", "main", "fib", "work"]);
  assert.equal(two.orderedBy, "file name, internal time");
});

test("resolveSortKey() takes unambiguous abbreviations and rejects the rest", () => {
  assert.equal(resolveSortKey("cum"), "cumtime"); // = cumulative
  assert.equal(resolveSortKey("tot"), "tottime");
  assert.equal(resolveSortKey("std"), "stdname");
  assert.throws(() => resolveSortKey("c"), {
    name: "RangeError",
    message:
      /^Cannot sort by 'c' as it could mean calls, cumtime, cumulative: expected one of calls, /,
  });
  assert.throws(() => resolveSortKey("speed"), {
    name: "RangeError",
    message: /^Cannot sort by 'speed' as it is not a sort key: expected one of /,
  });
});

test("mergeFuncStats() adds calls and times of the same function", () => {
  const merged = mergeFuncStats(SAMPLE, { functions: [SAMPLE.functions[2], SAMPLE.functions[0]] });
  const work = merged.functions.find((f) => f.name === "work")!;
  assert.deepEqual([work.calls, work.primitiveCalls, work.tottime, work.cumtime], [
    6,
    6,
    3.493,
    3.5,
  ]);
  const fib = merged.functions.find((f) => f.name === "fib")!;
  assert.deepEqual([fib.calls, fib.primitiveCalls], [30, 2]);
  assert.equal(merged.functions.length, 4);
  assert.deepEqual(JSON.parse(JSON.stringify(merged)), merged); // plain data
});

// ------------------------------------------------- probes on instrumented code, in-process

function profileSource(source: string, name: string) {
  const collector = new FuncCollector({ events: true });
  collector.install();
  const r = instrument(source, {
    file: `/virtual/${name}.js`,
    functionProbes: true,
    firstFunctionId: collector.nextId,
  });
  collector.register(r.sites!, r.nextFunctionId!);
  assert.equal(r.code.split("\n").length, source.split("\n").length, "lines kept");
  return { collector, code: r.code };
}

// Instrumented scripts end by setting globalThis.__funcprofRun (a module cannot `return`).
function runInstrumented(code: string): Promise<unknown> {
  new Function(code)();
  const g = globalThis as { __funcprofRun?: () => Promise<unknown> };
  const run = g.__funcprofRun!;
  delete g.__funcprofRun;
  return run();
}

function byName(stats: FuncStats) {
  return new Map(stats.functions.map((f) => [`${f.line}(${f.name})`, f]));
}

test("instrumented functions keep their results, errors and line numbers", async () => {
  const source = [
    "function fib(n) {",
    "  return n < 2 ? n : fib(n - 1) + fib(n - 2);",
    "}",
    "function* gen() { yield 1; yield; return 3; }",
    "async function failing() { await null; throw new Error('boom'); }",
    "async function loop() {",
    "  let s = 0;",
    "  for await (const v of (async function* () { yield 1; yield 2; })()) s += v;",
    "  try { await failing(); } catch (e) { s += e.message.length; }",
    "  return s;",
    "}",
    "globalThis.__funcprofRun = async () => [fib(6), [...gen()], await loop()];",
  ].join("\n");
  const { collector, code } = profileSource(source, "semantics");
  const result = await runInstrumented(code);
  assert.deepEqual(result, [8, [1, undefined], 7]);
  const stats = byName(funcStatsFromThread(collector.snapshot()));
  const fib = stats.get("1(fib)")!;
  assert.deepEqual([fib.calls, fib.primitiveCalls], [25, 1]);
  assert.equal(stats.get("4(gen)")!.calls, 1);
  assert.equal(stats.get("5(failing)")!.calls, 1);
  assert.equal(stats.get("6(loop)")!.calls, 1);
  assert.equal(stats.get("8(<for await>)")!.calls, 3); // two values and the end
  assert.equal(stats.get("9(<await failing>)")!.calls, 1); // the rejected await, resumed in catch
  // Every call closed: the event log is balanced.
  const events = collector.snapshot().events!;
  let depth = 0;
  for (let i = 0; i < events.length; i += 3) {
    depth += events[i] === 0 ? 1 : -1;
    assert.ok(depth >= 0);
  }
  assert.equal(depth, 0);
});

test("deep recursion counts total/primitive, and async recursion through awaits too", async () => {
  const source = [
    "function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1); }",
    "async function adepth(n) { if (n > 0) await adepth(n - 1); await null; }",
    "globalThis.__funcprofRun = async () => { depth(4999); await adepth(50); };",
  ].join("\n");
  const { collector, code } = profileSource(source, "deep");
  const t0 = performance.now();
  await runInstrumented(code);
  const ms = performance.now() - t0;
  const stats = byName(funcStatsFromThread(collector.snapshot()));
  const depth = stats.get("1(depth)")!;
  assert.deepEqual([depth.calls, depth.primitiveCalls], [5000, 1]);
  assert.ok(Math.abs(depth.cumtime - depth.tottime) < 0.01, `${depth.cumtime} ${depth.tottime}`);
  const adepth = stats.get("2(adepth)")!;
  assert.deepEqual([adepth.calls, adepth.primitiveCalls], [51, 1]);
  assert.ok(ms < 2000, `took ${ms} ms`);
});

test("a call's cumtime runs to its settle; tottime leaves out awaits and callees", async () => {
  const source = [
    "const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };",
    "async function outer() {",
    "  spin(20);",
    "  await new Promise((r) => setTimeout(r, 120));",
    "  inner();",
    "}",
    "function inner() { spin(30); }",
    "globalThis.__funcprofRun = outer;",
  ].join("\n");
  const { collector, code } = profileSource(source, "attribution");
  await runInstrumented(code);
  const stats = byName(funcStatsFromThread(collector.snapshot()));
  const outer = stats.get("2(outer)")!;
  const wait = stats.get("4(<await new Promise>)")!;
  const inner = stats.get("7(inner)")!;
  assert.ok(outer.cumtime >= 0.165 && outer.cumtime < 0.6, `cumtime ${outer.cumtime}`);
  assert.ok(
    outer.tottime < 0.015,
    `outer's own time excludes spin, the wait and inner: ${outer.tottime}`,
  );
  assert.ok(wait.tottime >= 0.11, `await row: ${wait.tottime}`);
  assert.ok(
    inner.cumtime >= 0.03 && inner.tottime < 0.01,
    `inner ${inner.cumtime}/${inner.tottime}`,
  );
});

// ------------------------------------------------------------------------- the CLI

test("profile --functions: call counts and recursion shown as total/primitive", SLOW, async () => {
  const r = await run("--functions", `${F}/recursion.ts`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^ {9}13 function calls \(5 primitive calls\) in \d+\.\d{3} seconds$/m);
  assert.match(r.stderr, /^ {3}Ordered by: cumulative time$/m);
  assert.match(
    r.stderr,
    /^ {3}ncalls {2}tottime {2}percall {2}cumtime {2}percall filename:lineno\(function\)$/m,
  );
  const t = rows(r.stderr);
  const fact = row(t, `${F}/recursion.ts:8(fact)`, r.stderr);
  assert.match(fact.line, /^ {6}4\/1 /);
  assert.deepEqual([fact.calls, fact.primitive], [4, 1]);
  assert.deepEqual(
    [row(t, `${F}/recursion.ts:19(isEven)`, r.stderr).line.trim().split(" ")[0]],
    ["2/1"],
  );
  assert.match(row(t, `${F}/recursion.ts:22(isOdd)`, r.stderr).line, /^ {6}2\/1 /);
  // 4 calls × 25 ms: cumtime counts the outer call only (≈ 0.1 s, not 0.1+0.075+0.05+0.025).
  const spin = row(t, `${F}/recursion.ts:12(spinDown)`, r.stderr);
  assert.ok(spin.cumtime >= 0.099 && spin.cumtime < 0.2, spin.line);
  assert.ok(Math.abs(spin.cumtime - spin.tottime) <= 0.005, spin.line);
  // Nothing chosen for the line profiler: no line report and no .lprof.json.
  assert.doesNotMatch(r.stderr, /Timer unit/);
  assert.doesNotMatch(r.stderr, /Wrote profile results/);
});

test(
  "profile --functions: async calls last until they settle, waits are <await ...> rows",
  SLOW,
  async () => {
    const r = await run("--functions", `${F}/async_attr.ts`);
    assert.equal(r.code, 0, r.stderr);
    const t = rows(r.stderr);
    const waiter = row(t, `${F}/async_attr.ts:12(waiter)`, r.stderr);
    // 3 calls, two of them at once: concurrent calls are not recursion.
    assert.deepEqual([waiter.calls, waiter.primitive], [3, 3]);
    // Each call: 30 ms of work, a 300 ms wait, 30 ms of work.
    assert.ok(waiter.cumtime >= 1.07, waiter.line); // timers may fire up to 1 ms early
    // Own time: the 6 × 30 ms only; not the waits (0.9 s) nor bystander's 250 ms meanwhile.
    assert.ok(waiter.tottime >= 0.179 && waiter.tottime < 0.36, waiter.line);
    const wait = row(t, `${F}/async_attr.ts:15(<await sleep>)`, r.stderr);
    assert.equal(wait.calls, 3);
    assert.ok(wait.tottime >= 0.89, wait.line);
    const busy = row(t, `${F}/async_attr.ts:2(busy)`, r.stderr);
    assert.ok(busy.tottime >= 0.249, busy.line);
    const down = row(t, `${F}/async_attr.ts:27(down)`, r.stderr);
    assert.deepEqual([down.calls, down.primitive], [4, 1]);
    // A rejected await resumes the function in its catch block: the 20 ms there are its own.
    const catcher = row(t, `${F}/async_attr.ts:32(catcher)`, r.stderr);
    assert.ok(catcher.tottime >= 0.019, catcher.line);
    // Await rows are not function calls: 3 waiter + 1 bystander + 1 busy + 4 down + 1 catcher
    // + 4 sleep + 4 promise executors.
    assert.match(r.stderr, /^ {9}18 function calls \(15 primitive calls\) in /m);
  },
);

test("profile --sort orders by pstats keys", SLOW, async () => {
  const r = await run("--functions", "--sort", "calls,name", `${F}/recursion.ts`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^ {3}Ordered by: call count, function name$/m);
  const names = [...rows(r.stderr).keys()].map((k) => k.replace(/^.*\(/, "").slice(0, -1));
  assert.deepEqual(names, ["fact", "spinDown", "isEven", "isOdd", "busy"]);
});

test("profile --sort with an unknown key exits 2 with a clear error", SLOW, async () => {
  let err = "";
  const io = { stdout: () => {}, stderr: (t: string) => err += t, isTTY: false };
  assert.equal(await main(["profile", "--sort", "fastest", "x.ts"], io), 2);
  assert.match(
    err,
    /^error: Invalid --sort: Cannot sort by 'fastest' as it is not a sort key: expected one of calls, cumtime, cumulative, filename, line, module, name, ncalls, nfl, pcalls, stdname, time, tottime\n$/,
  );
  err = "";
  assert.equal(await main(["profile", "--functions", "--sort", "cumulative,c", "x.ts"], io), 2);
  assert.match(err, /Cannot sort by 'c' as it could mean calls, cumtime, cumulative/);
});

test(
  "profile --functions merges the functions that ran in workers; --per-worker splits them",
  SLOW,
  async () => {
    const merged = await run("--functions", `${F}/workers.ts`);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stderr, /Function profile: driver and \d+ workers? merged/);
    const t = rows(merged.stderr);
    assert.match(row(t, `${F}/workers.ts:5(square)`, merged.stderr).line, /^ {8}6 /);
    assert.match(row(t, `${F}/workers.ts:8(cube)`, merged.stderr).line, /^ {8}3 /);

    const split = await run("--per-worker", `${F}/workers.ts`);
    assert.equal(split.code, 0, split.stderr);
    const tables = split.stderr.split(/^Function profile: /m).slice(1);
    assert.ok(tables[0].startsWith("driver\n"), split.stderr);
    assert.ok(tables.length >= 2, split.stderr);
    let squares = 0;
    for (const table of tables.slice(1)) {
      assert.match(table, /^worker \d+\n/);
      squares += rows(table).get(`${F}/workers.ts:5(square)`)?.calls ?? 0;
    }
    assert.equal(squares, 6);
    assert.equal(rows(tables[0]).has(`${F}/workers.ts:5(square)`), false);
  },
);

test(
  "profile --functions examples/loops.ts: func 15 calls, other_func 5, in the workers",
  SLOW,
  async () => {
    const r = await run("--functions", "examples/loops.ts");
    assert.equal(r.code, 0, r.stderr);
    const t = rows(r.stderr);
    const func = row(t, "examples/loops.ts:15(func)", r.stderr);
    assert.match(func.line, /^ {7}15 /);
    assert.ok(func.tottime >= 15 * 0.49, func.line); // sleepSync(500) in each
    assert.match(row(t, "examples/loops.ts:20(other_func)", r.stderr).line, /^ {8}5 /);
    for (const [key, min] of [["25(ex1)", 2.49], ["35(ex2)", 0.49], ["45(ex3)", 0.49]] as const) {
      const ex = row(t, `examples/loops.ts:${key}`, r.stderr);
      assert.equal(ex.calls, 1);
      assert.ok(ex.cumtime >= min && ex.tottime < 0.5, ex.line); // waiting is not its own time
    }
    // ex1 waits at its get() inside the loop, 5 times.
    const get = row(t, "examples/loops.ts:29(<await ray.get>)", r.stderr);
    assert.equal(get.calls, 5);
    assert.ok(get.tottime >= 2.45, get.line);
  },
);

// A subset of JSON Schema (draft-06) — type, enum, required, properties, items — enough for the
// speedscope schema, whose constraints are transcribed below.
type Schema = {
  type?: string;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
};
function validate(schema: Schema, value: unknown, path = "$"): string[] {
  const errors: string[] = [];
  const kind = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
  if (schema.type && schema.type !== kind) return [`${path}: expected ${schema.type}, got ${kind}`];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${value} not in enum`);
  if (kind === "object") {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${path}: missing ${r}`);
    for (const [k, s] of Object.entries(schema.properties ?? {})) {
      if (k in obj) errors.push(...validate(s, obj[k], `${path}.${k}`));
    }
  }
  if (kind === "array" && schema.items) {
    (value as unknown[]).forEach((v, i) =>
      errors.push(...validate(schema.items!, v, `${path}[${i}]`))
    );
  }
  return errors;
}
// https://www.speedscope.app/file-format-schema.json: FileFormat.File with evented profiles.
const NUMBER = { type: "number" };
const STRING = { type: "string" };
const SPEEDSCOPE: Schema = {
  type: "object",
  required: ["$schema", "profiles", "shared"],
  properties: {
    $schema: { type: "string", enum: [SPEEDSCOPE_SCHEMA] },
    shared: {
      type: "object",
      required: ["frames"],
      properties: {
        frames: {
          type: "array",
          items: {
            type: "object",
            required: ["name"],
            properties: { name: STRING, file: STRING, line: NUMBER, col: NUMBER },
          },
        },
      },
    },
    profiles: {
      type: "array",
      items: {
        type: "object",
        required: ["endValue", "events", "name", "startValue", "type", "unit"],
        properties: {
          type: { type: "string", enum: ["evented"] },
          name: STRING,
          unit: {
            type: "string",
            enum: ["bytes", "microseconds", "milliseconds", "nanoseconds", "none", "seconds"],
          },
          startValue: NUMBER,
          endValue: NUMBER,
          events: {
            type: "array",
            items: {
              type: "object",
              required: ["at", "frame", "type"],
              properties: { type: { type: "string", enum: ["O", "C"] }, frame: NUMBER, at: NUMBER },
            },
          },
        },
      },
    },
    name: STRING,
    activeProfileIndex: NUMBER,
    exporter: STRING,
  },
};

test("profile --speedscope writes a file valid against speedscope's schema", SLOW, async () => {
  const out = join(dir, "workers.speedscope.json");
  const r = await run("--speedscope", out, `${F}/workers.ts`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`Speedscope: wrote \\d+ events of \\d+ threads to ${out}`));
  const file = JSON.parse(readFileSync(out, "utf8"));
  assert.deepEqual(validate(SPEEDSCOPE, file), []);
  // The validator does catch a broken file.
  const broken = structuredClone(file);
  delete broken.profiles[0].unit;
  broken.profiles[0].events[0].type = "X";
  assert.equal(validate(SPEEDSCOPE, broken).length, 2);
  // What speedscope's importer checks beyond the schema: balanced, ordered events in range.
  assert.equal(file.profiles[0].name, "driver");
  assert.ok(file.profiles.length >= 2);
  // Workers follow the driver in worker order, whatever order they handed their data over in.
  const ids = file.profiles.slice(1).map((p: { name: string }) => Number(/\d+$/.exec(p.name)?.[0]));
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => a - b),
    file.profiles.map((p: { name: string }) => p.name).join(),
  );
  const names = new Set<string>();
  for (const p of file.profiles) {
    const stack: number[] = [];
    let last = p.startValue;
    for (const e of p.events) {
      assert.ok(e.frame >= 0 && e.frame < file.shared.frames.length);
      assert.ok(e.at >= last && e.at <= p.endValue, `${p.name}: ${e.at} after ${last}`);
      last = e.at;
      if (e.type === "O") stack.push(e.frame);
      else assert.equal(stack.pop(), e.frame, `${p.name}: close of a frame not on top`);
      names.add(file.shared.frames[e.frame].name);
    }
    assert.deepEqual(stack, [], `${p.name}: every frame closed`);
  }
  assert.ok(names.has("square") && names.has("cube"), [...names].join());
});

test("profile --functions --html puts the function table in the report", SLOW, async () => {
  const out = join(dir, "workers.html");
  const r = await run("--functions", "-q", "--html", out, `${F}/workers.ts`);
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(out, "utf8");
  const table = /<table id="function-profile"[\s\S]*?<\/table>/.exec(html)?.[0] ?? "";
  assert.match(table, /<td class="num" data-sort="6">6<\/td>[^\n]*?workers\.ts:5\(square\)/);
  assert.match(table, /workers\.ts:8\(cube\)/);
  assert.doesNotMatch(table, /&lt;await/);
});

test("bench/func_overhead.ts runs and reports every figure", SLOW, async () => {
  const args = ["bench/func_overhead.ts", "--n=2000", "--fib=8", "--rounds=1"];
  const r = await runHost(scriptArgs(args), ROOT);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /performance\.now\(\) per call +\d+\.\d ns/);
  assert.equal(
    r.stdout.match(/per call event +-?\d+\.\d ns = -?\d+\.\dx performance\.now\(\)/g)?.length,
    2,
  );
  assert.match(r.stdout, /fib\(8\): 67 calls, unprofiled/);
});

test("profile --per-worker shows actor methods in the actor's own table", SLOW, async () => {
  const r = await run("--per-worker", `${F}/actor.ts`);
  assert.equal(r.code, 0, r.stderr);
  const tables = r.stderr.split(/^Function profile: /m).slice(1);
  const actor = tables.find((t) => t.startsWith("actor Counter#1\n"));
  assert.ok(actor, r.stderr);
  const t = rows(actor);
  assert.equal(row(t, `${F}/actor.ts:6(Counter.add)`, actor).calls, 5);
  const slow = row(t, `${F}/actor.ts:10(Counter.slowAdd)`, actor);
  assert.ok(slow.cumtime >= 0.019 && slow.tottime < 0.015, slow.line);
  // Workers that ran nothing profiled print no empty table.
  for (const x of tables.slice(1)) assert.ok(x.split("\n").some((l) => ROW.test(l)), x);
});

test(
  "profile --all --functions keeps classes, accessors, generators and directives working",
  SLOW,
  async () => {
    const r = await run(
      "--all",
      "--functions",
      "-q",
      "-o",
      join(dir, "c.lprof.json"),
      `${F}/constructs.ts`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split("\n")[0], '[4,5,1,3,1,2,1,0,1,"x"]'); // as run unprofiled
    const t = rows(r.stderr);
    const at = (line: number, name: string) =>
      row(t, `${F}/constructs.ts:${line}(${name})`, r.stderr);
    assert.equal(at(5, "Base.constructor").calls, 2);
    assert.equal(at(14, "Derived.constructor").calls, 1);
    assert.equal(at(55, "<for await>").calls, 3);
    assert.equal(at(23, "<await>").calls, 2);
  },
);

test(
  "profile --functions works when an import cycle calls a function before its module ran",
  SLOW,
  async () => {
    const r = await run("--functions", `${F}/cycle_main.ts`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split("\n")[0], "3"); // as run unprofiled
    const t = rows(r.stderr);
    assert.equal(row(t, `${F}/cycle_main.ts:5(one)`, r.stderr).calls, 3);
    assert.equal(row(t, `${F}/cycle_helper.ts:6(two)`, r.stderr).calls, 1);
  },
);
