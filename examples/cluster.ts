/**
 * The document's three loops (ex1, ex2, ex3 of examples/loops.ts) on a cluster of two nodes: the
 * same code, the same three lessons, tasks on other processes (or machines).
 *
 *   deno run -A examples/cluster.ts redis://HOST:6379     on a cluster you started (README)
 *   deno run -A examples/cluster.ts                       starts its own: redis-server on a free
 *                                                         port, a Deno node and a Bun node
 *   bun examples/cluster.ts [...]                         the same under Bun
 *
 * Expect ex1 ≈ 5 × 0.5 s, ex2 ≈ 0.5 s, ex3 ≈ 1 s, then the tasks each node ran.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import * as ray from "../mod.ts";
import { ex1, ex2, ex3 } from "./loops.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => ok(typeof a === "object" && a ? a.port : 0));
    });
  });
}

/** Starts redis-server and two nodes of 3 slots (Deno and Bun); returns the address. */
async function startOwnCluster(children: ChildProcess[]): Promise<string> {
  const port = await freePort();
  const redis = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", ""],
    {
      stdio: "ignore",
    },
  );
  redis.on("error", (e) => {
    console.error(`Cannot start redis-server (apt-get install redis-server): ${e.message}`);
    process.exit(1);
  });
  children.push(redis);
  const address = `redis://127.0.0.1:${port}`;
  const bin = join(ROOT, "node_modules", ".bin");
  const nodes = [
    [join(bin, "deno"), "run", "-A", join(ROOT, "cli.ts")],
    [join(bin, "bun"), join(ROOT, "cli.ts")],
  ];
  const ready: Promise<void>[] = [];
  for (const [i, [exe, ...args]] of nodes.entries()) {
    const name = i === 0 ? "deno-node" : "bun-node";
    // The first node may start before redis-server listens: it retries for 5 s.
    const child = spawn(exe, [
      ...args,
      "node",
      "--address",
      address,
      "--num-cpus",
      "3",
      "--name",
      name,
    ], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    ready.push(
      new Promise((ok, fail) => {
        let log = "";
        child.stderr!.on("data", (d) => {
          log += d;
          if (log.includes("slots, on")) ok();
        });
        child.on("exit", (code) => fail(new Error(`node ${name} exited (${code}):\n${log}`)));
      }),
    );
  }
  await Promise.all(ready);
  return address;
}

if (import.meta.main) {
  const children: ChildProcess[] = [];
  try {
    const address = process.argv[2] ?? process.env.RAYPROF_ADDRESS ??
      await startOwnCluster(children);
    await ray.init({ address });
    console.log(`cluster: ${ray.runtimeInfo()?.numCpus} slots`);
    await ray.timeThis(ex1)();
    await ray.timeThis(ex2)();
    await ray.timeThis(ex3)();
    const perNode = new Map<string, number>();
    const nodeOf = new Map(ray.recording().workers.map((w) => [w.id, w.node ?? "local"]));
    for (const t of ray.recording().tasks) {
      const n = nodeOf.get(t.worker) ?? "?";
      perNode.set(n, (perNode.get(n) ?? 0) + 1);
    }
    console.log(
      `tasks by node: ${[...perNode].sort().map(([n, c]) => `${n} ${c}`).join(", ")}`,
    );
    await ray.shutdown();
  } finally {
    // Nodes first (they stop cleanly on SIGTERM), then Redis.
    for (const c of children.slice(1)) c.kill("SIGTERM");
    await Promise.all(
      children.slice(1).map((c) => c.exitCode === null ? new Promise((ok) => c.on("exit", ok)) : 0),
    );
    children[0]?.kill("SIGTERM");
  }
}
