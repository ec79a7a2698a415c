// The cluster across hosts: Redis, two nodes (Deno and Bun) and the driver each in a network
// namespace of its own (`ip netns`, veth pairs on a bridge), so that nothing works only because
// it shares a loopback with the driver: Redis listens on its namespace's address only, each node
// keeps its code in a cache of its own. Needs root (CI runs as root).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { BIN, FIXTURES, lastJson, ROOT, type Run, SKIP as DENO_ONLY, sleep } from "./_cluster.ts";

const IS_ROOT = typeof process.getuid === "function" && process.getuid() === 0;
const SKIP = DENO_ONLY || (!IS_ROOT ? "needs root for ip netns (CI runs as root)" : false);

const TAG = `rp${process.pid % 100000}`;
const BRIDGE = `${TAG}br`;
const SUBNET = `10.${200 + (process.pid % 50)}.${process.pid % 250}`;
const HOSTS = { redis: 2, n1: 3, n2: 4, driver: 5 } as const;
const ns = (h: keyof typeof HOSTS) => `${TAG}-${h}`;
const ip = (h: keyof typeof HOSTS) => `${SUBNET}.${HOSTS[h]}`;
const children: ChildProcess[] = [];
let cache = "";

function sh(...args: string[]): string {
  return execFileSync(args[0], args.slice(1), { encoding: "utf8" });
}

function inNs(h: keyof typeof HOSTS, cmd: string[], env: Record<string, string> = {}) {
  return spawn("ip", ["netns", "exec", ns(h), ...cmd], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    cwd: ROOT,
  });
}

function cleanup() {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch { /* gone */ }
  }
  for (const h of Object.keys(HOSTS) as (keyof typeof HOSTS)[]) {
    try {
      sh("ip", "netns", "del", ns(h));
    } catch { /* not made */ }
  }
  try {
    sh("ip", "link", "del", BRIDGE);
  } catch { /* not made */ }
}

before(() => {
  if (SKIP) return;
  cache = mkdtempSync(join(tmpdir(), "rayprof-netns-"));
  sh("ip", "link", "add", BRIDGE, "type", "bridge");
  sh("ip", "link", "set", BRIDGE, "up");
  for (const h of Object.keys(HOSTS) as (keyof typeof HOSTS)[]) {
    const n = ns(h);
    const a = `${TAG}${HOSTS[h]}a`;
    const b = `${TAG}${HOSTS[h]}b`;
    sh("ip", "netns", "add", n);
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b);
    sh("ip", "link", "set", a, "master", BRIDGE);
    sh("ip", "link", "set", a, "up");
    sh("ip", "link", "set", b, "netns", n);
    sh("ip", "netns", "exec", n, "ip", "addr", "add", `${ip(h)}/24`, "dev", b);
    sh("ip", "netns", "exec", n, "ip", "link", "set", b, "up");
    sh("ip", "netns", "exec", n, "ip", "link", "set", "lo", "up");
  }
});

after(() => {
  if (SKIP) return;
  cleanup();
  if (cache) rmSync(cache, { recursive: true, force: true });
});

function waitLog(c: ChildProcess, re: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((ok, fail) => {
    let log = "";
    const t = setTimeout(() => fail(new Error(`never matched ${re}:\n${log}`)), timeoutMs);
    const on = (d: unknown) => {
      log += d;
      if (re.test(log)) {
        clearTimeout(t);
        ok(log);
      }
    };
    c.stdout!.on("data", on);
    c.stderr!.on("data", on);
    c.on("exit", (code) => {
      clearTimeout(t);
      fail(new Error(`exited (${code}) before ${re}:\n${log}`));
    });
  });
}

test("driver, Redis and two nodes in four network namespaces", { skip: SKIP }, async () => {
  const redis = inNs("redis", [
    "redis-server",
    "--port",
    "6379",
    "--bind",
    ip("redis"),
    "--protected-mode",
    "no",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  children.push(redis);
  await waitLog(redis, /Ready to accept connections/);
  const address = `redis://${ip("redis")}:6379`;
  // Not reachable on the driver's own loopback: only across the bridge.
  const local = spawn("ip", [
    "netns",
    "exec",
    ns("driver"),
    "redis-cli",
    "-h",
    "127.0.0.1",
    "-p",
    "6379",
    "PING",
  ], { stdio: "pipe" });
  const localOut = await new Promise<string>((ok) => {
    let o = "";
    local.stdout!.on("data", (d) => (o += d));
    local.stderr!.on("data", (d) => (o += d));
    local.on("exit", () => ok(o));
  });
  assert.doesNotMatch(localOut, /PONG/);

  const nodes = [
    inNs("n1", [
      join(BIN, "deno"),
      "run",
      "-A",
      join(ROOT, "cli.ts"),
      "node",
      "--address",
      address,
      "--num-cpus",
      "2",
      "--name",
      "host-n1",
      "--cache-dir",
      join(cache, "n1"),
    ]),
    inNs("n2", [
      join(BIN, "bun"),
      join(ROOT, "cli.ts"),
      "node",
      "--address",
      address,
      "--num-cpus",
      "2",
      "--name",
      "host-n2",
      "--cache-dir",
      join(cache, "n2"),
    ]),
  ];
  children.push(...nodes);
  await Promise.all(nodes.map((n) => waitLog(n, /slots, on redis:/)));
  const driver = inNs("driver", [join(BIN, "deno"), "run", "-A", join(FIXTURES, "basic.ts")], {
    RAYPROF_ADDRESS: address,
  });
  children.push(driver);
  const r: Run = await new Promise((ok) => {
    let stdout = "";
    let stderr = "";
    driver.stdout!.on("data", (d) => (stdout += d));
    driver.stderr!.on("data", (d) => (stderr += d));
    driver.on("exit", (code) => ok({ code: code ?? 1, stdout, stderr }));
  });
  assert.equal(r.code, 0, r.stderr);
  const out = lastJson(r);
  assert.deepEqual(out.squares, [1, 4, 9, 16, 25, 36]);
  assert.equal(out.nested, 30);
  assert.equal(out.pids, 2, "tasks ran on both hosts");
  assert.deepEqual(out.actor, Array.from({ length: 20 }, (_, i) => 11 + i));
  for (const n of nodes) n.kill("SIGTERM");
  await sleep(500);
});
