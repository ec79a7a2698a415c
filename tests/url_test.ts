// rayprof run from a URL, as a Deno user runs a tool: the checkout served over HTTP on 127.0.0.1
// (`.ts` as application/typescript), and `deno run -A URL/cli.ts`, `deno run -A URL/repl.ts` and
// the command `deno install -g` makes from the URL, all from a folder with no configuration file.
// The remote modules land in Deno's cache under a new port each run (never stale); oxc's npm
// packages are fetched from the registry once and then come from that cache.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { loadLineStats } from "../profile/line/stats.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SKIP = "Bun" in globalThis ? "Bun has no URL imports (Bun users install from npm)" : false;

let server: Server | undefined;
let url = "";
let dir = "";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file` with `args` in the temporary folder, killed after `timeout` ms. */
function run(file: string, args: string[], input?: string, timeout = 120_000): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(file, args, {
      cwd: dir,
      // The installed command runs `deno` from PATH: the one running the tests.
      env: {
        ...process.env,
        NO_COLOR: "1",
        PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
      },
      maxBuffer: 1 << 24,
      timeout,
      killSignal: "SIGKILL",
    }, (error, stdout, stderr) => {
      const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

const SCRIPT = `// @profile
function work(n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += i;
  return t;
}
function other(): number {
  return work(1000) + 1;
}
console.log("sum", work(100000), other());
`;

before(async () => {
  if (SKIP) return;
  dir = mkdtempSync(join(tmpdir(), "rayprof-url-"));
  writeFileSync(join(dir, "s.ts"), SCRIPT);
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const file = join(ROOT, path);
    if (!file.startsWith(ROOT + "/") || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(file);
      const type = file.endsWith(".ts") ? "application/typescript" : "application/octet-stream";
      res.writeHead(200, { "content-type": type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server!.listen(0, "127.0.0.1", ok));
  const address = server.address();
  assert(address && typeof address === "object");
  url = `http://127.0.0.1:${address.port}`;
});

after(async () => {
  if (server) await new Promise((ok) => server!.close(ok));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function noConfig() {
  for (const f of ["deno.json", "deno.jsonc", "package.json"]) {
    assert(!existsSync(join(dir, f)), `${f} in ${dir}`);
  }
}

async function assertProfiled(r: Run, functions: string[]) {
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "sum 4999950000 499501\n");
  assert.doesNotMatch(r.stderr, /^\s+at /m, r.stderr);
  for (const f of functions) {
    assert.match(r.stderr, new RegExp(`Function: ${f} at line `), r.stderr);
  }
  const stats = await loadLineStats(join(dir, "s.ts.lprof.json"));
  const names = stats.functions.map((f) => f.name).sort();
  assert.deepEqual(names, [...functions].sort());
  rmSync(join(dir, "s.ts.lprof.json"));
}

test(
  "deno run -A URL/cli.ts profile: plain, --all, --functions; show",
  { skip: SKIP },
  async () => {
    noConfig();
    const deno = process.execPath;
    const cli = `${url}/cli.ts`;
    const plain = await run(deno, ["run", "-A", cli, "profile", "s.ts"]);
    await assertProfiled(plain, ["work"]);
    assert.match(plain.stderr, /^\s+4\s+101002\s/m, plain.stderr); // the loop: 100001 + 1001 tests

    const all = await run(deno, ["run", "-A", cli, "profile", "--all", "s.ts"]);
    await assertProfiled(all, ["work", "other"]);

    const functions = await run(deno, ["run", "-A", cli, "profile", "--functions", "s.ts"]);
    await assertProfiled(functions, ["work"]);
    assert.match(functions.stderr, /^\s+2\s.*s\.ts:1\(work\)$/m, functions.stderr);
    assert.match(functions.stderr, /^\s+1\s.*s\.ts:7\(other\)$/m, functions.stderr);

    await run(deno, ["run", "-A", cli, "profile", "s.ts"]);
    const show = await run(deno, ["run", "-A", cli, "show", "s.ts.lprof.json"]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout + show.stderr, /Function: work at line 1/);
  },
);

test("deno run -A URL/repl.ts with piped input starts remote tasks", { skip: SKIP }, async () => {
  noConfig();
  const input = [
    "const sq = ray.remote((x: number) => x * x)",
    "await ray.get([sq.remote(3), sq.remote(4)])",
    ".exit",
    "",
  ].join("\n");
  const r = await run(process.execPath, ["run", "-A", `${url}/repl.ts`], input);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[ 9, 16 \]$/m, r.stdout + r.stderr);
  assert.match(r.stdout, /2 tasks on \d+ workers?/, r.stdout);
});

test("deno install -g -A -n rayprof --root TMP URL/cli.ts: the command profiles", {
  skip: SKIP,
}, async () => {
  noConfig();
  const root = join(dir, "install");
  mkdirSync(root);
  const install = await run(process.execPath, [
    "install",
    "-g",
    "-A",
    "-n",
    "rayprof",
    "--root",
    root,
    `${url}/cli.ts`,
  ]);
  assert.equal(install.code, 0, install.stderr);
  const command = join(root, "bin", "rayprof");
  assert(existsSync(command), install.stderr);
  const r = await run(command, ["profile", "s.ts"]);
  await assertProfiled(r, ["work"]);
});
