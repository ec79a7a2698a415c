// The REPL's evaluation semantics, driven through piped stdin (no prompts, no colours), on Deno
// and on Bun.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const RUNTIMES = {
  deno: [ROOT + "node_modules/.bin/deno", "run", "-A", ROOT + "repl.ts"],
  bun: [ROOT + "node_modules/.bin/bun", ROOT + "repl.ts"],
};

interface Run {
  out: string;
  err: string;
  code: number | null;
}

/** Pipes `input` into the REPL (cwd: the repository) and collects its output. */
function repl(runtime: keyof typeof RUNTIMES, input: string, args: string[] = []): Promise<Run> {
  const [cmd, ...rest] = RUNTIMES[runtime];
  return new Promise((resolve) => {
    const child = spawn(cmd, [...rest, ...args], {
      cwd: ROOT,
      env: { ...process.env, RAYPROF_REPL_HISTORY: "", NO_COLOR: "", FORCE_COLOR: "" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ out, err, code }));
    child.stdin.end(input);
  });
}

/** The output without the timing lines. */
function values(out: string): string[] {
  return out.split("\n").filter((l) => l !== "" && !l.startsWith("took "));
}

for (const runtime of ["deno", "bun"] as const) {
  test(`repl (${runtime}) keeps declarations across inputs, strips types, awaits, sets _ and _error`, async () => {
    const r = await repl(
      runtime,
      [
        "const x: number = 40",
        "let y = x + 1",
        "function f<T>(a: T): T[] {",
        "  return [a, a]",
        "}",
        "class Point { constructor(public readonly x: number) {} }",
        "interface Shape { area(): number }",
        "type Id = string",
        "enum Colour { Red, Green }",
        "const { a, b: [c] } = { a: 1, b: [2] }",
        "f(y + 1)",
        "_.length",
        "new Point(3).x + a + c + Colour.Green",
        "await new Promise((r) => setTimeout(() => r('slept'), 10))",
        "{ k: 1 }",
        "y = y * 2; y",
        "throw new RangeError('nope')",
        "_error.message",
        "let x2 = 1; let x2b = 2",
        "let x2 = 5",
        "x2",
        "",
      ].join("\n"),
    );
    assert.equal(r.err, "");
    assert.deepEqual(values(r.out).slice(0, 10), [
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      "[ 42, 42 ]",
      "2",
    ]);
    const rest = values(r.out).slice(10);
    assert.equal(rest[0], "7");
    assert.equal(rest[1], "'slept'");
    assert.equal(rest[2], "{ k: 1 }");
    assert.equal(rest[3], "82");
    assert.equal(rest[4], "Uncaught RangeError: nope");
    assert.match(rest[5], /^\s+at .*input 15 line 1/);
    assert.equal(rest[6], "'nope'");
    assert.equal(rest.at(-1), "5", "a let may be declared again, as in Deno's REPL");
    // Every input is followed by its timing line.
    assert.equal(r.out.split("\n").filter((l) => /^took \d+\.\d{4} s$/.test(l)).length, 19);
    assert.ok(!r.out.includes("\x1b["), "no colours when piped");
    assert.doesNotMatch(r.out, /^> /m, "no prompts when piped");
    assert.equal(r.code, 1, "exit code 1 as an input threw");
  });

  test(`repl (${runtime}) imports relative to the working directory, and import() too`, async () => {
    const r = await repl(
      runtime,
      [
        'import def, { triple, square as sq } from "./tests/fixtures/repl/helper_module.ts"',
        "triple(4)",
        "def",
        'const m = await import("./tests/fixtures/repl/helper_module.ts")',
        "m.triple(5)",
        "await get(sq.remote(9))",
        'import * as ns from "./tests/fixtures/repl/helper_module.ts"',
        "ns.triple === triple",
        "",
      ].join("\n"),
    );
    assert.equal(r.err, "");
    assert.deepEqual(values(r.out), [
      "undefined",
      "12",
      "'the default export'",
      "undefined",
      "15",
      "81",
      "undefined",
      "true",
    ]);
    assert.match(r.out, /took \d+\.\d{4} s · 1 task on 1 worker · parallelism/);
    assert.equal(r.code, 0);
  });

  test(`repl (${runtime}) runs remote functions typed in it in workers, with the API as globals there`, async () => {
    const r = await repl(
      runtime,
      [
        "init({ numCpus: 2 })",
        "const sq = remote((n: number) => n * n)",
        "const who = ray.remote(function who() { sleepSync(1); return typeof ray.get })",
        "await get([1, 2, 3].map((n) => sq.remote(n)))",
        "await ray.get(who.remote())",
        "const k = 10",
        "const bad = remote(function bad(n: number) { return n + k })",
        "await get(bad.remote(1))",
        "",
      ].join("\n"),
    );
    const v = values(r.out);
    assert.equal(v[3], "[ 1, 4, 9 ]");
    assert.equal(v[4], "'function'");
    assert.match(
      r.out,
      /warning: Remote function 'bad' \(line 1\) uses 'k' from this session, which its workers cannot see/,
    );
    assert.match(r.out, /Uncaught TaskError: .*ReferenceError: k is not defined/);
    assert.match(r.out, /took \d+\.\d{4} s · 3 tasks on [12] workers? · parallelism \d+\.\dx/);
  });

  test(`repl (${runtime}) says how long the first tasks waited for the workers it started`, async () => {
    const r = await repl(
      runtime,
      [
        "const nap = remote(function nap() { sleepSync(20); return 1 })",
        "await get([nap.remote(), nap.remote()])",
        "await get([nap.remote(), nap.remote()])",
        "",
      ].join("\n"),
    );
    const took = r.out.split("\n").filter((l) => l.startsWith("took ") && l.includes("task"));
    assert.equal(took.length, 2, r.out);
    // The runtime starts on first use: its workers start while the first input waits.
    const m = /· ([\d.]+) s starting workers$/.exec(took[0]);
    assert.ok(m && Number(m[1]) >= 0.01, `first: ${took[0]}`);
    assert.doesNotMatch(took[1], /starting/, "the workers were ready for the second");
    assert.equal(r.code, 0);
  });

  test(`repl (${runtime}) continues multi-line input until it is complete`, async () => {
    const r = await repl(
      runtime,
      [
        "const o = {",
        "  list: [",
        "    1,",
        "    2,",
        "  ],",
        "}",
        "const s = `a",
        "b`",
        "/* a comment",
        "   over lines */ o.list.length + s.length",
        "1 +",
        "2",
        "let broken = ;",
        "'after the error'",
        "",
      ].join("\n"),
    );
    assert.deepEqual(values(r.out).filter((l) => !l.startsWith(" ") && !l.includes("|")), [
      "undefined",
      "undefined",
      "5",
      "3",
      "Uncaught SyntaxError: Unexpected token",
      "'after the error'",
    ]);
  });
}

test("repl commands: .timing, .save, .load, .help, unknown commands, .exit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rayprof-repl-"));
  try {
    const saved = join(dir, "session.ts");
    const loaded = join(dir, "load_me.ts");
    writeFileSync(loaded, "const fromFile: string = 'loaded'\nfunction loadedFn() { return 7 }\n");
    const r = await repl(
      "deno",
      [
        ".timing off",
        "1 + 1",
        ".timing",
        ".timing on",
        "const kept = 'yes'",
        `.save ${saved}`,
        `.load ${loaded}`,
        "fromFile + loadedFn()",
        ".help",
        ".nope",
        ".5 + 1",
        ".exit",
        "'not evaluated'",
        "",
      ].join("\n"),
    );
    const lines = r.out.split("\n");
    assert.deepEqual(lines.slice(0, 4), ["Timing is off", "2", "Timing is off", "Timing is on"]);
    assert.equal(readFileSync(saved, "utf8"), "1 + 1\nconst kept = 'yes'\n");
    assert.match(r.out, /Saved 2 inputs to /);
    assert.match(r.out, /^'loaded7'$/m);
    assert.match(r.out, /^ {2}\.profile EXPR/m);
    assert.match(r.out, /^Unknown command '\.nope': type \.help for the list$/m);
    assert.match(r.out, /^1\.5$/m, "a number is not a command");
    assert.doesNotMatch(r.out, /not evaluated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("repl .profile prints the line profile of the session's functions it calls", async () => {
  const r = await repl(
    "deno",
    [
      "function add(a: number, b: number): number {",
      "  let s = 0;",
      "  for (let i = 0; i < 100; i++) {",
      "    s += a * b;",
      "  }",
      "  return s;",
      "}",
      "const twice = (x: number) => add(x, x) * 2;",
      "function unused() { return 0 }",
      ".profile twice(3)",
      "twice(1)",
      "",
    ].join("\n"),
  );
  assert.equal(r.err, "");
  assert.match(r.out, /^1800$/m);
  assert.match(r.out, /Timer unit: 1e-06 s/);
  assert.match(r.out, /Function: add at line 1/);
  assert.match(r.out, /File: input 1\b/);
  // Hits: the loop test runs 101 times, its body 100 times.
  assert.match(
    r.out,
    /^\s+3\s+101\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+for \(let i = 0; i < 100; i\+\+\) \{$/m,
  );
  assert.match(r.out, /^\s+4\s+100\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+s \+= a \* b;$/m);
  assert.match(r.out, /Function: twice at line 1/);
  assert.doesNotMatch(r.out, /Function: unused/);
  // The session's own functions are back after .profile.
  assert.match(r.out, /^200$/m);
});

test("repl --num-cpus starts the runtime; bad options are refused", async () => {
  const ok = await repl("deno", "runtimeInfo().numCpus\n", ["--num-cpus", "3"]);
  assert.match(ok.out, /^3$/m);
  const bad = await repl("deno", "", ["--num-cpus", "0"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.out,
    /Cannot start the REPL as --num-cpus must be a positive integer: received 0/,
  );
  const unknown = await repl("deno", "", ["--frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.out, /'--frobnicate' is not a known option/);
});

for (const runtime of ["deno", "bun"] as const) {
  test(`repl (${runtime}) .profile also profiles functions imported from a module`, async () => {
    const input = [
      'import { triple, square } from "./tests/fixtures/repl/helper_module.ts"',
      ".profile triple(2) + (await get(square.remote(3)))",
      "triple(3)",
      "",
    ].join("\n");
    const r = await repl(runtime, input);
    assert.equal(r.err, "");
    assert.match(r.out, /^15$/m);
    assert.match(
      r.out,
      /File: tests\/fixtures\/repl\/helper_module\.ts\nFunction: triple at line 4/,
    );
    assert.match(r.out, /^\s+5\s+1\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+const t = n \* 3;$/m);
    assert.doesNotMatch(r.out, /Function: square/, "remote functions run in workers, unprofiled");
    assert.match(r.out, /^9$/m, "the module's own function is back");
    const left = readdirSync(join(ROOT, "tests/fixtures/repl")).filter((f) => f.startsWith("."));
    assert.deepEqual(left, [], "no instrumented copy is left behind");
  });
}

test("cli.ts repl starts the same REPL", async () => {
  const r = await new Promise<Run>((resolve) => {
    const child = spawn(RUNTIMES.deno[0], ["run", "-A", ROOT + "cli.ts", "repl", "--no-timing"], {
      cwd: ROOT,
      env: { ...process.env, RAYPROF_REPL_HISTORY: "" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ out, err, code }));
    child.stdin.end("typeof ray.remote\n");
  });
  assert.equal(r.out, "'function'\n");
  assert.equal(r.code, 0);
});

test("repl .load resolves the file's imports relative to it; warnings come before the run", async () => {
  const r = await repl(
    "deno",
    [
      ".load tests/fixtures/repl/load_me.ts",
      "nine() + (await get(cube.remote(2)))",
      "const k = 1",
      "const f = remote(() => k); console.log('ran')",
      "",
    ].join("\n"),
  );
  assert.equal(r.err, "");
  assert.match(r.out, /^17$/m);
  assert.equal((r.out.match(/warning:/g) ?? []).length, 1, "ray from the file is not flagged");
  assert.match(r.out, /warning: Remote function 'anonymous' \(line 1\) uses 'k'[^\n]*\nran\n/);
});
