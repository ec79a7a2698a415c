// Deno's fast start (profile/instrument/_copy_mode.ts): a run whose modules are all cached imports copies
// of them instead of hooking module loading. cli.ts as a user runs it, each test with its own
// scripts and cache; every warm run is compared with the script run plainly and with the first
// (hooked) run. Under Bun the same runs must give the same output, with no copies made.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runHost } from "./_run_host.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "cli.ts");
const MOD = pathToFileURL(join(ROOT, "mod.ts")).href;
const IS_BUN = "Bun" in globalThis;
let dir = "";
let n = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "rayprof-copies-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const run = runHost;

/** Scripts in a directory of their own, and the commands that run them. */
function setUp(files: Record<string, string>) {
  const sub = join(dir, `case${++n}`);
  const cache = join(sub, "cache");
  mkdirSync(sub, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(sub, name), text);
  const script = join(sub, "main.ts");
  const plain = (...args: string[]) =>
    run(IS_BUN ? [script, ...args] : ["run", "-A", script, ...args], sub);
  const profile = (...args: string[]) =>
    run(
      [
        ...(IS_BUN ? [] : ["run", "-A"]),
        CLI,
        "profile",
        "-o",
        join(sub, "out.json"),
        "--overwrite",
        script,
        ...args,
      ],
      sub,
      { RAYPROF_CACHE_DIR: cache },
    );
  /** The copy of a module, if the last runs made one. */
  const copyOf = (name: string): string | undefined => {
    if (!existsSync(cache)) return undefined;
    for (const d of readdirSync(cache)) {
      if (!d.endsWith(".tree")) continue;
      const file = join(cache, d, join(sub, name) + ".js");
      if (existsSync(file)) return readFileSync(file, "utf8");
    }
    return undefined;
  };
  return { sub, script, plain, profile, copyOf };
}

/** The report's rows of a function: line number, hits. */
function hits(report: string, fn: string): string[] {
  const block = report.split("Total time:").find((b) => b.includes(`Function: ${fn} `)) ?? "";
  return [...block.matchAll(/^ +(\d+) +(\d+) /gm)].map((m) => `${m[1]}:${m[2]}`);
}

const MAIN = `import { helper, twice } from "./dep.ts";
import data from "./data.json" with { type: "json" };
import * as ray from ${JSON.stringify(MOD)};
// @profile
function main(n: number): number {
  console.log("meta", import.meta.url, import.meta.main, import.meta.filename, import.meta.dirname);
  console.log("resolve", import.meta.resolve("./x.ts"));
  return twice(n) + data.v;
}
console.log("result", main(3), typeof ray.init, helper.name);
try { helper(-1); } catch (e) { console.log("stack", (e as Error).stack); }
`;
const DEP = `// @profile
export function twice(n: number): number {
  return n * 2;
}
export function helper(n: number): number {
  if (n < 0) throw new Error("negative in " + import.meta.url + " main=" + import.meta.main);
  return n;
}
`;

test("a warm run starts from copies and behaves as the script run plainly", async () => {
  const { plain, profile, copyOf } = setUp({
    "main.ts": MAIN,
    "dep.ts": DEP,
    "data.json": '{ "v": 100 }\n',
  });
  const expected = await plain();
  assert.equal(expected.code, 0, expected.stderr);
  assert.match(expected.stdout, /^result 106 function helper$/m);
  assert.match(expected.stdout, /^stack Error: negative in file:\/\/\/.*\/dep\.ts main=false\n/m);
  // (Bun's frames show paths, and a column of its own.)
  assert.match(expected.stdout, /at helper \((file:\/\/)?\/.*\/dep\.ts:6:\d+\)/);
  assert.match(expected.stdout, /at (file:\/\/)?\/.*\/main\.ts:11:7/);
  const first = await profile();
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, expected.stdout);
  assert.equal(copyOf("main.ts"), undefined, "the first run hooks the loader");
  const second = await profile();
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, expected.stdout);
  assert.deepEqual(hits(second.stderr, "main"), hits(first.stderr, "main"));
  assert.deepEqual(hits(second.stderr, "twice"), hits(first.stderr, "twice"));
  assert.deepEqual(hits(second.stderr, "twice"), ["3:1"]);
  if (IS_BUN) {
    assert.equal(copyOf("main.ts"), undefined, "Bun hooks the loader in every run");
    return;
  }
  const copy = copyOf("main.ts");
  assert.ok(copy, "the warm run wrote a copy of the script");
  assert.ok(copyOf("dep.ts"), "and of the module it imports");
  assert.equal(copy.split("\n").length >= MAIN.split("\n").length, true);
  assert.match(copy, /from "\.\/dep\.ts\.js"/);
  assert.match(copy, /"file:\/\/\/[^"]*\/data\.json" with/);
  // A third run finds its copies as they are and behaves the same.
  const third = await profile();
  assert.equal(third.stdout, expected.stdout);
});

test("an edited module is instrumented again, then copied anew", async () => {
  const { sub, profile, copyOf } = setUp({
    "main.ts": 'import { twice } from "./dep.ts";\nconsole.log("result", twice(5));\n',
    "dep.ts": DEP,
  });
  await profile();
  const warm = await profile();
  assert.match(warm.stdout, /^result 10$/m);
  writeFileSync(join(sub, "dep.ts"), DEP.replace("n * 2", "n * 3"));
  const edited = await profile();
  assert.equal(edited.code, 0, edited.stderr);
  assert.match(edited.stdout, /^result 15$/m);
  const next = await profile();
  assert.match(next.stdout, /^result 15$/m);
  assert.deepEqual(hits(next.stderr, "twice"), ["3:1"]);
  if (!IS_BUN) assert.match(copyOf("dep.ts") ?? "", /n \* 3/);
});

test("an import() of a string is copied; a computed one, or a bare specifier, is hooked", async () => {
  const literal = setUp({
    "main.ts": 'const { twice } = await import("./dep.ts");\nconsole.log("result", twice(4));\n',
    "dep.ts": DEP,
  });
  await literal.profile();
  const warm = await literal.profile();
  assert.equal(warm.code, 0, warm.stderr);
  assert.match(warm.stdout, /^result 8$/m);
  assert.deepEqual(hits(warm.stderr, "twice"), ["3:1"]);
  if (!IS_BUN) assert.match(literal.copyOf("main.ts") ?? "", /import\("\.\/dep\.ts\.js"\)/);
  for (
    const main of [
      'const name = "dep";\nconst { twice } = await import(`./${name}.ts`);\nconsole.log("result", twice(4));\n',
      'import { twice } from "./dep.ts";\nimport { sep } from "node:path";\nimport "rayprof-no-such-package";\nconsole.log("result", twice(4), sep);\n',
      // An import() the last run did not make: its module would run uninstrumented from a copy.
      'import { twice } from "./dep.ts";\nif (Deno.args.length) await import("./other.ts");\nconsole.log("result", twice(4));\n',
    ]
  ) {
    const { plain, profile, copyOf } = setUp({
      "main.ts": main,
      "dep.ts": DEP,
      "other.ts":
        "// @profile\nexport function other() {\n  return 1;\n}\nconsole.log('other', other());\n",
    });
    const expected = await plain();
    const first = await profile();
    const second = await profile();
    assert.equal(second.code, expected.code, second.stderr);
    assert.equal(first.code, expected.code, first.stderr);
    if (expected.code === 0) {
      assert.match(second.stdout, /^result 8/m);
      assert.deepEqual(hits(second.stderr, "twice"), ["3:1"]);
    }
    assert.equal(copyOf("main.ts"), undefined);
    assert.equal(copyOf("dep.ts"), undefined);
  }
});

test("a copied script sees its own arguments in Deno.args and process.argv", async () => {
  for (
    const main of [
      // The global `process` only: loaded when first read.
      '// @profile\nfunction f() {\n  return process.argv.slice(2).join(",");\n}\nconsole.log("argv", f(), typeof Deno === "object" ? Deno.args.join(",") : "-", process.argv[1].endsWith("main.ts"));\n',
      // node:process imported: set before the script runs.
      'import proc from "node:process";\n// @profile\nfunction f() {\n  return proc.argv.slice(2).join(",");\n}\nconsole.log("argv", f(), typeof Deno === "object" ? Deno.args.join(",") : "-", proc.argv[1].endsWith("main.ts"));\n',
    ]
  ) {
    const { plain, profile, copyOf } = setUp({ "main.ts": main });
    const expected = await plain("a", "--b=1");
    assert.match(expected.stdout, /^argv a,--b=1 .* true$/m);
    await profile("a", "--b=1");
    const warm = await profile("a", "--b=1");
    assert.equal(warm.code, 0, warm.stderr);
    assert.equal(warm.stdout, expected.stdout);
    if (!IS_BUN) assert.ok(copyOf("main.ts"), "the warm run started from a copy");
  }
});

test("a copied script that throws or sets its exit code ends as it would plainly", async () => {
  const { plain, profile, copyOf } = setUp({
    "main.ts":
      '// @profile\nfunction f(n: number) {\n  if (n > 2) throw new RangeError("too big: " + n);\n  return n;\n}\nDeno.exitCode = 3;\nconsole.log(f(1));\nf(5);\n',
  });
  if (IS_BUN) return; // Deno.exitCode: a Deno script
  const expected = await plain();
  assert.equal(expected.code, 1);
  await profile();
  const warm = await profile();
  assert.ok(copyOf("main.ts"));
  assert.equal(warm.code, 1, warm.stderr);
  // The error as Deno prints it for the plain run: message, source line, frames at the user's lines.
  assert.match(
    expected.stderr,
    /RangeError: too big: 5\n[\s\S]*at f \(file:\/\/\/.*\/main\.ts:3:20\)/,
  );
  assert.equal(warm.stderr.slice(0, expected.stderr.length), expected.stderr);
  assert.deepEqual(hits(warm.stderr, "f"), ["3:2", "4:1"]);
  assert.match(warm.stderr, /Wrote profile results/);
});

test("a copied script's run ends normally: reports written, workers' stats merged", async () => {
  const { sub, profile, copyOf } = setUp({
    "main.ts": `import * as ray from ${JSON.stringify(MOD)};
// @profile
export function square(x: number): number {
  return x * x;
}
const squareRemote = ray.remote(square);
const refs = [1, 2, 3, 4].map((x) => squareRemote.remote(x));
console.log("sum", (await ray.get(refs)).reduce((a, b) => a + b, 0));
`,
  });
  const trace = join(sub, "trace.json");
  await profile();
  const warm = await run(
    [
      ...(IS_BUN ? [] : ["run", "-A"]),
      CLI,
      "profile",
      "--timeline",
      trace,
      "-o",
      join(sub, "out.json"),
      "--overwrite",
      join(sub, "main.ts"),
    ],
    sub,
    { RAYPROF_CACHE_DIR: join(sub, "cache") },
  );
  assert.equal(warm.code, 0, warm.stderr);
  assert.match(warm.stdout, /^sum 30$/m);
  if (!IS_BUN) assert.ok(copyOf("main.ts"), "the warm run started from a copy");
  // The 4 calls ran in workers: their counts come back only when the run shuts the runtime down.
  assert.deepEqual(hits(warm.stderr, "square"), ["4:4"]);
  assert.match(warm.stderr, /Tasks by function/);
  const events = JSON.parse(readFileSync(trace, "utf8")).traceEvents as { name: string }[];
  assert.equal(events.filter((e) => e.name === "square").length, 4);
});

test("a copied script without tasks also ends normally (its --timeline is written)", async () => {
  const { sub, copyOf } = setUp({
    "main.ts": "// @profile\nfunction f(n: number) {\n  return n + 1;\n}\nconsole.log(f(1));\n",
  });
  const trace = join(sub, "trace.json");
  const profile = () =>
    run(
      [
        ...(IS_BUN ? [] : ["run", "-A"]),
        CLI,
        "profile",
        "-q",
        "--timeline",
        trace,
        "-o",
        join(sub, "out.json"),
        join(sub, "main.ts"),
      ],
      sub,
      { RAYPROF_CACHE_DIR: join(sub, "cache") },
    );
  await profile();
  rmSync(trace, { force: true });
  const warm = await profile();
  assert.equal(warm.code, 0, warm.stderr);
  if (!IS_BUN) assert.ok(copyOf("main.ts"), "the warm run started from a copy");
  assert.ok(existsSync(trace), `no trace written: ${warm.stderr}`);
  assert.ok(Array.isArray(JSON.parse(readFileSync(trace, "utf8")).traceEvents));
});

test("Deno: the script's deno.json import map applies to its modules, hooked and copied", async () => {
  if (IS_BUN) return; // deno.json is Deno's
  const { sub, plain, profile, copyOf } = setUp({
    // Comments and a trailing comma: deno.jsonc is read as Deno reads it.
    "deno.jsonc":
      '{\n  // the script\'s own map\n  "imports": {\n    "mylib": "./lib/twice.ts",\n    "helpers/": "./lib/",\n  },\n}\n',
    "main.ts":
      'import { twice } from "mylib";\nimport { third } from "helpers/third.ts";\nconsole.log("result", twice(5), third(9), import.meta.resolve("mylib").endsWith("/lib/twice.ts"), import.meta.resolve("helpers/x.ts").endsWith("/lib/x.ts"));\n',
  });
  mkdirSync(join(sub, "lib"));
  writeFileSync(join(sub, "lib", "twice.ts"), DEP);
  writeFileSync(
    join(sub, "lib", "third.ts"),
    "// @profile\nexport function third(n: number): number {\n  return n / 3;\n}\n",
  );
  const expected = await plain();
  assert.equal(expected.code, 0, expected.stderr);
  assert.equal(expected.stdout, "result 10 3 true true\n");
  const first = await profile();
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, expected.stdout);
  assert.deepEqual(hits(first.stderr, "twice"), ["3:1"]);
  assert.deepEqual(hits(first.stderr, "third"), ["3:1"]);
  const second = await profile();
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, expected.stdout);
  assert.deepEqual(hits(second.stderr, "twice"), ["3:1"]);
  assert.deepEqual(hits(second.stderr, "third"), ["3:1"]);
  assert.ok(copyOf("main.ts"), "the warm run started from copies");
  assert.ok(copyOf("lib/twice.ts"));
});

test("a run list cut short (a run that ended while loading, or one running at the same time) is not copied", async () => {
  const { sub, profile, copyOf } = setUp({
    "main.ts": 'import { twice } from "./dep.ts";\nconsole.log("result", twice(6));\n',
    "dep.ts": DEP,
  });
  const first = await profile();
  assert.equal(first.code, 0, first.stderr);
  // Leave the entry alone in the run list, as a run that is still loading dep.ts has it.
  const cache = join(sub, "cache");
  const lists = readdirSync(cache).filter((f) => /^run-.*\.json$/.test(f));
  assert.equal(lists.length, 1);
  const list = JSON.parse(readFileSync(join(cache, lists[0]), "utf8")) as [string, ...unknown[]][];
  writeFileSync(
    join(cache, lists[0]),
    JSON.stringify(list.filter(([path]) => path.endsWith("main.ts"))),
  );
  const cut = await profile();
  assert.equal(cut.code, 0, cut.stderr);
  assert.match(cut.stdout, /^result 12$/m);
  assert.deepEqual(hits(cut.stderr, "twice"), ["3:1"], "dep.ts instrumented");
  assert.equal(copyOf("main.ts"), undefined);
});
