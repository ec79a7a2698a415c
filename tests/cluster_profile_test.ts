// `cli.ts profile` on a cluster: a `// @profile` remote function runs only on the nodes (a driver on
// a cluster has no workers of its own), in workers profiled for that driver; its line counts and
// function profiles come back when the driver ends and merge into the driver's reports under the
// driver's file. A node killed mid-run is given up with a warning, never waited for. Driven from
// Deno only (it starts Deno and Bun nodes itself).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  FIXTURES,
  type NodeProcess,
  type NodeSpec,
  redisForFile,
  ROOT,
  type Run,
  runDriver,
  SKIP,
  startNodes,
  stopAll,
} from "./_cluster.ts";
import { loadLineStats } from "../profile/line/stats.ts";

const SCRIPT = join(FIXTURES, "profiled.ts");
const CLI = join(ROOT, "cli.ts");

const redis = redisForFile();
let dir = "";

before(() => {
  if (!SKIP) dir = mkdtempSync(join(tmpdir(), "rayprof-cluster-profile-"));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Nodes of 2 slots, each with a code cache of its own, as on machines of their own. */
function startProfileNodes(specs: NodeSpec[]): Promise<NodeProcess[]> {
  return startNodes(
    redis.address,
    specs.map(([rt, name]) => [rt, name, 2]),
    (i) => ({ TMPDIR: mkdtempSync(join(dir, `node${i}-`)) }),
  );
}

/** Hits by line of function `name` in the saved stats, checking it is named by the driver's file. */
async function workHits(out: string, name = "work"): Promise<Record<number, number>> {
  const stats = await loadLineStats(out);
  const work = stats.functions.filter((f) => f.name === name);
  assert.equal(work.length, 1, JSON.stringify(stats.functions.map((f) => [f.file, f.name])));
  assert.equal(work[0].file, SCRIPT);
  return Object.fromEntries(work[0].lines.map((l) => [l.line, l.hits]));
}

/** The fixture's line number of the (first) line holding `text`, or being it but for indentation. */
function lineOf(text: string, whole = false): number {
  const i = readFileSync(SCRIPT, "utf8").split("\n").findIndex((l) =>
    whole ? l.trim() === text : l.includes(text)
  );
  assert.ok(i >= 0, text);
  return i + 1;
}
const SLEEP_LINE = lineOf("if (ms > 0) ray.sleepSync(ms);");
const SUM_LINE = lineOf("let sum = 0;");
const LOOP_LINE = lineOf("for (let i = 0; i < iterations; i++) {");
const BODY_LINE = lineOf("sum += i % 7;");
const RETURN_LINE = lineOf("return sum;");
const WORK_LINE = lineOf("export const work = ") - 1; // its marker's line

/** The hits of `work`'s lines for `tasks` tasks of `iter` turns. */
function expectedHits(tasks: number, iter: number): Record<number, number> {
  return {
    [SLEEP_LINE]: tasks,
    [SUM_LINE]: tasks,
    [LOOP_LINE]: tasks * (iter + 1),
    [BODY_LINE]: tasks * iter,
    [RETURN_LINE]: tasks,
  };
}

test(
  "cli.ts profile on a cluster: @profile lines counted on two Deno nodes merge under the driver's file; --per-worker names the nodes",
  { skip: SKIP, timeout: 120_000 },
  async () => {
    const nodes = await startProfileNodes([["deno", "pa"], ["deno", "pb"]]);
    try {
      const out = join(dir, "two.lprof.json");
      const t0 = Date.now();
      const r = await runDriver(
        "deno",
        CLI,
        { RAYPROF_ADDRESS: redis.address, TASKS: "12", ITER: "1000", WORK_MS: "100", CALLS: "5" },
        90_000,
        ["profile", "--functions", "--per-worker", "-o", out, SCRIPT],
      );
      const took = Date.now() - t0;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /"tasks":12/);
      assert.deepEqual(await workHits(out), expectedHits(12, 1000));
      // The actor's marked method, in the actor's own worker on a node: 5 calls of 10 turns.
      assert.deepEqual(await workHits(out, "Counter.add"), {
        [lineOf("for (let i = 0; i < k; i++) this.n++;")]: 55,
        [lineOf("return this.n;")]: 5,
      });
      assert.match(r.stderr, /^Function profile: p[ab]\/actor Counter#1$/m, r.stderr);
      // The kernprof report shows the user's source, with the counts.
      assert.match(r.stderr, /^File: .*tests\/fixtures\/cluster\/profiled\.ts$/m);
      assert.match(r.stderr, new RegExp(`^\\s+${BODY_LINE}\\s+12000\\s.*sum \\+= i % 7;$`, "m"));
      // A table per worker that ran the function, labelled with its node, on both nodes.
      for (const node of ["pa", "pb"]) {
        assert.match(
          r.stderr,
          new RegExp(`^Function profile: ${node}/worker \\d+$`, "m"),
          r.stderr,
        );
      }
      const calls = [...r.stderr.matchAll(/^\s+(\d+)\s.*profiled\.ts:(\d+)\(work\)$/gm)]
        .filter((m) => Number(m[2]) === WORK_LINE)
        .reduce((n, m) => n + Number(m[1]), 0);
      assert.equal(calls, 12, r.stderr);
      assert.doesNotMatch(r.stderr, /warning:/);
      console.log(`profiled cluster run: ${took} ms`);
      // The nodes' own pools were retired with the driver: they serve other drivers as before.
      const plain = await runDriver("deno", SCRIPT, {
        RAYPROF_ADDRESS: redis.address,
        TASKS: "4",
        ITER: "10",
      });
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /"tasks":4/);
      for (const n of nodes) assert.doesNotMatch(n.log, /rejected|error|without its pool/i, n.log);
    } finally {
      await stopAll(nodes);
    }
  },
);

test(
  "cli.ts profile --module --sample on a cluster with a Bun node: exact counts there (said in a warning), the selection matched on the node's copy, --per-worker names the Bun node",
  { skip: SKIP, timeout: 120_000 },
  async () => {
    const nodes = await startProfileNodes([["bun", "pbun"]]);
    try {
      const out = join(dir, "bun.lprof.json");
      const r = await runDriver(
        "deno",
        CLI,
        { RAYPROF_ADDRESS: redis.address, TASKS: "6", ITER: "500", WORK_MS: "10", SLOW_MS: "5" },
        90_000,
        ["profile", "--sample", "--per-worker", "--module", SCRIPT, "-o", out, SCRIPT],
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await workHits(out), expectedHits(6, 500));
      // `slow` has no marker: profiled on the node because the driver's file was selected.
      assert.deepEqual(await workHits(out, "slow"), {
        [lineOf("ray.sleepSync(ms);", true)]: 6,
        [lineOf("return ms;", true)]: 6,
      });
      assert.match(r.stderr, /^Function profile: pbun\/worker \d+$/m, r.stderr);
      assert.match(r.stderr, /^warning: the cluster's nodes count exactly: --sample's clock/m);
    } finally {
      await stopAll(nodes);
    }
  },
);

test(
  "bun cli.ts profile (a Bun driver) on a Deno node: the same counts under the driver's file",
  { skip: SKIP, timeout: 120_000 },
  async () => {
    const nodes = await startProfileNodes([["deno", "pdeno"]]);
    try {
      const out = join(dir, "bun-driver.lprof.json");
      const r = await runDriver(
        "bun",
        CLI,
        { RAYPROF_ADDRESS: redis.address, TASKS: "5", ITER: "200" },
        90_000,
        ["profile", "--per-worker", "-o", out, SCRIPT],
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await workHits(out), expectedHits(5, 200));
      assert.match(r.stderr, /^Function profile: pdeno\/worker \d+$/m, r.stderr);
    } finally {
      await stopAll(nodes);
    }
  },
);

test(
  "a profiled driver and a plain one at once on the same node: only the profiled one's tasks are counted",
  { skip: SKIP, timeout: 120_000 },
  async () => {
    const nodes = await startProfileNodes([["deno", "pshared"]]);
    try {
      const out = join(dir, "shared.lprof.json");
      const env = { RAYPROF_ADDRESS: redis.address, ITER: "100", WORK_MS: "50" };
      const [profiled, plain] = await Promise.all([
        runDriver("deno", CLI, { ...env, TASKS: "8" }, 90_000, ["profile", "-o", out, SCRIPT]),
        runDriver("deno", SCRIPT, { ...env, TASKS: "20" }),
      ]);
      assert.equal(profiled.code, 0, profiled.stderr);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /"tasks":20/);
      assert.deepEqual(await workHits(out), expectedHits(8, 100));
    } finally {
      await stopAll(nodes);
    }
  },
);

test(
  "a profiled driver that exits without shutting down: the node retires its workers once the driver's key expires",
  { skip: SKIP, timeout: 120_000 },
  async () => {
    const nodes = await startProfileNodes([["deno", "porphan"]]);
    try {
      const r = await runDriver(
        "deno",
        CLI,
        { RAYPROF_ADDRESS: redis.address, TASKS: "4", ITER: "10", EXIT: "1" },
        90_000,
        ["profile", "-o", join(dir, "exit.lprof.json"), SCRIPT],
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /"tasks":4/);
      // The driver's liveness key lives 10 s; the node looks every second.
      await nodes[0].waitFor(/driver \w+ is gone; its workers retire/, 20_000);
      assert.deepEqual(await redis.keys("rp:driver:*"), []);
    } finally {
      await stopAll(nodes);
    }
  },
);

/** Runs `cli.ts profile` on the fixture, calling `onSlow` when it starts its slow tasks. */
function profileUntil(
  env: Record<string, string>,
  args: string[],
  onSlow: () => void,
): Promise<Run & { ms: number }> {
  const t0 = Date.now();
  return new Promise((ok) => {
    const c = spawn(join(ROOT, "node_modules", ".bin", "deno"), ["run", "-A", CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", ...env },
    });
    let stdout = "";
    let stderr = "";
    let told = false;
    const killer = setTimeout(() => c.kill("SIGKILL"), 90_000);
    c.stdout.on("data", (d) => (stdout += d));
    c.stderr.on("data", (d) => {
      stderr += d;
      if (!told && stderr.includes("profiled: slow tasks")) {
        told = true;
        onSlow();
      }
    });
    c.on("exit", (code) => {
      clearTimeout(killer);
      ok({ code: code ?? 137, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

test(
  "a node killed mid-run does not hang the profiled driver: the report is printed, a warning names the node",
  { skip: SKIP, timeout: 120_000 },
  async () => {
    const nodes = await startProfileNodes([["deno", "pkeep"], ["deno", "pdoomed"]]);
    try {
      const out = join(dir, "killed.lprof.json");
      const r = await profileUntil(
        {
          RAYPROF_ADDRESS: redis.address,
          TASKS: "8",
          ITER: "100",
          WORK_MS: "100",
          SLOW_MS: "400",
        },
        ["profile", "--per-worker", "-o", out, SCRIPT],
        () => setTimeout(() => nodes[1].child.kill("SIGKILL"), 200),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /"tasks":8/);
      assert.match(r.stderr, /^warning: node 'pdoomed' is gone: .*missing$/m, r.stderr);
      // What the surviving node counted is there; the dead node's part is not.
      const hits = await workHits(out);
      assert.ok(hits[BODY_LINE] > 0 && hits[BODY_LINE] < 800, JSON.stringify(hits));
      assert.equal(hits[BODY_LINE], hits[SUM_LINE] * 100);
      assert.match(r.stderr, /^Function profile: pkeep\/worker \d+$/m, r.stderr);
      assert.doesNotMatch(r.stderr, /^Function profile: pdoomed\//m);
      // Noticed when its registration expired (3 s), not after the 15 s collection timeout.
      assert.ok(r.ms < 25_000, `${r.ms} ms`);
      console.log(`profiled run with a node killed: ${r.ms} ms`);
    } finally {
      await stopAll(nodes);
    }
  },
);
