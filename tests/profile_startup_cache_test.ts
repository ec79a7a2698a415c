// The cache of instrumented modules that makes `cli.ts profile` start fast: cli.ts as a user runs
// it (a subprocess of the runtime running the tests), each test with its own cache directory.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runHost, scriptArgs } from "./_run_host.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "cli.ts");
let dir = "";
let n = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "rayprof-cache-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], env: Record<string, string>) =>
  runHost(scriptArgs([CLI, ...args]), dir, env);

/** A script (and a module it imports) in a directory of its own, and an empty cache. */
function setUp() {
  const sub = join(dir, `case${++n}`);
  const cache = join(sub, "cache");
  const script = join(sub, "main.ts");
  mkdirSync(sub, { recursive: true });
  writeFileSync(
    join(sub, "lib.ts"),
    "// @profile\nexport function lib(n: number): number {\n  return n * 2;\n}\n",
  );
  writeFileSync(
    script,
    'import { lib } from "./lib.ts";\n// @profile\nfunction main(): number {\n  return lib(21);\n}\nconsole.log("result", main());\n',
  );
  const profile = (...extra: string[]) =>
    cli(["profile", "-o", join(sub, "out.json"), "--overwrite", ...extra, script], {
      RAYPROF_CACHE_DIR: cache,
    });
  return { sub, cache, script, profile };
}

function entries(cache: string): string[] {
  try {
    return readdirSync(cache).filter((f) => f.startsWith("m-")).sort();
  } catch {
    return [];
  }
}

/** The cache entry holding a module's instrumentation. */
function entryOf(cache: string, path: string): string {
  const found = entries(cache).filter((f) =>
    JSON.parse(readFileSync(join(cache, f), "utf8")).path === path
  );
  assert.equal(found.length, 1, `one entry for ${path}: ${found}`);
  return join(cache, found[0]);
}

/** The report's rows of a function: line number, hits. */
function hits(report: string, fn: string): string[] {
  const block = report.split("Total time:").find((b) => b.includes(`Function: ${fn} `)) ?? "";
  return [...block.matchAll(/^ +(\d+) +(\d+) /gm)].map((m) => `${m[1]}:${m[2]}`);
}

test("a second run uses the cached instrumentation of the script and its imports", async () => {
  const { cache, script, sub, profile } = setUp();
  const first = await profile();
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^result 42$/m);
  assert.deepEqual(hits(first.stderr, "main"), ["4:1"]);
  assert.deepEqual(hits(first.stderr, "lib"), ["3:1"]);
  assert.equal(entries(cache).length, 2);
  // Mark the cached code of lib.ts: if the next run prints the mark, it ran the cached module.
  const file = entryOf(cache, join(sub, "lib.ts"));
  const entry = JSON.parse(readFileSync(file, "utf8"));
  entry.code = `console.log("from the cache");\n${entry.code}`;
  writeFileSync(file, JSON.stringify(entry));
  const second = await profile();
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^from the cache$/m);
  assert.match(second.stdout, /^result 42$/m);
  assert.deepEqual(hits(second.stderr, "main"), ["4:1"]);
  assert.deepEqual(hits(second.stderr, "lib"), ["3:1"]);
  assert.equal(entries(cache).length, 2);
  assert.ok(entryOf(cache, script));
});

test("an edited module is instrumented again", async () => {
  const { cache, sub, profile } = setUp();
  assert.equal((await profile()).code, 0);
  const file = entryOf(cache, join(sub, "lib.ts"));
  const entry = JSON.parse(readFileSync(file, "utf8"));
  entry.code = `console.log("from the cache");\n${entry.code}`;
  writeFileSync(file, JSON.stringify(entry));
  // Two more lines above the function: its rows move down.
  writeFileSync(
    join(sub, "lib.ts"),
    "const k = 2;\n\n// @profile\nexport function lib(n: number): number {\n  return n * k;\n}\n",
  );
  const r = await profile();
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /from the cache/);
  assert.match(r.stdout, /^result 42$/m);
  assert.deepEqual(hits(r.stderr, "lib"), ["5:1"]);
  assert.deepEqual(hits(r.stderr, "main"), ["4:1"]);
  // The new text replaced the old entry: one entry per module, however often it is edited.
  assert.equal(entries(cache).length, 2);
});

test("a corrupt or mismatched cache entry is ignored and replaced", async () => {
  const { cache, script, sub, profile } = setUp();
  assert.equal((await profile()).code, 0);
  const mainEntry = entryOf(cache, script);
  writeFileSync(entryOf(cache, join(sub, "lib.ts")), '{"format":1,"code":"console.log(');
  const entry = JSON.parse(readFileSync(mainEntry, "utf8"));
  entry.source = entry.source.replace("21", "22"); // as if the hash named another text
  entry.code = `console.log("stale");\n${entry.code}`;
  writeFileSync(mainEntry, JSON.stringify(entry));
  const r = await profile();
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /stale/);
  assert.match(r.stdout, /^result 42$/m);
  assert.deepEqual(hits(r.stderr, "lib"), ["3:1"]);
  for (const f of entries(cache)) JSON.parse(readFileSync(join(cache, f), "utf8"));
  const again = await profile();
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /stale/);
  assert.deepEqual(hits(again.stderr, "main"), ["4:1"]);
});

test("--no-cache and RAYPROF_NO_CACHE=1 neither read nor write the cache", async () => {
  const { cache, script, sub } = setUp();
  const args = ["profile", "-o", join(sub, "out.json"), script];
  const flag = await cli([...args.slice(0, 1), "--no-cache", ...args.slice(1)], {
    RAYPROF_CACHE_DIR: cache,
  });
  assert.equal(flag.code, 0, flag.stderr);
  assert.deepEqual(entries(cache), []);
  const env = await cli(args, { RAYPROF_CACHE_DIR: cache, RAYPROF_NO_CACHE: "1" });
  assert.equal(env.code, 0, env.stderr);
  assert.deepEqual(hits(env.stderr, "lib"), ["3:1"]);
  assert.deepEqual(entries(cache), []);
  // And a cached entry is not read when the cache is off.
  assert.equal((await cli(args, { RAYPROF_CACHE_DIR: cache })).code, 0);
  const file = entryOf(cache, join(sub, "lib.ts"));
  const entry = JSON.parse(readFileSync(file, "utf8"));
  entry.code = `console.log("from the cache");\n${entry.code}`;
  writeFileSync(file, JSON.stringify(entry));
  const off = await cli([...args.slice(0, 1), "--no-cache", ...args.slice(1)], {
    RAYPROF_CACHE_DIR: cache,
  });
  assert.doesNotMatch(off.stdout, /from the cache/);
});

test("a module the last run did not load is instrumented when a warm run meets it", async () => {
  // The first run lists only main.ts; the second also imports lib.ts (chosen at run time), after
  // starting without the parser as everything it expected was cached.
  const { cache, sub } = setUp();
  const script = join(sub, "dynamic.ts");
  writeFileSync(
    script,
    'import process from "node:process";\n// @profile\nasync function main(): Promise<number> {\n  if (!process.env.LOAD_LIB) return 0;\n  const { lib } = await import("./lib.ts");\n  return lib(21);\n}\nconsole.log("result", await main());\n',
  );
  const args = ["profile", "-o", join(sub, "out.json"), "--overwrite", script];
  const first = await cli(args, { RAYPROF_CACHE_DIR: cache });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^result 0$/m);
  const second = await cli(args, { RAYPROF_CACHE_DIR: cache, LOAD_LIB: "1" });
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^result 42$/m);
  assert.deepEqual(hits(second.stderr, "lib"), ["3:1"]);
  assert.equal(entries(cache).length, 2);
  // A syntax error in such a module is reported as usual.
  writeFileSync(join(sub, "lib.ts"), "export function lib(n: number) {\n  return n *;\n}\n");
  const bad = await cli(args, { RAYPROF_CACHE_DIR: cache, LOAD_LIB: "1" });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /lib\.ts as it has a syntax error at line 2/);
});

test("runs writing the same cache at once all succeed and leave whole entries", async () => {
  const { cache, profile } = setUp();
  const runs = await Promise.all([profile(), profile(), profile(), profile()]);
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(hits(r.stderr, "lib"), ["3:1"]);
  }
  const files = readdirSync(cache);
  assert.deepEqual(files.filter((f) => f.endsWith(".tmp")), []);
  assert.equal(entries(cache).length, 2);
  // (Deno: a run that found the others' entries wrote copies of the modules, a directory.)
  for (const f of files) if (!f.endsWith(".tree")) JSON.parse(readFileSync(join(cache, f), "utf8"));
});
