/**
 * The benchmark scripts run and report every figure, at tiny sizes (these are not timings).
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const BIN = new URL("node_modules/.bin/", ROOT);
const MARK = "BENCH_JSON ";

/** Runs a bench script to its end (within a minute); its stdout, once it exited with 0. */
async function runText(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

async function runJson(cmd: string, args: string[]): Promise<Record<string, unknown>> {
  const text = await runText(cmd, args);
  const line = text.split("\n").find((l) => l.startsWith(MARK));
  assert.ok(line, `no ${MARK.trim()} line in:\n${text}`);
  return JSON.parse(line.slice(MARK.length));
}

const TINY = ["--reps=1", "--rt=20", "--warm=20", "--n=500", "--queued=2000", "--json"];
const FIGURES = [
  "rawNodeUs",
  "rawWebUs",
  "syncUs",
  "syncRatio",
  "tasksPerSec",
  "tasksPerSecNoRec",
  "recordingCost",
  "cpuUsPerTask",
];

function checkTasks(r: Record<string, unknown>): void {
  for (const k of FIGURES) {
    const xs = r[k] as number[];
    assert.equal(xs.length, 1, k);
    assert.ok(Number.isFinite(xs[0]), `${k} is ${xs[0]}`);
  }
  assert.ok(Number.isFinite(r.queuedHeapMB), "queuedHeapMB");
  assert.ok((r.drainPerSec as number) > 0, "drainPerSec");
}

Deno.test("bench/tasks.ts runs under Deno and reports every figure", async () => {
  const deno = new URL("deno", BIN).pathname;
  checkTasks(
    await runJson(deno, ["run", "-A", "--v8-flags=--expose-gc", "bench/tasks.ts", ...TINY]),
  );
});

Deno.test("bench/tasks.ts runs under Bun and reports every figure", async () => {
  checkTasks(await runJson(new URL("bun", BIN).pathname, ["bench/tasks.ts", ...TINY]));
});

Deno.test("bench/peers.mjs runs piscina and tinypool under Node", async () => {
  const r = await runJson("node", [
    "bench/peers.mjs",
    "--reps=1",
    "--rt=20",
    "--warm=20",
    "--n=500",
    "--json",
  ]);
  const pools = r.pools as Record<string, { tasksPerSec: number[]; error?: string }>;
  for (const name of ["piscina", "tinypool"]) {
    assert.equal(pools[name].error, undefined, name);
    assert.ok(pools[name].tasksPerSec[0] > 0, name);
  }
});

for (
  const [name, cmd, pre] of [
    ["Deno", "deno", ["run", "-A", "--v8-flags=--expose-gc"]],
    ["Bun", "bun", []],
  ] as const
) {
  const exe = new URL(cmd, BIN).pathname;
  Deno.test(`bench/fresh.ts runs under ${name}: first result, pipelined, sync and raw`, async () => {
    const r = await runJson(exe, [
      ...pre,
      "bench/fresh.ts",
      "--warm=20",
      "--n=200",
      "--rt=20",
      "--json",
    ]);
    for (const k of ["firstMs", "pipelinedPerSec", "syncUs", "rawUs"]) {
      assert.ok(Number.isFinite(r[k]) && (r[k] as number) > 0, `${k} is ${r[k]}`);
    }
    const bare = await runJson(exe, [...pre, "bench/fresh.ts", "--mode=bare", "--json"]);
    assert.ok((bare.firstMs as number) > 0, "bare firstMs");
  });

  Deno.test(`bench/queued.ts runs under ${name} and reports heap per task`, async () => {
    const r = await runJson(exe, [...pre, "bench/queued.ts", "--n=2000", "--json"]);
    assert.ok(Number.isFinite(r.heapBytesPerTask), `heapBytesPerTask is ${r.heapBytesPerTask}`);
    assert.ok((r.drainPerSec as number) > 0, "drainPerSec");
  });
}

Deno.test("bench/deopts.ts runs under Deno's --trace-deopt", async () => {
  const text = await runText(new URL("deno", BIN).pathname, [
    "run",
    "-A",
    "--v8-flags=--trace-deopt,--expose-gc",
    "bench/deopts.ts",
    "--rounds=2",
    // 200 tasks a round gave 0 or 1 deoptimizations (a CI rehearsal saw none); 2,000 give ≈21.
    "--n=2000",
    "--rt=10",
  ]);
  assert.match(text, /\[(bailout|marking dependent code)/);
});

Deno.test("bench/peers.mjs --protocol=fresh runs piscina under Node, and the bare floor", async () => {
  const r = await runJson("node", [
    "bench/peers.mjs",
    "--protocol=fresh",
    "--pools=piscina",
    "--warm=20",
    "--n=200",
    "--rt=20",
    "--json",
  ]);
  assert.equal(r.error, undefined);
  for (const k of ["firstMs", "pipelinedPerSec", "syncUs", "rawUs"]) {
    assert.ok((r[k] as number) > 0, `${k} is ${r[k]}`);
  }
  const bare = await runJson("node", ["bench/peers.mjs", "--protocol=bare", "--json"]);
  assert.ok((bare.firstMs as number) > 0, "bare firstMs");
});

for (
  const [name, cmd, pre] of [
    ["Deno", "deno", ["run", "-A"]],
    ["Bun", "bun", []],
  ] as const
) {
  Deno.test(`bench/wake.mjs runs under ${name}, measures each way of sleeping, and ends`, async () => {
    const text = await runText(new URL(cmd, BIN).pathname, [
      ...pre,
      "bench/wake.mjs",
      "--n=200",
      "--reps=1",
    ]);
    for (const way of ["Atomics.wait", "Atomics.waitAsync", "postMessage"]) {
      const m = new RegExp(`${way.replace(".", "\\.")}\\s+([\\d.]+) /\\s+([\\d.]+)`).exec(text);
      assert.ok(m && Number(m[1]) > 0 && Number(m[2]) > 0, `${way} in:\n${text}`);
    }
  });
}

Deno.test("bench/roundtrip_tail.ts runs under Bun and reports both rows", async () => {
  const text = await runText(new URL("bun", BIN).pathname, [
    "bench/roundtrip_tail.ts",
    "--n=200",
    "--reps=1",
    "--warm=20",
  ]);
  for (const row of ["raw", "ours"]) {
    assert.match(text, new RegExp(`^  ${row}\\s+mean\\s+[\\d.]+\\s+p50\\s+[\\d.]+`, "m"), text);
  }
});

Deno.test("bench/first_floor.mjs times every case under Deno and Bun", async () => {
  const text = await runText("node", ["bench/first_floor.mjs", "--reps=1"]);
  for (const rt of ["deno", "bun"]) {
    for (
      const label of [
        "node:worker_threads worker, bare (the floor)",
        "node:worker_threads worker importing mod.ts",
        "Web Worker, bare",
        "Web Worker importing mod.ts",
        "ours: init() to the first get",
      ]
    ) {
      const m = new RegExp(
        `^${rt}\\s+${label.replace(/[().:]/g, "\\$&")}\\s+([\\d.]+)\\s+([\\d.]+)x$`,
        "m",
      )
        .exec(text);
      assert.ok(m && Number(m[1]) > 0 && Number(m[2]) > 0, `${rt} ${label} in:\n${text}`);
    }
  }
});
