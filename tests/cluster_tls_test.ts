// The cluster over TLS (`rediss://`): a Redis server of the test's own that accepts TLS only, with
// a password, its certificate signed by a CA made here with openssl. A Deno node and a Bun node
// trust the CA through RAYPROF_REDIS_CA, and drivers under both runtimes run the API's tasks on
// them. A driver or node that does not trust the CA fails at once with a message that says what
// to set, and never prints the password. Driven from Deno only (it starts both runtimes itself).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FIXTURES,
  freePort,
  lastJson,
  NodeProcess,
  runDriver,
  SKIP,
  sleep,
  startNodes,
  stopAll,
} from "./_cluster.ts";

const BASIC = join(FIXTURES, "basic.ts");
const PASSWORD = "tls-secret-9";

let dir = "";
let port = 0;
let server: ChildProcess | undefined;
let address = "";
let ca = "";

/** A CA, and a certificate for 127.0.0.1 signed by it. */
function makeCertificates(): void {
  const ssl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt"]
    .concat(["-days", "2", "-subj", "/CN=rayprof test CA"]));
  ssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr"]
    .concat(["-subj", "/CN=127.0.0.1"]));
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  ssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key"]
    .concat(["-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf"]));
  ca = join(dir, "ca.crt");
}

/** `redis-cli` over TLS; its output. */
function cli(args: string[]): string {
  return execFileSync("redis-cli", [
    "-p",
    String(port),
    "--tls",
    "--cacert",
    ca,
    "-a",
    PASSWORD,
    "--no-auth-warning",
    ...args,
  ], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

before(async () => {
  if (SKIP) return;
  dir = mkdtempSync(join(tmpdir(), "rayprof-tls-"));
  makeCertificates();
  port = await freePort();
  server = spawn("redis-server", [
    "--port",
    "0", // no plain-text port: TLS only
    "--tls-port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--requirepass",
    PASSWORD,
    "--tls-cert-file",
    join(dir, "server.crt"),
    "--tls-key-file",
    join(dir, "server.key"),
    "--tls-ca-cert-file",
    ca,
    "--tls-auth-clients",
    "no",
  ], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (cli(["PING"]) === "PONG") break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`redis-server with TLS on ${port} did not start`);
    await sleep(50);
  }
  address = `rediss://:${PASSWORD}@127.0.0.1:${port}`;
});

after(async () => {
  if (server && server.exitCode === null) {
    const done = new Promise((ok) => server!.once("exit", ok));
    server.kill("SIGKILL");
    await done;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("over rediss:// with a password: a Deno and a Bun node run a Deno and a Bun driver's tasks", {
  skip: SKIP,
}, async () => {
  const env = { RAYPROF_REDIS_CA: ca };
  const nodes = await startNodes(address, [["deno", "tls-deno"], ["bun", "tls-bun"]], () => env);
  try {
    for (const n of nodes) assert.doesNotMatch(n.log, new RegExp(PASSWORD));
    for (const runtime of ["deno", "bun"] as const) {
      const r = await runDriver(runtime, BASIC, { RAYPROF_ADDRESS: address, ...env });
      assert.equal(r.code, 0, `${runtime} driver:\n${r.stdout}\n${r.stderr}`);
      const out = lastJson(r);
      assert.deepEqual(out.squares, [1, 4, 9, 16, 25, 36], runtime);
      assert.deepEqual(out.refs, [1681, 42], runtime);
      assert.equal(out.chained, 81, runtime);
      assert.equal(out.pids, 2, `${runtime}: tasks ran on both nodes`);
      assert.equal((out.error as { name: string }).name, "TaskError", runtime);
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PASSWORD));
    }
  } finally {
    await stopAll(nodes);
  }
  // A clean run leaves nothing behind, over TLS as over plain text.
  assert.equal(cli(["DBSIZE"]), "0");
});

test(
  "a driver or node that does not trust the server's certificate fails at once, saying what to set",
  {
    skip: SKIP,
  },
  async () => {
    for (const runtime of ["deno", "bun"] as const) {
      const t0 = performance.now();
      const r = await runDriver(runtime, BASIC, { RAYPROF_ADDRESS: address, RAYPROF_REDIS_CA: "" });
      const ms = performance.now() - t0;
      assert.notEqual(r.code, 0, runtime);
      assert.match(
        r.stderr,
        /Cannot connect to the cluster at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+/,
      );
      assert.match(r.stderr, /certificate/i);
      assert.match(r.stderr, /set RAYPROF_REDIS_CA/);
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PASSWORD));
      // It does not retry for its whole connect timeout (5 s): the certificate will not change.
      assert.ok(ms < 4500, `${runtime} driver took ${ms.toFixed(0)} ms to fail`);
    }
    const node = new NodeProcess("bun", address, {
      name: "untrusting",
      env: { RAYPROF_REDIS_CA: "" },
    });
    const code = await Promise.race([node.exited, sleep(15_000).then(() => "hung")]);
    if (code === "hung") await node.stop("SIGKILL");
    assert.notEqual(code, "hung", `node did not exit:\n${node.log}`);
    assert.notEqual(code, 0);
    assert.match(node.log, /set RAYPROF_REDIS_CA/);
    assert.doesNotMatch(node.log, new RegExp(PASSWORD));

    // A CA file that cannot be read is named.
    const missing = join(dir, "no-such-ca.crt");
    const r = await runDriver("deno", BASIC, {
      RAYPROF_ADDRESS: address,
      RAYPROF_REDIS_CA: missing,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot read the CA file in RAYPROF_REDIS_CA \(.*no-such-ca\.crt\)/);
  },
);
