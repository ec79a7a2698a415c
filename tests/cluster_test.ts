// The cluster with real processes: a Redis server of the test's own, nodes started with
// `cli.ts node` under Deno and under Bun, and driver scripts under both. Semantics, status, no keys
// left behind, and the faults: a node killed with SIGKILL, a node stopped mid-run, Redis
// unreachable, a password, cancellation, malformed messages. Driven from Deno only (it starts both
// runtimes itself).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import {
  BIN,
  FIXTURES,
  freePort,
  lastJson,
  NodeProcess,
  redisCli,
  redisForFile,
  RedisServer,
  ROOT,
  runDriver,
  SKIP,
  sleep,
  startNodes,
  stopAll,
} from "./_cluster.ts";
import { encode } from "../cluster/_codec.ts";
import { BUNDLE, NESTED_RESULT } from "../cluster/_wire.ts";

const BASIC = join(FIXTURES, "basic.ts");
const FAULTS = join(FIXTURES, "faults.ts");

const redis = redisForFile();

const EXPECTED = {
  squares: [1, 4, 9, 16, 25, 36],
  clone: {
    map: 0,
    set: ["a"],
    bytes: [1, 2, 255],
    floats: [0.5, -1],
    big: "12345678901234567890",
    cyclic: true,
    nan: true,
    undef: true,
  },
  refs: [1681, 42],
  chained: 81,
  nested: 30,
  actor: Array.from({ length: 20 }, (_, i) => 11 + i),
  actorPid: 1,
  pids: 2,
  wait: [2, 0],
  timeout: "GetTimeoutError",
};

test(
  "a Deno node and a Bun node run the API's tasks from a Deno and a Bun driver; nothing is left in Redis",
  {
    skip: SKIP,
  },
  async () => {
    const nodes = await startNodes(redis.address, [["deno", "dn"], ["bun", "bn"]]);
    try {
      const status = await runDriver("deno", join(ROOT, "cli.ts"), {}, 30_000, [
        "status",
        "--address",
        redis.address,
      ]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^2 node\(s\), 4 slot\(s\)/, status.stdout);
      assert.match(status.stdout, /^\s+bn\s+2 slots.*bun 1\./m, status.stdout);
      assert.match(status.stdout, /^\s+dn\s+2 slots.*deno 2\./m, status.stdout);
      for (const rt of ["deno", "bun"] as const) {
        const r = await runDriver(rt, BASIC, { RAYPROF_ADDRESS: redis.address });
        assert.equal(
          r.code,
          0,
          `${rt} driver:\n${r.stderr}\n${nodes.map((n) => n.log).join("\n")}`,
        );
        const out = lastJson(r);
        const { unclonable, error, ...rest } = out as Record<string, unknown> & {
          error: Record<string, unknown>;
        };
        assert.deepEqual(rest, EXPECTED, rt);
        assert.match(
          String(unclonable),
          /^TypeError: Cannot submit 'echo' as argument 1 is a function/,
        );
        assert.equal(error.name, "TaskError");
        assert.equal(error.isTaskError, true);
        assert.equal(error.cause, "RangeError");
        assert.match(
          String(error.message),
          /^Task 'boom' \(id \d+\) failed: RangeError: bad input$/,
        );
        // The remote stack names the driver's own file and line, not the node's copy.
        assert.match(String(error.stack), new RegExp(`${FIXTURES}/fns\\.ts:17:\\d+`));
      }
      // The drivers have shut down: only the nodes' own keys are left while they run.
      const keys = await redis.driverKeys();
      assert.deepEqual(keys, []);
    } finally {
      await stopAll(nodes);
    }
    for (const n of nodes) assert.match(n.log, /stopped/, n.log);
    assert.equal(await redis.dbsize(), 0, (await redis.keys()).join(" "));
  },
);

test("a node killed with SIGKILL mid-run: its tasks run again on the other, each result once", {
  skip: SKIP,
}, async () => {
  const nodes = await startNodes(redis.address, [["deno", "keep"], ["bun", "victim"]]);
  try {
    const run = runDriver("deno", FAULTS, { RAYPROF_ADDRESS: redis.address }, 90_000, [
      "many",
      "40",
      "150",
      "3",
    ]);
    // Both nodes have started tasks: kill one while it holds some.
    await nodes[1].waitFor(/./, 10_000).catch(() => {});
    await sleep(1200);
    nodes[1].child.kill("SIGKILL");
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson(r) as { values: number[]; errors: Record<string, number> };
    assert.deepEqual(out.errors, {});
    assert.deepEqual(out.values, Array.from({ length: 40 }, (_, i) => i));
  } finally {
    await stopAll(nodes);
  }
});

test(
  "with no retries left, a killed node's tasks fail with WorkerCrashedError naming it; queued ones wait for a node",
  {
    skip: SKIP,
  },
  async () => {
    const nodes = await startNodes(redis.address, [["deno", "lone"]]);
    const run = runDriver("deno", FAULTS, { RAYPROF_ADDRESS: redis.address }, 90_000, [
      "many",
      "6",
      "2000",
      "0",
    ]);
    await sleep(1500);
    nodes[0].child.kill("SIGKILL");
    await nodes[0].exited;
    // Its two running tasks are lost; the four still queued run on a node that joins later.
    await sleep(1000);
    const rescue = await startNodes(redis.address, [["bun", "rescue"]]);
    try {
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      const out = lastJson(r) as {
        values: number[];
        errors: Record<string, number>;
        messages: string[];
      };
      assert.deepEqual(out.values, [2, 3, 4, 5], JSON.stringify(out));
      assert.deepEqual(out.errors, { WorkerCrashedError: 2 }, JSON.stringify(out));
      assert.match(out.messages[0], /node 'lone' died while it had it.*maxRetries: 0/);
    } finally {
      await stopAll(rescue);
    }
    // The dead node's registration expired; its stream and consumer are what it left.
    await redisCli(redis.port, ["FLUSHALL"]);
  },
);

test("a node stopped with SIGTERM mid-run hands back what it has not started; nothing is lost", {
  skip: SKIP,
}, async () => {
  const nodes = await startNodes(redis.address, [["deno", "stays"], ["deno", "leaves", 1]]);
  try {
    const run = runDriver("deno", FAULTS, { RAYPROF_ADDRESS: redis.address }, 90_000, [
      "many",
      "30",
      "200",
      "0",
    ]);
    await sleep(1500);
    assert.equal(await nodes[1].stop("SIGTERM"), 0, nodes[1].log);
    assert.match(nodes[1].log, /stopped/);
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson(r) as { values: number[]; errors: Record<string, number> };
    assert.deepEqual(out.errors, {});
    assert.deepEqual(out.values, Array.from({ length: 30 }, (_, i) => i));
  } finally {
    await stopAll(nodes);
  }
});

test(
  "cancel: a queued task is dropped, a running one with force ends",
  { skip: SKIP },
  async () => {
    const nodes = await startNodes(redis.address, [["deno", "busy"]]);
    try {
      const r = await runDriver("deno", FAULTS, { RAYPROF_ADDRESS: redis.address }, 60_000, [
        "cancel",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lastJson(r), {
        queued: "TaskCancelledError",
        forced: "TaskCancelledError",
        other: "3000",
      });
    } finally {
      await stopAll(nodes);
    }
  },
);

test(
  "Redis unreachable at init: a clear error naming the address (password hidden), within seconds",
  {
    skip: SKIP,
  },
  async () => {
    const port = await freePort();
    const t0 = Date.now();
    const r = await runDriver("deno", BASIC, {
      RAYPROF_ADDRESS: `redis://:s3cret-pw@127.0.0.1:${port}`,
    }, 30_000);
    const took = Date.now() - t0;
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      new RegExp(`Cannot connect to the cluster at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`),
    );
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret-pw/);
    assert(took < 15_000, `${took} ms`);
    const node = new NodeProcess("bun", `redis://:s3cret-pw@127.0.0.1:${port}`, { name: "x" });
    assert.notEqual(await node.exited, 0);
    assert.match(node.log, /Cannot connect to the cluster at redis:\/\/:\*\*\*@/);
    assert.doesNotMatch(node.log, /s3cret-pw/);
  },
);

test("a password-protected Redis: nodes and driver authenticate; the password is never printed", {
  skip: SKIP,
}, async () => {
  const secure = new RedisServer({ password: "p4ss-w0rd" });
  await secure.start();
  try {
    const nodes = await startNodes(secure.address, [["deno", "a"], ["bun", "b"]]);
    try {
      const r = await runDriver("bun", BASIC, { RAYPROF_ADDRESS: secure.address });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lastJson(r).squares, EXPECTED.squares);
      const wrong = await runDriver("deno", BASIC, {
        RAYPROF_ADDRESS: secure.address.replace("p4ss-w0rd", "wrong-one"),
      });
      assert.notEqual(wrong.code, 0);
      assert.match(
        wrong.stderr,
        /Cannot connect to the cluster at redis:\/\/:\*\*\*@.*WRONGPASS|invalid/i,
      );
      assert.doesNotMatch(wrong.stderr, /wrong-one/);
    } finally {
      await stopAll(nodes);
    }
    for (const n of nodes) assert.doesNotMatch(n.log, /p4ss-w0rd/, n.log);
    assert.equal(await secure.dbsize(), 0);
  } finally {
    await secure.close();
  }
});

test("malformed messages on the task stream are rejected with a reason; the node keeps working", {
  skip: SKIP,
}, async () => {
  const nodes = await startNodes(redis.address, [["deno", "guard"]]);
  try {
    const bytes = (...b: number[]) => new Uint8Array(b);
    await redisCli(redis.port, ["XADD", "rp:tasks", "*", "x", "no m field"]);
    const bad = [
      new TextEncoder().encode("garbage bytes \x00\xff"),
      bytes(7, 0), // an unknown version
      bytes(1, 6, 5, 104, 101, 108, 108, 111), // the right version, the wrong shape
    ];
    for (const b of bad) {
      await redisCli(redis.port, ["XADD", "rp:tasks", "*", "m"], undefined, b);
    }
    // On the short tasks' stream: a bundle of the wrong shape; one whose message is garbage; and
    // a driver's answer to a node (it belongs on a node's own stream).
    const onShort = [
      encode([BUNDLE, "not a list"]),
      encode([BUNDLE, [bad[0]]]),
      encode([NESTED_RESULT, "drv", 1, true, 0]),
    ];
    for (const b of onShort) {
      await redisCli(redis.port, ["XADD", "rp:tasks:short", "*", "m"], undefined, b);
    }
    await nodes[0].waitFor(
      new RegExp(Array(7).fill("rejected (a task of )?message").join("(.*\n)*.*")),
      10_000,
    );
    assert.match(nodes[0].log, /no field 'm' holding bytes/);
    assert.match(nodes[0].log, /unknown wire version 7/);
    assert.match(nodes[0].log, /on rp:tasks:short: a malformed bundle/);
    assert.match(nodes[0].log, /on rp:tasks:short: a nested task's result on a shared stream/);
    assert.equal(await redisCli(redis.port, ["XLEN", "rp:tasks:short"]), "0");
    const r = await runDriver("deno", BASIC, { RAYPROF_ADDRESS: redis.address });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lastJson(r).squares, EXPECTED.squares);
  } finally {
    await stopAll(nodes);
  }
});

test(
  "timeline(): a process per node, a track per worker, the driver's get, clocks aligned with a stated bound",
  {
    skip: SKIP,
  },
  async () => {
    const nodes = await startNodes(redis.address, [["deno", "tdeno"], ["bun", "tbun"]]);
    const dir = Deno.makeTempDirSync();
    const trace = join(dir, "trace.json");
    try {
      const r = await runDriver("deno", join(FIXTURES, "timeline.ts"), {
        RAYPROF_ADDRESS: redis.address,
        TRACE: trace,
      });
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await stopAll(nodes);
    }
    const file = JSON.parse(Deno.readTextFileSync(trace));
    Deno.removeSync(dir, { recursive: true });
    const events = file.traceEvents as {
      name: string;
      ph: string;
      pid: number;
      tid: number;
      ts: number;
      dur?: number;
      args?: Record<string, unknown>;
    }[];
    const processes = new Map(
      events.filter((e) => e.name === "process_name").map((e) => [e.pid, String(e.args?.name)]),
    );
    const nodePid = (n: string) => [...processes].find(([, v]) => v.startsWith(`node ${n} `))?.[0];
    assert(nodePid("tdeno") && nodePid("tbun"), JSON.stringify([...processes]));
    const spins = events.filter((e) => e.ph === "X" && e.name === "spin");
    assert.equal(spins.length, 8);
    // Both nodes ran tasks, each on tracks of its own process.
    assert(
      spins.some((e) => e.pid === nodePid("tdeno")) && spins.some((e) => e.pid === nodePid("tbun")),
    );
    for (const e of spins) assert(e.dur! >= 95_000 && e.dur! < 1_000_000, `${e.dur} µs`);
    const get = events.find((e) => e.ph === "X" && e.name === "get" && e.pid === 1);
    assert(get, "the driver's blocked get");
    // Each task ran while the driver waited in get, within the clocks' stated error.
    const clock = file.otherData.clusterClock as { errorMs: number; nodes: Record<string, number> };
    assert(clock.errorMs > 0 && clock.errorMs < 50, JSON.stringify(clock));
    assert.deepEqual(Object.keys(clock.nodes).sort(), ["tbun", "tdeno"]);
    const slack = clock.errorMs * 1000 + 1000;
    for (const e of spins) {
      assert(
        e.ts >= get.ts - slack && e.ts + e.dur! <= get.ts + get.dur! + slack,
        JSON.stringify(e),
      );
    }
  },
);

test(
  "the REPL and cli.ts profile on a cluster: timings name the nodes, the Gantt has their workers",
  {
    skip: SKIP,
  },
  async () => {
    const nodes = await startNodes(redis.address, [["deno", "rdeno"], ["bun", "rbun"]]);
    try {
      const input = [
        "const sq = ray.remote(function sq(x: number) { ray.sleepSync(50); return x * x })",
        "await ray.get([1, 2, 3, 4, 5, 6, 7, 8].map((x) => sq.remote(x)))",
        ".exit",
        "",
      ].join("\n");
      const repl = await new Promise<{ code: number | null; out: string }>((ok) => {
        const c = spawn(join(BIN, "deno"), ["run", "-A", join(ROOT, "repl.ts")], {
          env: { ...process.env, NO_COLOR: "1", RAYPROF_ADDRESS: redis.address },
        });
        let out = "";
        c.stdout.on("data", (d) => (out += d));
        c.stderr.on("data", (d) => (out += d));
        c.on("exit", (code) => ok({ code, out }));
        c.stdin.end(input);
      });
      assert.equal(repl.code, 0, repl.out);
      assert.match(repl.out, /\[\s*1,\s+4,\s+9,\s+16,\s+25,\s+36,\s+49,\s+64\s*\]/, repl.out);
      assert.match(repl.out, /8 tasks on \d workers? of 2 nodes \(rbun, rdeno\)/, repl.out);

      const profiled = await runDriver(
        "deno",
        join(ROOT, "cli.ts"),
        {
          RAYPROF_ADDRESS: redis.address,
        },
        60_000,
        ["profile", "--gantt", join(FIXTURES, "timeline.ts")],
      );
      assert.equal(profiled.code, 0, profiled.stderr);
      assert.match(profiled.stderr, /^\s+rdeno worker \d+\s+\d+%/m, profiled.stderr);
      assert.match(profiled.stderr, /^\s+rbun worker \d+\s+\d+%/m, profiled.stderr);
      assert.match(profiled.stderr, /^\s+spin\s+8\s/m, profiled.stderr);
      // Per node: its slots, and the means of queued (ready to taken), start and run (≈100 ms).
      assert.match(profiled.stderr, /^Nodes /m, profiled.stderr);
      for (const [name, runtime] of [["rbun", "bun"], ["rdeno", "deno"]]) {
        const row = new RegExp(
          `^ {2}${name} +${runtime} [\\d.]+ +2 +\\d+% +(\\d+) +\\S+ m?s +\\S+ [mµ]?s +(\\S+) ([mµ]?s) +(\\d+) ms$`,
          "m",
        ).exec(profiled.stderr);
        assert.ok(row, `no Nodes row for ${name}:\n${profiled.stderr}`);
        const start = Number(row[2]) * (row[3] === "ms" ? 1 : row[3] === "µs" ? 1e-3 : 1000);
        // Under the profiler each node starts a pool of its own for this driver: its first tasks
        // wait for those workers (tens of ms), so this is a bound, not a target.
        assert.ok(start >= 0 && start < 2000, `${name}: ${start} ms from taken to started`);
        assert.ok(Number(row[4]) >= 95 && Number(row[4]) < 200, `${name}: run ${row[4]} ms`);
      }
    } finally {
      await stopAll(nodes);
    }
  },
);

test(
  "Redis killed and restarted mid-run (append-only file on): driver and nodes reconnect, no result is lost",
  {
    skip: SKIP,
  },
  async () => {
    const durable = new RedisServer({ appendonly: true });
    await durable.start();
    try {
      const nodes = await startNodes(durable.address, [["deno", "rd1"], ["bun", "rb1"]]);
      try {
        const run = runDriver("deno", FAULTS, { RAYPROF_ADDRESS: durable.address }, 120_000, [
          "many",
          "100",
          "100",
          "3",
        ]);
        await sleep(1500);
        await durable.stop();
        await sleep(1000);
        await durable.start();
        const r = await run;
        assert.equal(r.code, 0, `${r.stderr}\n${nodes.map((n) => n.log).join("\n")}`);
        const out = lastJson(r) as { values: number[]; errors: Record<string, number> };
        assert.deepEqual(out.errors, {}, JSON.stringify(out));
        assert.deepEqual(out.values, Array.from({ length: 100 }, (_, i) => i));
      } finally {
        await stopAll(nodes);
      }
      for (const n of nodes) assert.match(n.log, /stopped/, n.log);
    } finally {
      await durable.close();
    }
  },
);
