// The npm package as a user gets it: `npm pack` of the checkout (prepack builds dist/), the
// tarball installed from the file into a new project, and there the `rayprof` command under Deno
// and under Bun (node_modules/.bin, npx, bunx --bun), a script importing "rayprof" and
// "npm:rayprof" that starts workers, and the message when neither runtime is on PATH.
// Runs under Deno (it drives both runtimes as child processes).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { loadLineStats } from "../profile/line/stats.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "node_modules", ".bin");
const SKIP = "Bun" in globalThis ? "driven from Deno: it runs Deno and Bun itself" : false;

let dir = "";
let project = "";
let tarball = "";
let files: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(file, args, {
      cwd: options.cwd ?? project,
      env: {
        ...process.env,
        NO_COLOR: "1",
        PATH: `${BIN}:${process.env.PATH}`,
        npm_config_update_notifier: "false",
        ...options.env,
      },
      maxBuffer: 1 << 24,
      timeout: 240_000,
      killSignal: "SIGKILL",
    }, (error, stdout, stderr) => {
      const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

const SCRIPT = `// @profile
function work(n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += i;
  return t;
}
console.log("sum", work(100000), "Bun" in globalThis ? "bun" : "deno");
`;

const IMPORTER = (specifier: string) =>
  `import * as ray from "${specifier}";
ray.init({ numCpus: 2 });
const sq = ray.remote((x: number) => x * x);
console.log(JSON.stringify(await ray.get([sq.remote(3), sq.remote(4)])));
ray.shutdown();
`;

before(async () => {
  if (SKIP) return;
  dir = mkdtempSync(join(tmpdir(), "rayprof-pkg-"));
  const pack = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: ROOT });
  assert.equal(pack.code, 0, pack.stderr);
  const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("[")))[0];
  tarball = join(dir, info.filename);
  files = info.files.map((f: { path: string }) => f.path);
  project = join(dir, "project");
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "project", private: true, type: "module" }),
  );
  const install = await run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    tarball,
  ]);
  assert.equal(install.code, 0, install.stderr);
  writeFileSync(join(project, "s.ts"), SCRIPT);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the tarball holds the product, README, LICENSE and CHANGELOG only", { skip: SKIP }, () => {
  const outside = files.filter((f) =>
    !f.startsWith("dist/") &&
    !["npm/rayprof.mjs", "package.json", "README.md", "LICENSE", "CHANGELOG.md"].includes(f)
  );
  assert.deepEqual(outside, []);
  for (const f of ["dist/mod.js", "dist/mod.d.ts", "dist/cli.js", "dist/runtime/worker.js"]) {
    assert(files.includes(f), f);
  }
  assert(!files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "TypeScript sources");
});

/** The report of s.ts, run in `runtime`. */
async function assertProfiled(r: Run, runtime: string) {
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `sum 4999950000 ${runtime}\n`);
  assert.match(r.stderr, /Function: work at line 1/, r.stderr);
  assert.match(r.stderr, /^\s+4\s+100001\s/m, r.stderr);
  const stats = await loadLineStats(join(project, "s.ts.lprof.json"));
  assert.deepEqual(stats.functions.map((f) => f.name), ["work"]);
  rmSync(join(project, "s.ts.lprof.json"));
}

for (const runtime of ["deno", "bun"]) {
  test(`node_modules/.bin/rayprof profile under ${runtime}`, { skip: SKIP }, async () => {
    const r = await run(join(project, "node_modules", ".bin", "rayprof"), ["profile", "s.ts"], {
      env: { RAYPROF_RUNTIME: runtime },
    });
    await assertProfiled(r, runtime);
  });
}

test("npx rayprof picks Deno, the first on PATH", { skip: SKIP }, async () => {
  const r = await run("npx", ["--no-install", "rayprof", "profile", "s.ts"]);
  await assertProfiled(r, "deno");
  const show = await run("npx", ["--no-install", "rayprof", "show", "--help"]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^Usage: rayprof show \[options\] FILE\.\.\./);
  const usage = await run("npx", ["--no-install", "rayprof", "profile"]);
  assert.equal(usage.code, 2);
  assert.equal(usage.stderr, "error: Missing SCRIPT: 'rayprof profile SCRIPT'\n");
});

test("bunx --bun rayprof runs the CLI in Bun itself", { skip: SKIP }, async () => {
  // Deno is on PATH too, and first: the command runs in the runtime that runs it.
  const r = await run(join(BIN, "bunx"), ["--bun", "rayprof", "profile", "s.ts"]);
  await assertProfiled(r, "bun");
});

test("the command says what to install when neither Deno nor Bun is on PATH", {
  skip: SKIP,
}, async () => {
  const only = join(dir, "only-node");
  mkdirSync(only, { recursive: true });
  const node = (await run("node", ["-p", "process.execPath"])).stdout.trim();
  if (!existsSync(join(only, "node"))) symlinkSync(node, join(only, "node"));
  const r = await run(
    join(only, "node"),
    [join(project, "node_modules", ".bin", "rayprof"), "profile", "s.ts"],
    { env: { PATH: only, RAYPROF_RUNTIME: "" } },
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /rayprof runs on Deno or Bun, and neither is on PATH/);
  const wrong = await run(join(project, "node_modules", ".bin", "rayprof"), ["--help"], {
    env: { RAYPROF_RUNTIME: "node" },
  });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /RAYPROF_RUNTIME must be "deno" or "bun", not "node"/);
});

test('import * as ray from "rayprof" under Deno and Bun, "npm:rayprof" under Deno', {
  skip: SKIP,
}, async () => {
  writeFileSync(join(project, "bare.ts"), IMPORTER("rayprof"));
  writeFileSync(join(project, "npm.ts"), IMPORTER("npm:rayprof"));
  for (
    const [exe, args] of [
      [process.execPath, ["run", "-A", "bare.ts"]],
      [process.execPath, ["run", "-A", "npm.ts"]],
      [join(BIN, "bun"), ["bare.ts"]],
    ] as const
  ) {
    const r = await run(exe, [...args]);
    assert.equal(r.code, 0, `${exe} ${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "[9,16]\n", `${exe} ${args.join(" ")}`);
  }
});
