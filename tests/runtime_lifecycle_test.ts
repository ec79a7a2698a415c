// The runtime in real scripts: exiting on its own, functions shipped as source, import.meta.main guards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const isBun = "Bun" in globalThis;
const root = fileURLToPath(new URL("..", import.meta.url));

/** Runs a TypeScript file with this runtime; resolves with output, or rejects after `ms`. */
function run(
  file: string,
  args: string[],
  ms: number,
  cwd = root,
): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const cmd = isBun ? [file, ...args] : ["run", "-A", "--no-check", file, ...args];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, cmd, { cwd, env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      reject(
        new Error(
          `${file} did not exit within ${ms} ms (hung). stdout: ${stdout} stderr: ${stderr}`,
        ),
      );
    }, ms);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

test("a script that never calls shutdown() still exits when its work is done", async () => {
  const r = await run("tests/fixtures/runtime/no_shutdown.ts", [], 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "values [3,7,2]");
});

test("functions with no module file behind them are shipped as source; closures get a clear error", async () => {
  const r = await run("tests/fixtures/runtime/eval_remote.ts", [], 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^eval 42$/m);
  assert.match(r.stdout, /^new Function 42$/m);
  assert.match(r.stdout, /^arrow 9$/m);
  assert.match(
    r.stdout,
    /^closure: Task 'usesOuter' \(id \d+\) failed: ReferenceError: outer is not defined \(remote function 'usesOuter' was sent as source text because it is not defined at the top level of a module file/m,
  );
});

test("a worker importing two modules at once registers the functions of both", async () => {
  const ray = await import("../mod.ts");
  const { slowScaled } = await import("./fixtures/runtime/slow_module.ts");
  const { quickAdd } = await import("./fixtures/runtime/quick_module.ts");
  await ray.shutdown();
  ray.init({ numCpus: 1 });
  try {
    // One worker gets both definitions in one batch: the quick module's import ends while the
    // slow one still waits at its top-level await, before its remote() calls run.
    const refs = [slowScaled.remote(3), quickAdd.remote(1)];
    assert.deepEqual(await ray.get(refs, { timeout: 20_000 }), [21, 101]);
  } finally {
    await ray.shutdown();
  }
});

test("a script without an import.meta.main guard runs once, not again in each worker", async () => {
  const r = await run("tests/fixtures/runtime/unguarded.ts", [], 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "result 42\n");
});

test("an unguarded script submitting from inside map() runs once and records the user's line", async () => {
  const r = await run("tests/fixtures/runtime/unguarded_map.ts", [], 30_000);
  assert.equal(r.code, 0, r.stderr);
  // Deno names the arrow's call (column 51); Bun, which leaves the arrow out, the map() call (27).
  assert.match(r.stdout, /^sum 30\ncallsites unguarded_map\.ts:15:\d+\n$/);
});

test("1,000 init/shutdown cycles and 100,000 tasks: no leaked workers or timers, no lost result", async () => {
  const r = await run("tests/fixtures/runtime/cycles.ts", ["1000", "100000"], 120_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^live workers after cycles 0$/m);
  assert.match(r.stdout, /^results 100000 wrong 0$/m);
  assert.match(
    r.stdout,
    /^recorded 100000 dropped 1\d{3}$/m,
    "ring keeps 100,000 records by default",
  );
  assert.match(r.stdout, /^live workers at end 0$/m);
});

test("mod.ts imported from an HTTP URL runs a remote task (Deno)", {
  skip: isBun && "Bun does not import modules over HTTP",
}, async () => {
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url!, "http://x").pathname);
      if (path.includes("..")) throw new Error("no");
      const body = await readFile(root + path);
      res.writeHead(200, { "content-type": "application/typescript" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const dir = await import("node:fs").then((fs) => fs.mkdtempSync(join(tmpdir(), "rayprof-url-")));
  try {
    const script = `${dir}/remote_user.ts`;
    await import("node:fs/promises").then((fs) =>
      fs.writeFile(
        script,
        `import * as ray from "http://127.0.0.1:${port}/mod.ts";\n` +
          `const square = ray.remote(function square(x: number) { return x * x; });\n` +
          `if (import.meta.main) console.log("square", await ray.get(square.remote(12)));\n`,
      )
    );
    const r = await run(script, ["--reload"], 60_000, dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "square 144");
  } finally {
    server.close();
    await import("node:fs/promises").then((fs) => fs.rm(dir, { recursive: true, force: true }));
  }
});
