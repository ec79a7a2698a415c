// What the cluster leaves in Redis: shared code keys live as long as one driver holds them, and a
// driver that dies without shutting down has what it left removed once its lease expires. Real
// processes and a Redis server of the test's own; driven from Deno only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { acquire, release } from "../cluster/_leases.ts";
import { connect, destroy, K } from "../cluster/_redis.ts";
import { clusterStatus, formatStatus } from "../cluster/status.ts";
import {
  command,
  FIXTURES,
  lastJson,
  type NodeProcess,
  redisForFile,
  runDriver,
  SKIP,
  sleep,
  startNodes,
} from "./_cluster.ts";

const FAULTS = join(FIXTURES, "faults.ts");

const redis = redisForFile();

const driverKeys = () => redis.driverKeys();

test(
  "a shared code key stays while any driver holds it and goes with the last",
  { skip: SKIP },
  async () => {
    const c = await connect(redis.address);
    try {
      const key = K.code("f".repeat(64));
      const bytes = new TextEncoder().encode("export const x = 1;\n");
      await acquire(c, "driverA", key, bytes);
      await acquire(c, "driverB", key, new TextEncoder().encode("ignored: the key exists"));
      assert.equal(String(await c.sendCommand(["GET", key])), "export const x = 1;\n");
      assert.equal(await release(c, "driverA"), 0, "B still holds it");
      assert.equal(String(await c.sendCommand(["GET", key])), "export const x = 1;\n");
      assert.equal(await release(c, "driverB"), 1);
      assert.equal(await c.sendCommand(["EXISTS", key]), 0);
      assert.deepEqual(await driverKeys(), []);
    } finally {
      destroy(c);
    }
  },
);

test(
  "two drivers of the same program: the one that ends first leaves the other's code, and a node that joins later builds it",
  { skip: SKIP },
  async () => {
    const [first] = await startNodes(redis.address, [["deno", "c1"]]);
    let late: NodeProcess | undefined;
    try {
      // A long driver (Bun) and a short one (Deno) of the same fixture, so of the same code keys.
      const longRun = runDriver("bun", FAULTS, { RAYPROF_ADDRESS: redis.address }, 60_000, [
        "many",
        "60",
        "200",
        "0",
      ]);
      await sleep(1500);
      const short = await runDriver("deno", FAULTS, { RAYPROF_ADDRESS: redis.address }, 60_000, [
        "many",
        "4",
        "10",
        "0",
      ]);
      assert.equal(short.code, 0, short.stderr);
      // A new node, with an empty cache, joins; the first goes, handing back what it has not
      // started: the rest runs on the new node, which must build the code from Redis.
      [late] = await startNodes(redis.address, [["bun", "c2"]]);
      await first.stop("SIGTERM");
      const r = await longRun;
      assert.equal(r.code, 0, `${r.stderr}\n${late.log}`);
      const out = lastJson(r) as { values: number[]; errors: Record<string, number> };
      assert.deepEqual(out.errors, {}, JSON.stringify(out));
      assert.equal(out.values.length, 60);
      assert.doesNotMatch(late.log, /not in Redis|rejected/, late.log);
    } finally {
      await first.stop("SIGTERM");
      await late?.stop("SIGTERM");
    }
    assert.deepEqual(await driverKeys(), [], "both drivers shut down: nothing of theirs is left");
  },
);

test(
  "a driver killed mid-run: once its lease expires a node removes its reply stream, objects and code",
  { skip: SKIP },
  async () => {
    const [node] = await startNodes(redis.address, [["deno", "sweeper"]]);
    try {
      const [exe, ...args] = command("deno", FAULTS, ["many", "40", "200", "0"]);
      const driver = spawn(exe, args, {
        env: { ...process.env, RAYPROF_ADDRESS: redis.address, RAYPROF_DRIVER_LEASE_MS: "1500" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      driver.stdout!.on("data", (d) => (out += d));
      const exited = new Promise((ok) => driver.once("exit", ok));
      const deadline = Date.now() + 30_000;
      while (!out.includes("submitted")) {
        assert.ok(Date.now() < deadline, "the driver never submitted");
        await sleep(25);
      }
      await sleep(300);
      // `cli.ts status` counts the driver by its lease.
      const live = await clusterStatus(redis.address);
      assert.equal(live.drivers.length, 1, formatStatus(live));
      assert.ok(live.drivers[0].leaseMs > 0 && live.drivers[0].leaseMs <= 1500);
      assert.match(
        formatStatus(live),
        /, 1 driver\(s\)\n(.|\n)*\n {2}driver \w+ +lease \d s left$/,
      );
      driver.kill("SIGKILL");
      await exited;
      const left = await driverKeys();
      assert.ok(left.some((k) => k.startsWith("rp:reply:")), `left: ${left}`);
      assert.ok(left.some((k) => k.startsWith("rp:code:")), `left: ${left}`);
      // Lease 1.5 s, a sweep every 5 s: gone within about 7 s.
      const until = Date.now() + 15_000;
      while ((await driverKeys()).length > 0) {
        assert.ok(Date.now() < until, `still there: ${await driverKeys()}\n${node.log}`);
        await sleep(250);
      }
      assert.match(node.log, /driver \w+ is gone \(its lease expired\): removed its \d+ keys/);
      assert.deepEqual((await clusterStatus(redis.address)).drivers, []);
      // The node goes on serving other drivers.
      const r = await runDriver("deno", FAULTS, { RAYPROF_ADDRESS: redis.address }, 60_000, [
        "many",
        "4",
        "10",
        "0",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((lastJson(r) as { values: number[] }).values, [0, 1, 2, 3]);
    } finally {
      await node.stop("SIGTERM");
    }
  },
);
