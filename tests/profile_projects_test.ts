// cli.ts profile on real projects (issue 12): fixture monorepos (a Deno workspace, a Bun workspace
// with tsconfig paths), configuration flags, JSX settings, symlinked folders, paths with spaces and
// non-ASCII names, uncaught errors, and whole test suites under --test, including this project's
// own runtime tests. Every run is compared with a plain run of the same runtime, in the same test.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Run, runHost, scriptArgs } from "./_run_host.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "cli.ts");
const FIXTURES = join(ROOT, "tests", "fixtures");
const IS_BUN = "Bun" in globalThis;
const ONLY_DENO = IS_BUN && "a Deno project (Bun's counterpart is its own test)";
const ONLY_BUN = !IS_BUN && "a Bun project (Deno's counterpart is its own test)";
/** Each test runs several processes: more than bun test's 5 s default. */
const SLOW = { timeout: 300_000 };
let dir = "";

before(() => {
  // A space and non-ASCII letters in every path the profiler sees.
  dir = join(mkdtempSync(join(tmpdir(), "rayprof projects-")), "my prøjects ü");
  mkdirSync(dir, { recursive: true });
});
after(() => rmSync(dirname(dir), { recursive: true, force: true }));

/** A fresh cache directory: the first run with it is cold, the next ones warm. */
function freshCache(): string {
  return mkdtempSync(join(dirname(dir), "cache-"));
}

/** Copies a fixture (its committed node_modules symlinks kept as links) into the temp folder. */
function copyFixture(name: string, as: string): string {
  const to = join(dir, as);
  execFileSync("cp", ["-a", join(FIXTURES, name), to]);
  return to;
}

function plain(args: string[], cwd: string): Promise<Run> {
  return runHost(scriptArgs(args), cwd);
}

function profile(args: string[], cwd: string, cache: string): Promise<Run> {
  return runHost(scriptArgs([CLI, "profile", ...args]), cwd, { RAYPROF_CACHE_DIR: cache });
}

/** `file:function` of every function in a kernprof report. */
function profiled(report: string): Set<string> {
  const out = new Set<string>();
  for (const [, file, fn] of report.matchAll(/^File: (.+)\nFunction: (.+) at line \d+$/gm)) {
    out.add(`${file}:${fn}`);
  }
  return out;
}

/** The hits of `line` in the table of `fn` in a kernprof report. */
function hitsOf(report: string, fn: string, line: number): number {
  const table = report.split(/^Total time: /m).find((t) => t.includes(`Function: ${fn} at line`));
  assert.ok(table, `no table of ${fn} in:\n${report}`);
  const row = table.match(new RegExp(`^\\s+${line}\\s+(\\d+)\\s`, "m"));
  assert.ok(row, `no hits on line ${line} of ${fn}:\n${table}`);
  return Number(row[1]);
}

function assertSuperset(actual: Set<string>, expected: string[], report: string) {
  const missing = expected.filter((e) => !actual.has(e));
  assert.deepEqual(missing, [], report);
}

function noInternalStack(r: Run) {
  assert.doesNotMatch(r.stderr, /profile\/(run|instrument|host)\/|cli\.ts:\d+/, r.stderr);
}

const DENO_EXPECTED = [
  "packages/app/main.ts:main",
  "packages/app/late.ts:late",
  "packages/app/worker.ts:work",
  "packages/core/math.ts:square",
  "packages/core/math.ts:sumTo",
  "packages/core/mod.ts:core",
  "packages/data/mod.ts:squares",
  "packages/util/mod.ts:util",
  "vendor/units.ts:unit",
];

test(
  "a Deno workspace: every module profiled with --all, stdout byte for byte a plain run's, cold and warm",
  {
    ...SLOW,
    skip: ONLY_DENO,
  },
  async () => {
    const root = copyFixture("monorepo_deno", "deno ws");
    const args = ["packages/app/main.ts", "one", "two words"];
    const want = await plain(args, root);
    assert.equal(want.code, 0, want.stderr);
    assert.match(want.stdout, /^core\(70\) via shared for everyone \| util sees shared for util/);
    assert.match(want.stdout, /^true one two words$/m);
    assert.match(want.stdout, /^worker says 72$/m);
    const cache = freshCache();
    for (const run of ["cold", "warm", "warm again"]) {
      const r = await profile(["--all", "-o", join(root, "out.json"), ...args], root, cache);
      assert.equal(r.code, 0, `${run}: ${r.stderr}`);
      assert.equal(r.stdout, want.stdout, run);
      assertSuperset(profiled(r.stderr), DENO_EXPECTED, r.stderr);
      // square: 8 calls from the driver (the JSON table's rows) and 1 in the user's Worker.
      assert.equal(hitsOf(r.stderr, "square", 3), 9, `${run}: ${r.stderr}`);
      assert.match(r.stderr, /^Wrote profile results to .*out\.json$/m);
      noInternalStack(r);
    }
    // The other modes resolve alike: markers only, the function profiler, the sample clock.
    for (const mode of [[], ["--functions"], ["--sample", "--all"]]) {
      const r = await profile([...mode, "-o", join(root, "m.json"), ...args], root, cache);
      assert.equal(r.code, 0, `${mode}: ${r.stderr}`);
      assert.equal(r.stdout, want.stdout, mode.join(" "));
      if (mode[0] === "--functions") {
        assert.match(r.stderr, /^\s+8\s.* packages\/core\/math\.ts:2\(square\)$/m, r.stderr);
      }
    }
  },
);

test("a Deno workspace through a symlinked folder runs as plainly as through its real path", {
  ...SLOW,
  skip: ONLY_DENO,
}, async () => {
  const real = copyFixture("monorepo_deno", "linked target");
  const link = join(dir, "a link");
  symlinkSync(real, link);
  const args = ["packages/app/main.ts"];
  const want = await plain(args, link);
  assert.equal(want.code, 0, want.stderr);
  const cache = freshCache();
  for (const run of ["cold", "warm"]) {
    const r = await profile(["--all", "-q", "-o", join(real, "out.json"), ...args], link, cache);
    assert.equal(r.code, 0, `${run}: ${r.stderr}`);
    assert.equal(r.stdout, want.stdout, run);
  }
});

test("a Bun workspace: package.json workspaces and imports, tsconfig paths, bunfig preload", {
  ...SLOW,
  skip: ONLY_BUN,
}, async () => {
  const root = copyFixture("monorepo_bun", "bun ws");
  const args = ["app/main.ts", "x", "y z"];
  const want = await plain(args, root);
  assert.equal(want.code, 0, want.stderr);
  assert.match(want.stdout, /^preloaded$/m);
  assert.match(want.stdout, /^true x y z$/m);
  assert.match(want.stdout, /^worker says 72$/m);
  const cache = freshCache();
  for (const run of ["cold", "warm"]) {
    const r = await profile(["--all", "-o", join(root, "out.json"), ...args], root, cache);
    assert.equal(r.code, 0, `${run}: ${r.stderr}`);
    assert.equal(r.stdout, want.stdout, run);
    assertSuperset(profiled(r.stderr), [
      "app/main.ts:main",
      "app/late.ts:late",
      "app/worker.ts:work",
      "libs/units.ts:unit",
      "packages/core/math.ts:square",
      "packages/core/mod.ts:core",
      "packages/data/mod.ts:squares",
      "packages/util/mod.ts:util",
    ], r.stderr);
    assert.equal(hitsOf(r.stderr, "square", 3), 9, `${run}: ${r.stderr}`);
    noInternalStack(r);
  }
  const link = join(dir, "bun link");
  symlinkSync(root, link);
  const viaLink = await plain(args, link);
  const r = await profile(["--all", "-q", "-o", join(root, "l.json"), ...args], link, cache);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, viaLink.stdout);
});

test(
  "remote tasks of a workspace run in the runtime's workers with the workspace's resolution",
  SLOW,
  async () => {
    const root = copyFixture(IS_BUN ? "monorepo_bun" : "monorepo_deno", "tasks ws");
    const app = IS_BUN ? join(root, "app") : join(root, "packages", "app");
    const scope = IS_BUN ? "@bfix" : "@fixture";
    writeFileSync(
      join(app, "tasks.ts"),
      `import { util } from "${scope}/util";\nimport { square } from "${scope}/core/math";\n\n` +
        `export function job(n: number): string {\n  return \`\${util(n)} / \${square(n)}\`;\n}\n`,
    );
    writeFileSync(
      join(app, "ray_main.ts"),
      `import * as ray from ${
        JSON.stringify(join(ROOT, "mod.ts"))
      };\nimport { job } from "./tasks.ts";\n\n` +
        `ray.init({ numCpus: 2 });\nconst remoteJob = ray.remote(job);\n` +
        `console.log(await ray.get([1, 2, 3].map((n) => remoteJob.remote(n))));\nawait ray.shutdown();\n`,
    );
    const script = join(app, "ray_main.ts");
    const want = await plain([script], root);
    assert.equal(want.code, 0, want.stderr);
    assert.match(want.stdout, /core\(42\).* \/ 9/);
    const cache = freshCache();
    for (const run of ["cold", "warm"]) {
      const r = await profile(["--all", "-o", join(root, "o.json"), script], root, cache);
      assert.equal(r.code, 0, `${run}: ${r.stderr}`);
      assert.equal(r.stdout, want.stdout, run);
      // Each call ran in a worker: its hits came back from there.
      assert.equal(hitsOf(r.stderr, "job", 5), 3, r.stderr);
      assert.equal(hitsOf(r.stderr, "square", 3), 3, r.stderr);
    }
  },
);

const JSX_RUNTIME = `export function jsx(type: string, props: Record<string, unknown>): string {
  const { children, ...rest } = props;
  const attrs = Object.entries(rest).map(([k, v]) => \` \${k}="\${v}"\`).join("");
  const inner = Array.isArray(children) ? children.join("") : children ?? "";
  return \`<\${type}\${attrs}>\${inner}</\${type}>\`;
}
export const jsxs = jsx;
export const jsxDEV = jsx;
export const Fragment = "";
`;
const PAGE = `function Item(n: number): string {
  return <li class="item">{n * 2}</li>;
}
console.log(<ul>{[1, 2, 3].map(Item)}</ul>);
`;

test(
  "JSX is transpiled as the project's configuration says (automatic runtime, its import source)",
  SLOW,
  async () => {
    const root = join(dir, "jsx app");
    mkdirSync(root);
    writeFileSync(join(root, "page.tsx"), PAGE);
    if (IS_BUN) {
      const pkg = join(root, "node_modules", "tiny");
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, "jsx-runtime.ts"), JSX_RUNTIME);
      writeFileSync(
        join(pkg, "package.json"),
        JSON.stringify({
          name: "tiny",
          exports: { "./jsx-runtime": "./jsx-runtime.ts", "./jsx-dev-runtime": "./jsx-runtime.ts" },
        }),
      );
      writeFileSync(
        join(root, "tsconfig.json"),
        JSON.stringify({ compilerOptions: { jsx: "react-jsx", jsxImportSource: "tiny" } }),
      );
    } else {
      writeFileSync(join(root, "jsx_runtime.ts"), JSX_RUNTIME);
      writeFileSync(
        join(root, "deno.jsonc"),
        `{
  // JSONC, as Deno reads it
  "compilerOptions": { "jsx": "react-jsx", "jsxImportSource": "tiny", },
  "imports": { "tiny/jsx-runtime": "./jsx_runtime.ts", "tiny/jsx-dev-runtime": "./jsx_runtime.ts" },
}
`,
      );
    }
    const want = await plain(["page.tsx"], root);
    assert.equal(want.code, 0, want.stderr);
    assert.equal(
      want.stdout,
      '<ul><li class="item">2</li><li class="item">4</li><li class="item">6</li></ul>\n',
    );
    const cache = freshCache();
    for (const run of ["cold", "warm"]) {
      const r = await profile(["--all", "-o", join(root, "out.json"), "page.tsx"], root, cache);
      assert.equal(r.code, 0, `${run}: ${r.stderr}`);
      assert.equal(r.stdout, want.stdout, run);
      assert.equal(hitsOf(r.stderr, "Item", 2), 3, r.stderr);
    }
  },
);

test("--config and --import-map are passed to Deno; importMap in deno.json is followed", {
  ...SLOW,
  skip: ONLY_DENO,
}, async () => {
  const root = join(dir, "flags");
  mkdirSync(join(root, "conf"), { recursive: true });
  mkdirSync(join(root, "lib"));
  mkdirSync(join(root, "mapped"));
  writeFileSync(join(root, "lib", "a.ts"), 'export function who(): string {\n  return "a";\n}\n');
  writeFileSync(join(root, "lib", "b.ts"), 'export function who(): string {\n  return "b";\n}\n');
  const main = 'import { who } from "lib";\nconsole.log(who());\n';
  writeFileSync(join(root, "main.ts"), main);
  writeFileSync(join(root, "conf", "a.json"), JSON.stringify({ imports: { lib: "../lib/a.ts" } }));
  writeFileSync(join(root, "map_b.json"), JSON.stringify({ imports: { lib: "./lib/b.ts" } }));
  // A project whose deno.json names its import map by file.
  writeFileSync(join(root, "mapped", "main.ts"), main);
  writeFileSync(join(root, "mapped", "deno.json"), JSON.stringify({ importMap: "../map_b.json" }));
  const cache = freshCache();
  const cases: [string[], string, string][] = [
    [["--config", "conf/a.json"], "main.ts", "a"],
    [["-c", "conf/a.json"], "main.ts", "a"],
    [["--import-map", "map_b.json"], "main.ts", "b"],
    [["--import-map", "map_b.json", "--config", "conf/a.json"], "main.ts", "b"],
    [[], "mapped/main.ts", "b"],
  ];
  for (const [flags, script, who] of cases) {
    const want = await plain([...flags, script], root);
    assert.equal(want.stdout, `${who}\n`, `${flags}: ${want.stderr}`);
    for (const run of ["cold", "warm"]) {
      const r = await profile([...flags, "--all", "-o", join(root, "o.json"), script], root, cache);
      assert.equal(r.code, 0, `${flags} ${run}: ${r.stderr}`);
      assert.equal(r.stdout, want.stdout, `${flags} ${run}`);
      assert.ok(profiled(r.stderr).has(`lib/${who}.ts:who`), r.stderr);
    }
  }
  // Without the flags the import does not resolve: the runtime's own error, not the profiler's.
  const unmapped = await plain(["main.ts"], root);
  const r = await profile(["--all", "main.ts"], root, cache);
  assert.notEqual(unmapped.code, 0);
  assert.equal(r.code, unmapped.code);
  // Deno's hint line ("If you want to use the npm package...") is the one line not repeated.
  const expected = unmapped.stderr.replace(/^ {2}hint: .*\n/m, "").replace(/\n+$/, "");
  assert.ok(r.stderr.startsWith(expected), `${unmapped.stderr}\n---\n${r.stderr}`);
  noInternalStack(r);
});

test(
  "--config and --import-map under Bun: a usage error, exit 2",
  { ...SLOW, skip: ONLY_BUN },
  async () => {
    const r = await profile(["--config", "x.json", "main.ts"], dir, freshCache());
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "error: Cannot use --config or --import-map under Bun: Bun reads tsconfig.json, package.json and bunfig.toml by itself\n",
    );
  },
);

test(
  "an uncaught error prints as in a plain run: the same message, frames, paths and lines",
  SLOW,
  async () => {
    const root = join(dir, "throws");
    mkdirSync(root);
    writeFileSync(
      join(root, "lib.ts"),
      'export function boom(n: number): number {\n  if (n > 2) throw new Error("too big: " + n);\n  return n;\n}\n',
    );
    writeFileSync(
      join(root, "main.ts"),
      'import { boom } from "./lib.ts";\nconsole.log(boom(1));\nconsole.log(boom(5));\n',
    );
    const want = await plain(["main.ts"], root);
    assert.equal(want.code, 1);
    const cache = freshCache();
    for (const run of ["cold", "warm"]) {
      const r = await profile(["--all", "-o", join(root, "o.json"), "main.ts"], root, cache);
      assert.equal(r.code, want.code, run);
      assert.equal(r.stdout, want.stdout, run);
      // The error comes first, then the report of what ran until then.
      const error = r.stderr.slice(0, want.stderr.length);
      if (IS_BUN) {
        // Bun does not apply the source maps of plugin output: columns (and the caret under the
        // line) can differ on lines with probes. Message, files and lines are the plain run's.
        const noColumns = (s: string) => s.replace(/(\.ts:\d+):\d+/g, "$1").replace(/^ *\^\n/m, "");
        assert.equal(
          noColumns(r.stderr).slice(0, noColumns(want.stderr).length),
          noColumns(want.stderr),
        );
      } else {
        assert.equal(error, want.stderr, run);
      }
      assert.match(r.stderr, /Function: boom at line 1/);
      noInternalStack(r);
    }
  },
);

test(
  "what cannot be profiled: one message naming the file and the reason, exit 2, no stack",
  SLOW,
  async () => {
    const root = join(dir, "bad");
    mkdirSync(root);
    writeFileSync(join(root, "syntax.ts"), "export const ok = 1;\nconst x = ;\n");
    writeFileSync(join(root, "main.ts"), 'import { ok } from "./syntax.ts";\nconsole.log(ok);\n');
    const r = await profile(["--all", "main.ts"], root, freshCache());
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^error: Cannot profile .*my prøjects ü\/bad\/syntax\.ts as it has a syntax error at line 2, column 11: /,
    );
    assert.match(r.stderr, /^ {2}--> .*\/bad\/syntax\.ts:2:11$/m);
    noInternalStack(r);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    // An import that does not resolve is the program's own error: the runtime's message, as plain.
    writeFileSync(join(root, "missing.ts"), 'import { x } from "./nowhere.ts";\nconsole.log(x);\n');
    const want = await plain(["missing.ts"], root);
    const m = await profile(["--all", "missing.ts"], root, freshCache());
    assert.notEqual(want.code, 0);
    assert.equal(m.code, want.code);
    assert.ok(
      m.stderr.startsWith(want.stderr.replace(/\n+$/, "")),
      `${want.stderr}\n---\n${m.stderr}`,
    );
    noInternalStack(m);
  },
);

const DENO_SUITE = {
  "math.ts":
    "export function fib(n: number): number {\n  return n < 2 ? n : fib(n - 1) + fib(n - 2);\n}\n",
  "a_test.ts": `import assert from "node:assert/strict";
import { test } from "node:test";
import { fib } from "./math.ts";

Deno.test("fib 10", () => assert.equal(fib(10), 55));
test("fib 1 (node:test)", () => assert.equal(fib(1), 1));
`,
  "b_test.ts": `import assert from "node:assert/strict";
import { fib } from "./math.ts";

Deno.test("fib 5 is wrong on purpose", () => assert.equal(fib(5), 6));
Deno.test("fib 6", () => assert.equal(fib(6), 8));
`,
};

const BUN_SUITE = {
  "math.ts": DENO_SUITE["math.ts"],
  "a.test.ts": `import { expect, test } from "bun:test";
import { fib } from "./math.ts";

test("fib 10", () => expect(fib(10)).toBe(55));
test("fib 1", () => expect(fib(1)).toBe(1));
`,
  "b.test.ts": `import { expect, test } from "bun:test";
import { fib } from "./math.ts";

test("fib 5 is wrong on purpose", () => expect(fib(5)).toBe(6));
test("fib 6", () => expect(fib(6)).toBe(8));
`,
};

/** The runner's count lines: Deno's "ok | 3 passed | 1 failed", Bun's " 3 pass" and " 1 fail". */
function counts(output: string): string {
  const deno = output.match(/^(ok|FAILED) \| \d+ passed.*\| \d+ failed/m);
  if (deno) return deno[0];
  return [...output.matchAll(/^ *(\d+ (?:pass|fail))$/gm)].map((m) => m[1]).join(", ");
}

test(
  "--test: a folder of tests runs with the runner's counts and exit code, then the report",
  SLOW,
  async () => {
    const root = join(dir, "suite");
    mkdirSync(join(root, "tests"), { recursive: true });
    for (const [name, text] of Object.entries(IS_BUN ? BUN_SUITE : DENO_SUITE)) {
      writeFileSync(join(root, "tests", name), text);
    }
    const runner = IS_BUN ? ["test", "./tests/"] : ["test", "-A", "tests/"];
    const want = await runHost(runner, root);
    assert.equal(want.code, 1, want.stdout + want.stderr);
    const wantCounts = counts(want.stdout + want.stderr);
    assert.match(wantCounts, IS_BUN ? /^3 pass, 1 fail$/ : /3 passed \| 1 failed/);
    const r = await profile(
      ["--all", "-o", join(root, "t.json"), "--test", IS_BUN ? "./tests/" : "tests/"],
      root,
      freshCache(),
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(
      counts(r.stdout + r.stderr).replace(/ \(\d+m?s\)$/, ""),
      wantCounts.replace(/ \(\d+m?s\)$/, ""),
    );
    assert.match(r.stderr, /^File: tests\/math\.ts\nFunction: fib at line 1$/m);
    // fib(10) + fib(1) + fib(5) + fib(6): 177 + 1 + 15 + 25 calls.
    assert.equal(hitsOf(r.stderr, "fib", 2), 218, r.stderr);
    noInternalStack(r);
  },
);

test(
  "dogfood: this project's runtime tests under --all --test pass as many as plainly",
  SLOW,
  async () => {
    const files = ["runtime_test.ts", "runtime_channel_test.ts", "runtime_faults_test.ts"]
      .map((f) => `./tests/${f}`);
    const runner = IS_BUN ? ["test", ...files] : ["test", "-A", "--no-check", ...files];
    const env = { RAYPROF_CACHE_DIR: freshCache() };
    const want = await runHost(runner, ROOT, env, { timeout: 300_000 });
    assert.equal(want.code, 0, want.stdout + want.stderr);
    const out = join(dir, "dogfood.json");
    const r = await runHost(
      scriptArgs([
        CLI,
        "profile",
        "-q",
        "--all",
        "-o",
        out,
        "--test",
        ...files,
        ...(IS_BUN ? [] : ["--no-check"]),
      ]),
      ROOT,
      env,
      { timeout: 300_000 },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const strip = (s: string) => s.replace(/ \(\d+(\.\d+)?m?s\)$/, "");
    const wantCounts = strip(counts(want.stdout + want.stderr));
    assert.match(wantCounts, IS_BUN ? /^\d\d+ pass, 0 fail$/ : /ok \| \d\d+ passed/);
    assert.equal(strip(counts(r.stdout + r.stderr)), wantCounts);
    assert.match(r.stderr, /^Wrote profile results to .*dogfood\.json$/m);
  },
);
