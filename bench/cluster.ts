// The cluster against its floor and its peer, on this machine's loopback, in one run: a fresh
// Redis, two node processes of 2 slots each (`cli.ts node`), and
//   - raw: node-redis round trip through a consumer group in another process (XADD -> XREADGROUP
//     -> XADD reply -> XREAD), no rayprof code (bench/_cluster_raw.ts);
//   - raw 1 MB: 64 entries of 1 MB XADDed by one node-redis client and XREAD by another, three
//     times (the floor of moving results through Redis);
//   - rayprof: a fresh driver process's 2,000 warm-up tasks, then 20,000 no-op tasks pipelined,
//     2,000 sync `await get(f.remote())`, a node's arrival-to-start time, 1 MB results (64 at a
//     time, three times: the first and the median);
//   - BullMQ (Node): two Workers of concurrency 100, 20,000 no-op jobs added in bulk, then sync
//     add + waitUntilFinished (bench/_cluster_bullmq.mjs).
//
//   deno run -A bench/cluster.ts [--nodes deno|bun] [--driver deno|bun] [--warm N]
// --warm: the warm-up, in tasks (and raw round trips) before the figures: 2,000 by default (a
// fresh process, as programs run); `--warm 30000` gives the long warm-up row.
// The driver runs in a child process of the runtime named (default: the one running this file).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import process from "node:process";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "node_modules", ".bin");
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    nodes: { type: "string", default: "deno" },
    driver: { type: "string" },
    child: { type: "string" },
    warm: { type: "string", default: "2000" },
  },
});

function run(runtime: string, file: string, args: string[]): string[] {
  return runtime === "bun"
    ? [join(BIN, "bun"), file, ...args]
    : [join(BIN, "deno"), "run", "-A", file, ...args];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

// ---- the driver, in a fresh process of its own ------------------------------------------------
if (values.child) {
  const ray = await import("../mod.ts");
  const { noop, megabyte } = await import("./_cluster_fns.ts");
  const { createClient, RESP_TYPES } = await import("@redis/client");
  const { Buffer } = await import("node:buffer");
  const address = values.child;
  const out: Record<string, number> = {};

  // Raw floor first (the consumer process is already up).
  const c = createClient({ url: address });
  await c.connect();
  let last = "$";
  const rawOnce = async (i: number) => {
    await c.sendCommand(["XADD", "raw:q", "*", "m", String(i)]);
    const r = await c.sendCommand(["XREAD", "BLOCK", "0", "STREAMS", "raw:r", last]) as [
      string,
      [string, string[]][],
    ][];
    last = r[0][1][r[0][1].length - 1][0];
  };
  // "$" before the first reply exists: start after whatever is there.
  await c.sendCommand(["XADD", "raw:r", "*", "m", "x"]);
  last = String(
    (await c.sendCommand(["XREVRANGE", "raw:r", "+", "-", "COUNT", "1"]) as [string][])[0][0],
  );
  const warmN = Number(values.warm);
  for (let i = 0; i < warmN; i++) await rawOnce(i);
  const raw: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await rawOnce(i);
    raw.push(performance.now() - t);
  }
  out.rawSyncUs = median(raw) * 1000;
  await c.sendCommand(["XADD", "raw:q", "*", "m", "stop"]);
  // The floor of 1 MB results: 64 entries of 1 MB added by one client and read by another
  // (the bytes go through Redis as a result does: node -> Redis -> driver).
  const d = createClient({ url: address });
  await d.connect();
  const reader = d.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const mbRaw: number[] = [];
  const payload = Buffer.alloc(1 << 20, 7);
  for (let round = 0; round < 3; round++) {
    const r0 = performance.now();
    const adds = Array.from(
      { length: 64 },
      () => c.sendCommand(["XADD", "raw:mb", "*", "m", payload]),
    );
    let got = 0, from = "0-0";
    while (got < 64) {
      const res = await reader.sendCommand([
        "XREAD",
        "COUNT",
        "1000",
        "BLOCK",
        "1000",
        "STREAMS",
        "raw:mb",
        from,
      ]) as [unknown, [Buffer, Buffer[]][]][] | null;
      for (const [, list] of res ?? []) {
        for (const [id] of list) {
          from = String(id);
          got++;
        }
      }
    }
    await Promise.all(adds);
    mbRaw.push(64 / ((performance.now() - r0) / 1000));
    await c.sendCommand(["DEL", "raw:mb"]);
  }
  out.rawMbFirstPerSecond = mbRaw[0];
  out.rawMbPerSecond = median(mbRaw);
  d.destroy();
  c.destroy();

  const t0 = performance.now();
  await ray.init({ address });
  out.initMs = performance.now() - t0;
  const f0 = performance.now();
  await ray.get(noop.remote());
  out.firstResultMs = performance.now() - f0;
  // The warm-up: half pipelined in batches of 2,000, half sync round trips.
  for (let done = 0; done < warmN / 2; done += 2000) {
    const warm = [];
    for (let i = 0; i < Math.min(2000, warmN / 2 - done); i++) warm.push(noop.remote());
    await ray.get(warm);
  }
  for (let i = 0; i < warmN / 2; i++) await ray.get(noop.remote());
  const p0 = performance.now();
  const refs = [];
  for (let i = 0; i < 20_000; i++) refs.push(noop.remote());
  await ray.get(refs);
  out.pipelined = 20_000 / ((performance.now() - p0) / 1000);
  const s0 = performance.now();
  const sync: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await ray.get(noop.remote());
    sync.push(performance.now() - t);
  }
  out.syncUs = median(sync) * 1000;
  // dispatched = the node took the task; started = its worker began it (both on the node's
  // clock). Sync tasks find an idle node: what the node adds. Pipelined ones also wait there
  // behind the tasks it took ahead (a node takes more than its slots of short tasks).
  const gap = (since: number, until: number) =>
    median(
      ray.recording({ since }).tasks.filter((t) =>
        t.submitted < until && Number.isFinite(t.dispatched) && Number.isFinite(t.started)
      ).map((t) => t.started - t.dispatched),
    );
  out.arrivalToStartMs = gap(s0, Infinity);
  out.arrivalToStartPipelinedMs = gap(p0, s0);
  const mbOurs: number[] = [];
  for (let round = 0; round < 3; round++) {
    const m0 = performance.now();
    const big = await ray.get(Array.from({ length: 64 }, (_, i) => megabyte.remote(i)));
    const mb = big.reduce((n, b) => n + b.byteLength, 0) / (1 << 20);
    mbOurs.push(mb / ((performance.now() - m0) / 1000));
  }
  out.mbFirstPerSecond = mbOurs[0];
  out.mbPerSecond = median(mbOurs);
  await ray.shutdown();
  console.log(JSON.stringify(out));
  process.exit(0);
}

// ---- the orchestration ------------------------------------------------------------------------
function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => ok(typeof a === "object" && a ? a.port : 0));
    });
  });
}

function start(cmd: string[], ready: RegExp): Promise<ChildProcess> {
  const [exe, ...args] = cmd;
  const child = spawn(exe, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((ok, fail) => {
    let log = "";
    const on = (d: unknown) => {
      log += d;
      if (ready.test(log)) ok(child);
    };
    child.stdout!.on("data", on);
    child.stderr!.on("data", on);
    child.on("exit", (code) => fail(new Error(`${cmd.join(" ")} exited (${code}):\n${log}`)));
  });
}

const driverRt = values.driver ?? ("Bun" in globalThis ? "bun" : "deno");
const port = await freePort();
const address = `redis://127.0.0.1:${port}`;
const children: ChildProcess[] = [];
const redis = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
  stdio: "ignore",
});
children.push(redis);
await new Promise((ok) => setTimeout(ok, 300));
try {
  children.push(
    await start(run(values.nodes!, join(ROOT, "bench/_cluster_raw.ts"), [address]), /ready/),
  );
  for (const name of ["n1", "n2"]) {
    children.push(
      await start(
        run(values.nodes!, join(ROOT, "cli.ts"), [
          "node",
          "--address",
          address,
          "--num-cpus",
          "2",
          "--name",
          name,
        ]),
        /slots, on/,
      ),
    );
  }
  const [exe, ...args] = run(driverRt, fileURLToPath(import.meta.url), [
    "--child",
    address,
    "--warm",
    values.warm!,
  ]);
  const ours = JSON.parse(
    execFileSync(exe, args, { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!,
  );
  for (const c of children.slice(1)) c.kill("SIGTERM");
  await new Promise((ok) => setTimeout(ok, 1500));
  execFileSync("redis-cli", ["-p", String(port), "FLUSHALL"]);
  const workers = [
    await start(["node", join(ROOT, "bench/_cluster_bullmq.mjs"), "worker", String(port)], /ready/),
    await start(["node", join(ROOT, "bench/_cluster_bullmq.mjs"), "worker", String(port)], /ready/),
  ];
  children.push(...workers);
  const bull = JSON.parse(
    execFileSync("node", [
      join(ROOT, "bench/_cluster_bullmq.mjs"),
      "produce",
      String(port),
      "20000",
    ], {
      encoding: "utf8",
    }).trim().split("\n").pop()!,
  );
  const f = (x: number, d = 0) => x.toFixed(d);
  console.log(
    `cluster bench: driver ${driverRt}, 2 ${values.nodes} nodes x 2 slots, Redis on loopback, ${values.warm} warm-up tasks`,
  );
  console.log(
    `  pipelined, 20,000 no-op tasks   rayprof ${f(ours.pipelined)} tasks/s   BullMQ ${
      f(bull.pipelined)
    } jobs/s   ratio ${(ours.pipelined / bull.pipelined).toFixed(2)}x`,
  );
  console.log(
    `  sync round trip (median)        rayprof ${f(ours.syncUs)} µs   raw ${
      f(ours.rawSyncUs)
    } µs   ratio ${(ours.syncUs / ours.rawSyncUs).toFixed(2)}x   BullMQ ${f(bull.syncUs)} µs`,
  );
  console.log(
    `  node: arrival to start (median) ${ours.arrivalToStartMs.toFixed(3)} ms idle, ${
      ours.arrivalToStartPipelinedMs.toFixed(3)
    } ms pipelined`,
  );
  console.log(
    `  1 MB results, 64 at a time       rayprof ${f(ours.mbFirstPerSecond)} MB/s first, ${
      f(ours.mbPerSecond)
    } median of 3   raw ${f(ours.rawMbFirstPerSecond)} first, ${
      f(ours.rawMbPerSecond)
    } median   ratio ${(ours.mbPerSecond / ours.rawMbPerSecond).toFixed(2)}x`,
  );
  console.log(`  init ${f(ours.initMs, 1)} ms, first result ${f(ours.firstResultMs, 1)} ms`);
} finally {
  for (const c of children.slice(1)) c.kill("SIGKILL");
  redis.kill("SIGKILL");
}
process.exit(0);
