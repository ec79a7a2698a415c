// deno-lint-ignore-file no-regex-spaces -- kernprof rows are aligned with runs of spaces
// cli.ts as a user runs it: a subprocess of the runtime running the tests (Deno or Bun).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { main } from "../cli.ts";
import { loadLineStats } from "../profile/line/stats.ts";
import { type Run, runHost, scriptArgs } from "./_run_host.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "cli.ts");
const FIX = join(ROOT, "tests", "fixtures", "profile");
const IS_BUN = "Bun" in globalThis;
let dir = "";

before(() => {
  dir = mkdtempSync(join(tmpdir(), "rayprof-cli-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runHost(scriptArgs([CLI, ...args]), dir, { NO_COLOR: "", ...env });
}

function noInternalStack(r: Run) {
  assert.doesNotMatch(r.stderr, /^\s+at /m, r.stderr);
}

test("main() prints help and exits 0", async () => {
  let out = "";
  const io = { stdout: (t: string) => out += t, stderr: (t: string) => out += t, isTTY: false };
  assert.equal(await main(["--help"], io), 0);
  assert.match(out, /^rayprof: /);
  out = "";
  assert.equal(await main(["profile", "--help"], io), 0);
  assert.match(out, /^Usage: cli.ts profile \[options\] SCRIPT \[ARGS...\]/);
  assert.match(out, /--skip-zero/);
  out = "";
  assert.equal(await main(["show", "-h"], io), 0);
  assert.match(out, /^Usage: cli.ts show/);
});

test("main() rejects bad usage with exit code 2", async () => {
  let err = "";
  const io = { stdout: () => {}, stderr: (t: string) => err += t, isTTY: false };
  assert.equal(await main([], io), 2);
  assert.equal(await main(["frobnicate"], io), 2);
  assert.match(err, /Unknown command 'frobnicate'/);
  err = "";
  assert.equal(await main(["profile", "--bogus", "x.ts"], io), 2);
  assert.match(err, /^error: Unknown option '--bogus' \(see 'cli.ts profile --help'\)/);
  err = "";
  assert.equal(await main(["profile", "-u", "zero", "x.ts"], io), 2);
  assert.equal(err, "error: Invalid --unit 'zero': expected a positive number of seconds\n");
  err = "";
  assert.equal(await main(["profile"], io), 2);
  assert.equal(err, "error: Missing SCRIPT: 'cli.ts profile SCRIPT'\n");
  err = "";
  assert.equal(await main(["show", join(dir, "nope.json")], io), 2);
  assert.match(err, /Cannot show '.*nope\.json' as it does not exist/);
});

test("cli.ts profile reports a missing script, a directory and a non-script (exit 2)", async () => {
  writeFileSync(join(dir, "notes.txt"), "hello\n");
  mkdirSync(join(dir, "adir"), { recursive: true });
  const [missing, directory, text] = await Promise.all([
    cli(["profile", "missing.ts"]),
    cli(["profile", "adir"]),
    cli(["profile", "notes.txt"]),
  ]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, "error: Cannot profile 'missing.ts' as it does not exist\n");
  assert.equal(directory.code, 2);
  assert.equal(directory.stderr, "error: Cannot profile 'adir' as it is a directory\n");
  assert.equal(text.code, 2);
  assert.match(
    text.stderr,
    /^error: Cannot profile 'notes.txt' as it is not a TypeScript or JavaScript file/,
  );
  for (const r of [missing, directory, text]) noInternalStack(r);
});

test("cli.ts profile reports a syntax error with file:line:col and a code frame (exit 2)", async () => {
  writeFileSync(join(dir, "lib_bad.ts"), "export function f() {\n  return 1 +;\n}\n");
  writeFileSync(join(dir, "bad.ts"), "const a = 1;\nfunction g() {\n  let = ;\n}\n");
  writeFileSync(
    join(dir, "imports_bad.ts"),
    'import { f } from "./lib_bad.ts";\nconsole.log(f());\n',
  );
  const [r, r2] = await Promise.all([
    cli(["profile", "bad.ts"]),
    cli(["profile", "imports_bad.ts"]),
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^error: Cannot profile .*bad\.ts as it has a syntax error at line 3, column \d+: /,
  );
  assert.match(r.stderr, /--> .*bad\.ts:3:\d+\n/);
  assert.match(r.stderr, /> 3 \|   let = ;\n +\| +\^/);
  noInternalStack(r);
  assert.equal(r.stdout, "");
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /lib_bad\.ts:2:\d+\n/);
  noInternalStack(r2);
});

test("cli.ts profile reports a marker above nothing (exit 2)", async () => {
  writeFileSync(
    join(dir, "marker.ts"),
    "const a = 1;\n// @profile\nconst b = 2;\nconsole.log(a + b);\n",
  );
  const r = await cli(["profile", "marker.ts"]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^error: Cannot profile .*marker\.ts as the @profile marker at line 2 is not directly above a function, method or class\n  --> .*marker\.ts:2:1\n/,
  );
  noInternalStack(r);
});

test("cli.ts profile runs the script, prints kernprof's report and saves results", async () => {
  const out = join(dir, "basic.json");
  const r = await cli(["profile", "-o", out, "--overwrite", join(FIX, "basic.ts"), "a", "b"]);
  assert.equal(r.code, 0, r.stderr);
  // The script's output alone on stdout; the report on stderr.
  assert.equal(r.stdout, "work 20\nwaits xa,b\n");
  assert.match(r.stderr, /^\nTimer unit: 1e-06 s\n\nTotal time: [\d.e-]+ s\n/);
  assert.match(r.stderr, /\nFile: .*basic\.ts\nFunction: work at line 9\n\n/);
  assert.ok(
    r.stderr.includes(
      "Line #      Hits         Time  Per Hit   % Time  Line Contents\n" +
        "==============================================================\n" +
        "     9                                           // @profile\n" +
        "    10                                           function work(n: number): number {\n",
    ),
    r.stderr,
  );
  // the loop header: 6 hits for 5 iterations; the busy line dominates
  assert.match(
    r.stderr,
    /\n    12         6 +[\d.]+ +[\d.]+ +[\d.]+ +for \(let i = 0; i < n; i\+\+\) \{\n/,
  );
  const busy = /\n    13         5 +([\d.]+) +[\d.]+ +([\d.]+) +busy\(20\);\n/.exec(r.stderr);
  assert.ok(busy, r.stderr);
  assert.ok(Number(busy[2]) > 90, `busy share ${busy[2]}`);
  assert.ok(Number(busy[1]) >= 90_000, `busy time ${busy[1]} µs`);
  assert.ok(!r.stderr.includes("\x1b[")); // not a terminal: no colour
  assert.match(r.stderr, /Wrote profile results to .*basic\.json/);
  const stats = await loadLineStats(out);
  assert.deepEqual(stats.functions.map((f) => f.name), ["work", "waits"]);
  const show = await cli(["show", out]);
  assert.equal(show.code, 0);
  const report = r.stderr.slice(r.stderr.indexOf("Timer unit"), r.stderr.indexOf("Wrote profile"));
  assert.equal(show.stdout, report);
});

test("cli.ts profile options -u, -z, -q, --summarize and merging runs", async () => {
  const out = join(dir, "o.json");
  const script = join(FIX, "outcomes.ts");
  const r = await cli(["profile", "-u", "1e-3", "-z", "--summarize", "-o", out, script]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\nTimer unit: 0\.001 s\n/);
  assert.match(r.stderr, /Function: step at line 4\n/);
  assert.doesNotMatch(r.stderr, /Function: neverCalled/); // -z
  assert.match(r.stderr, /\n +\d+\.\d\d seconds - .*outcomes\.ts:4 - step\nWrote profile results/);
  const all = await cli(["profile", "-o", out, script]);
  assert.match(all.stderr, /Function: neverCalled at line 11\n/); // listed, no timings
  assert.match(all.stderr, /\n    13                                             return 0;\n/);
  const q = await cli(["profile", "-q", "-o", out, script]);
  assert.equal(q.stdout, "step 45\nend function\n");
  // three runs merged into the file: 3 calls, 33 loop-header hits
  const stats = await loadLineStats(out);
  const step = stats.functions.find((f) => f.name === "step")!;
  assert.equal(step.lines.find((l) => l.line === 6)?.hits, 3);
  assert.equal(step.lines.find((l) => l.line === 7)?.hits, 33);
  await cli(["profile", "-q", "--overwrite", "-o", out, script]);
  const fresh = await loadLineStats(out);
  assert.equal(fresh.functions.find((f) => f.name === "step")!.lines[0].hits, 1);
});

test("cli.ts profile still writes and shows results when the script fails or exits early", async () => {
  const script = join(FIX, "outcomes.ts");
  const runs = await Promise.all(
    ["throw", "exit", "reject", "code"].map((how) =>
      cli(["profile", "--overwrite", "-o", join(dir, `${how}.json`), script, how])
    ),
  );
  const [thrown, exited, rejected, coded] = runs;
  assert.equal(thrown.code, 1);
  assert.match(thrown.stderr, /top-level failure/);
  assert.equal(exited.code, 3);
  assert.equal(rejected.code, 1);
  assert.match(rejected.stderr, /async failure/);
  assert.equal(coded.code, 4);
  for (const [i, how] of ["throw", "exit", "reject", "code"].entries()) {
    const r = runs[i];
    assert.match(r.stderr, /Function: step at line 4/, `${how}: ${r.stdout}\n${r.stderr}`);
    assert.ok(existsSync(join(dir, `${how}.json`)), how);
  }
  if (!IS_BUN) {
    const d = await cli(["profile", "--overwrite", "-o", join(dir, "d.json"), script, "denoexit"]);
    assert.equal(d.code, 6);
    assert.match(d.stderr, /Function: step at line 4/);
  }
  const rej = await loadLineStats(join(dir, "reject.json"));
  // the rejected async function ran its lines before failing
  assert.equal(rej.functions.find((f) => f.name === "later")?.lines.length, 3);
});

test("cli.ts profile --all, --func and --module choose functions", async () => {
  const script = join(FIX, "select_main.ts");
  const lib = join(FIX, "select_lib.ts");
  const names = async (args: string[]) => {
    const out = join(dir, `sel${Math.random()}.json`);
    const r = await cli(["profile", "-q", "-o", out, ...args, script]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "10\n");
    const s = await loadLineStats(out);
    return s.functions.map((f) => `${f.file === lib ? "lib" : "main"}:${f.name}`).sort();
  };
  const [all, func, mod] = await Promise.all([
    names(["--all"]),
    names(["--func", "shared"]),
    names(["--module", lib]),
  ]);
  assert.deepEqual(all, [
    "lib:fromLib",
    "lib:libOther",
    "lib:shared",
    "main:mainOnly",
    "main:shared",
  ]);
  assert.deepEqual(func, ["lib:shared", "main:shared"]);
  assert.deepEqual(mod, ["lib:fromLib", "lib:libOther", "lib:shared"]);
});

test("cli.ts profile colours only on a terminal and never with NO_COLOR", async () => {
  let out = "";
  const io = { stdout: (t: string) => out += t, stderr: () => {}, isTTY: true };
  const file = join(dir, "colour.json");
  await cli(["profile", "-q", "-o", file, join(FIX, "basic.ts")]);
  const saved = process.env.NO_COLOR;
  try {
    delete process.env.NO_COLOR;
    assert.equal(await main(["show", file], io), 0);
    assert.ok(out.includes("\x1b["));
    out = "";
    process.env.NO_COLOR = "1";
    assert.equal(await main(["show", file], io), 0);
    assert.ok(!out.includes("\x1b["));
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
});

test("cli.ts profile writes and shows results when interrupted with Ctrl-C", async () => {
  const out = join(dir, "int.json");
  const argv = IS_BUN ? [CLI] : ["run", "-A", CLI];
  const child = spawn(
    process.execPath,
    [...argv, "profile", "-o", out, join(FIX, "interrupt.ts")],
    {
      cwd: dir,
    },
  );
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<string>((resolve) =>
    child.on("exit", (code, signal) => resolve(`${code} ${signal}`))
  );
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no 'ready' in time: ${stdout}`)), 30_000);
    child.stdout.on("data", (d) => {
      stdout += d;
      if (stdout.includes("ready")) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  child.kill("SIGINT");
  // exit code 130, or death by SIGINT after the results were written: both mean "interrupted"
  assert.match(await exited, /^(130 null|null SIGINT)$/);
  assert.match(stderr, /Function: forever at line 2/);
  const stats = await loadLineStats(out);
  const hits = stats.functions[0].lines.find((l) => l.line === 6)?.hits ?? 0;
  assert.ok(hits >= 2, `await line hits: ${hits}`);
});

test("cli.ts profile and other decorators: profiled under Bun, a clear error under Deno", async () => {
  writeFileSync(
    join(dir, "deco.ts"),
    `function logged(_value: unknown, context: { name: string | symbol }): void {
  console.log("decorating", String(context.name));
}
class A {
  @logged
  m() {
    return 1;
  }
}
// @profile
function f() {
  return new A().m();
}
console.log(f());
`,
  );
  const r = await cli(["profile", "-q", "-o", join(dir, "deco.json"), "deco.ts"]);
  if (IS_BUN) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "decorating m\n1\n");
  } else {
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: Cannot profile .*deco\.ts under Deno as it uses decorators other than @profile/,
    );
    assert.match(r.stderr, /--> .*deco\.ts:5:3\n/);
    noInternalStack(r);
  }
});
