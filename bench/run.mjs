/**
 * One command for every benchmark, ours under Deno and Bun beside the floors and the peers
 * (piscina, tinypool on Node and Bun), and one table.
 *
 * The default protocol is a fresh process (issue 14): real programs are short. Each figure is the
 * median over `--reps` new processes, interleaved (ours, its floor, the peers, then again):
 * - time to the first result: ours from `init()` to the first `get` resolving (bench/fresh.ts),
 *   a peer's from its constructor to its first `run()` resolving, the floor a bare
 *   `node:worker_threads` worker's first message back, in a process of its own;
 * - then, in the same process, after a warm-up of 2,000 tasks: the first 20,000 pipelined tasks,
 *   and 2,000 sync round trips interleaved with a raw ping-pong given the same warm-up;
 * - the same round trips while two other processes keep both cores busy (`--load-reps`);
 * - memory of 1,000,000 queued tasks (bench/queued.ts, `--mem-reps` processes);
 * - deoptimizations in Deno over 20 rounds with a major collection before each
 *   (bench/deopts.ts under --trace-deopt), and with none, for comparison.
 * The long warm-up figures (bench/tasks.ts and bench/peers.mjs after 30,000 warm-up round trips)
 * follow as a second table (`--long-reps`, 0 to skip).
 *
 *   node bench/run.mjs [--reps=11] [--load-reps=5] [--mem-reps=3] [--long-reps=7] [--quick]
 *
 * --quick runs tiny sizes once (a smoke run, not figures).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { fmt, JSON_MARK, median, parseArgs, table } from "./_util.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * @param {string} name
 * @returns {string}
 */
function bin(name) {
  const local = fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
  return existsSync(local) ? local : name;
}

const DENO = bin("deno");
const BUN = bin("bun");
const NODE = process.execPath;

/**
 * Runs one process to its end and collects its output.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ echo?: boolean }} [o] echo: pass its stdout through (its table), else keep it quiet
 * @returns {Promise<{ code: number | null, out: string }>}
 */
function runProcess(cmd, args, o = {}) {
  if (o.echo) console.error(`\n$ ${[cmd.replace(ROOT, ""), ...args].join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", o.echo ? "inherit" : "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr?.on("data", (d) => (err += d));
    child.on("error", (e) => {
      console.error(`Cannot run ${cmd}: ${e.message}`);
      resolve({ code: -1, out });
    });
    child.on("close", (code) => {
      if (code !== 0) console.error(`${cmd} ${args.join(" ")} failed (exit code ${code})\n${err}`);
      resolve({ code, out });
    });
  });
}

/**
 * Runs a bench script; returns the figures of its JSON line, or undefined if it failed.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ echo?: boolean }} [o]
 * @returns {Promise<any>}
 */
async function runJson(cmd, args, o = {}) {
  const { code, out } = await runProcess(cmd, args, o);
  const lines = out.split("\n");
  const json = lines.find((l) => l.startsWith(JSON_MARK));
  if (o.echo) console.log(lines.filter((l) => !l.startsWith(JSON_MARK)).join("\n").trimEnd());
  if (code !== 0 || !json) return undefined;
  return JSON.parse(json.slice(JSON_MARK.length));
}

/** The 1-, 5- and 15-minute load averages (Linux), or "?". */
function loadAverage() {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

/**
 * Starts `n` processes that keep a core busy each, until the returned function is called.
 * @param {number} n
 * @returns {() => void}
 */
function startLoad(n) {
  const hogs = [];
  for (let i = 0; i < n; i++) {
    hogs.push(spawn(NODE, ["-e", "for (;;) {}"], { stdio: "ignore" }));
  }
  return () => {
    for (const h of hogs) h.kill();
  };
}

/**
 * @param {number[] | undefined} xs
 * @param {number} [digits]
 */
function med(xs, digits = 0) {
  return xs && xs.length ? fmt(median(xs), digits) : "-";
}

/**
 * "median (min–max)".
 * @param {number[] | undefined} xs
 * @param {number} [digits]
 */
function spread(xs, digits = 0) {
  if (!xs || xs.length === 0) return "-";
  if (xs.length === 1) return fmt(xs[0], digits);
  return `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${
    fmt(Math.max(...xs), digits)
  })`;
}

/**
 * The subjects of the fresh-process runs: ours under Deno and Bun, the peers under Node and Bun.
 * @param {{ quick: boolean }} o
 */
function subjects(o) {
  const tiny = o.quick ? ["--warm=100", "--n=500", "--rt=50"] : [];
  const ours = (
    /** @type {string} */ label,
    /** @type {string} */ cmd,
    /** @type {string[]} */ pre,
  ) => ({
    label,
    run: () => runJson(cmd, [...pre, "bench/fresh.ts", "--json", ...tiny]),
    bare: () => runJson(cmd, [...pre, "bench/fresh.ts", "--json", "--mode=bare"]),
  });
  const peer = (
    /** @type {string} */ label,
    /** @type {string} */ cmd,
    /** @type {string} */ pool,
  ) => ({
    label,
    run: () =>
      runJson(cmd, ["bench/peers.mjs", "--json", "--protocol=fresh", `--pools=${pool}`, ...tiny]),
    bare: () => runJson(cmd, ["bench/peers.mjs", "--json", "--protocol=bare"]),
  });
  return [
    ours("rayprof / deno", DENO, ["run", "-A"]),
    ours("rayprof / bun", BUN, []),
    peer("piscina / node", NODE, "piscina"),
    peer("tinypool / node", NODE, "tinypool"),
    peer("piscina / bun", BUN, "piscina"),
    peer("tinypool / bun", BUN, "tinypool"),
  ];
}

/**
 * @typedef {{ first: number[], bare: number[], firstRatio: number[], pipe: number[], sync: number[],
 *   raw: number[], ratio: number[], loadSync: number[], loadRaw: number[], loadRatio: number[] }} Fresh
 */

/**
 * Runs every subject once per rep, interleaved; each run is a new process.
 * @param {ReturnType<typeof subjects>} subs
 * @param {Fresh[]} acc
 * @param {number} reps
 * @param {boolean} loaded figures go to the under-load rows (and no floor of the first result)
 */
async function freshRuns(subs, acc, reps, loaded) {
  for (let rep = 0; rep < reps; rep++) {
    // Rotate the order, so no subject always runs right after the same one.
    for (let k = 0; k < subs.length; k++) {
      const i = (k + rep) % subs.length;
      const r = await subs[i].run();
      if (!r || r.error) {
        if (r?.error) console.error(`${subs[i].label}: ${r.error}`);
        continue;
      }
      const a = acc[i];
      if (loaded) {
        a.loadSync.push(r.syncUs);
        a.loadRaw.push(r.rawUs);
        a.loadRatio.push(r.syncUs / r.rawUs);
        continue;
      }
      a.first.push(r.firstMs);
      a.pipe.push(r.pipelinedPerSec);
      a.sync.push(r.syncUs);
      a.raw.push(r.rawUs);
      a.ratio.push(r.syncUs / r.rawUs);
      // The floor of the first result right after, in a process of its own.
      const b = await subs[i].bare();
      if (b) {
        a.bare.push(b.firstMs);
        a.firstRatio.push(r.firstMs / b.firstMs);
      }
    }
    console.error(`[run] ${loaded ? "under load" : "fresh"}: rep ${rep + 1} of ${reps} done`);
  }
}

/**
 * Deno's deoptimizations over bench/deopts.ts.
 * @param {string} gcKind
 * @param {boolean} quick
 * @returns {Promise<{ total: number, weak: number } | undefined>}
 */
async function deopts(gcKind, quick) {
  const size = quick ? ["--rounds=3", "--n=500", "--rt=20"] : [];
  const { code, out } = await runProcess(DENO, [
    "run",
    "-A",
    "--v8-flags=--trace-deopt,--expose-gc",
    "bench/deopts.ts",
    `--gc=${gcKind}`,
    ...size,
  ]);
  if (code !== 0) return undefined;
  // Worker threads print into the same stream: count fragments, lines may interleave.
  const count = (/** @type {RegExp} */ re) => (out.match(re) ?? []).length;
  return {
    total: count(/\[bailout \(kind/g) + count(/\[marking dependent code/g),
    weak: count(/embedded weak obj/g),
  };
}

async function main() {
  const o = parseArgs({ reps: 11, "load-reps": 5, "mem-reps": 3, "long-reps": 7, quick: false });
  const reps = o.quick ? 1 : o.reps;
  const loadReps = o.quick ? 0 : o["load-reps"];
  const memReps = o.quick ? 1 : o["mem-reps"];
  const longReps = o.quick ? 1 : o["long-reps"];
  const started = new Date();
  const loadStart = loadAverage();
  const subs = subjects(o);
  /** @type {Fresh[]} */
  const acc = subs.map(() => ({
    first: [],
    bare: [],
    firstRatio: [],
    pipe: [],
    sync: [],
    raw: [],
    ratio: [],
    loadSync: [],
    loadRaw: [],
    loadRatio: [],
  }));

  // 1. Fresh processes.
  await freshRuns(subs, acc, reps, false);

  // 2. Memory of queued tasks, a new process each time.
  const memSize = o.quick ? ["--n=5000"] : [];
  /** @type {{ heap: number[], rss: number[] }[]} */
  const mem = [{ heap: [], rss: [] }, { heap: [], rss: [] }];
  for (let rep = 0; rep < memReps; rep++) {
    const rs = [
      await runJson(DENO, [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        "bench/queued.ts",
        "--json",
        ...memSize,
      ]),
      await runJson(BUN, ["bench/queued.ts", "--json", ...memSize]),
    ];
    rs.forEach((r, i) => {
      if (!r) return;
      mem[i].heap.push(r.heapBytesPerTask);
      mem[i].rss.push(r.rssMB);
    });
  }

  // 3. Deoptimizations (Deno).
  const deoptMajor = await deopts("major", o.quick);
  const deoptNone = await deopts("none", o.quick);

  // 4. Under load: two processes keep both cores busy.
  /** @type {string} */
  let loadDuring = "";
  if (loadReps > 0) {
    const stop = startLoad(2);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      await freshRuns(subs, acc, loadReps, true);
      loadDuring = loadAverage();
    } finally {
      stop();
    }
  }
  const freshEnd = loadAverage();

  // 5. The long warm-up protocol, the second table.
  /** @type {any} */
  let deno, bun, nodePeers, bunPeers;
  if (longReps > 0) {
    const size = o.quick
      ? ["--reps=1", "--rt=100", "--warm=500", "--n=2000", "--queued=5000"]
      : [`--reps=${longReps}`];
    const peerSize = o.quick
      ? ["--reps=1", "--rt=100", "--warm=500", "--n=2000"]
      : [`--reps=${Math.min(longReps, 5)}`];
    const echo = { echo: true };
    deno = await runJson(DENO, [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      "bench/tasks.ts",
      "--json",
      ...size,
    ], echo);
    bun = await runJson(BUN, ["bench/tasks.ts", "--json", ...size], echo);
    nodePeers = await runJson(NODE, ["bench/peers.mjs", "--json", ...peerSize], echo);
    bunPeers = await runJson(BUN, ["bench/peers.mjs", "--json", ...peerSize], echo);
  }

  // The fresh-process table.
  const labels = subs.map((s) => s.label);
  const ours = [0, 1];
  /**
   * @param {string} label
   * @param {(a: Fresh, i: number) => string} cell
   * @param {boolean} [oursOnly]
   */
  const row = (label, cell, oursOnly = false) => [
    label,
    ...acc.map((a, i) => (oursOnly && !ours.includes(i) ? "" : cell(a, i))),
  ];
  const x = (/** @type {number[]} */ xs, digits = 2) => xs.length ? `${med(xs, digits)}x` : "-";
  const rows = [
    ["fresh process (medians of new processes)", ...labels],
    row("time to first result, ms", (a) => spread(a.first, 1)),
    row("  bare worker's first message, ms", (a) => spread(a.bare, 1)),
    row("  ÷ bare worker (target ≤ 1.2x)", (a) => x(a.firstRatio)),
    row("first 20,000 pipelined, tasks/s (≥ 250,000)", (a) => spread(a.pipe)),
    row("sync round trip, µs", (a) => spread(a.sync, 1)),
    row("  raw ping-pong, same processes, µs", (a) => spread(a.raw, 1)),
    row("  ÷ raw (target ≤ 1.1x)", (a) => x(a.ratio)),
    row("under load: sync round trip, µs", (a) => spread(a.loadSync, 1)),
    row("  raw ping-pong, µs", (a) => spread(a.loadRaw, 1)),
    row("  ÷ raw (target ≤ 1.5x)", (a) => x(a.loadRatio)),
    row("heap per queued task, bytes (≤ 150)", (_a, i) => spread(mem[i].heap), true),
    row("1,000,000 queued: RSS growth, MB (≤ 250)", (_a, i) => spread(mem[i].rss), true),
    row(
      "deopts, 20 rounds with a major GC each",
      (_a, i) => i === 0 && deoptMajor ? `${deoptMajor.total} (weak: ${deoptMajor.weak})` : "",
      true,
    ),
    row(
      "  same, no GC between rounds",
      (_a, i) => i === 0 && deoptNone ? `${deoptNone.total} (weak: ${deoptNone.weak})` : "",
      true,
    ),
  ];
  console.log(
    `\nFresh-process figures (${started.toISOString()}; ${reps} processes a subject, ${loadReps} under load; load average ${loadStart} at start, ${
      loadDuring ? `${loadDuring} under load, ` : ""
    }${freshEnd} after):`,
  );
  console.log(table(rows));

  // Ours against each peer, as ratios of the medians.
  const cmp = [["ours ÷ peer (fresh)", "first result", "first 20,000 tasks/s", "sync round trip"]];
  for (const i of ours) {
    for (let j = 2; j < subs.length; j++) {
      const [a, p] = [acc[i], acc[j]];
      if (!a.sync.length || !p.sync.length) continue;
      cmp.push([
        `${labels[i]} ÷ ${labels[j]}`,
        `${fmt(median(a.first) / median(p.first), 2)}x`,
        `${fmt(median(a.pipe) / median(p.pipe), 2)}x`,
        `${fmt(median(a.sync) / median(p.sync), 2)}x`,
      ]);
    }
  }
  if (cmp.length > 1) console.log(`\n${table(cmp)}`);

  if (longReps > 0) printLong(deno, bun, nodePeers, bunPeers);
  const ok = acc.every((a) => a.sync.length > 0) &&
    (longReps === 0 || (deno && bun && nodePeers && bunPeers));
  return ok ? 0 : 1;
}

/**
 * The long warm-up table (bench/tasks.ts, bench/peers.mjs).
 * @param {any} deno
 * @param {any} bun
 * @param {any} nodePeers
 * @param {any} bunPeers
 */
function printLong(deno, bun, nodePeers, bunPeers) {
  const ours = [["rayprof / deno", deno], ["rayprof / bun", bun]];
  /** @type {[string, any][]} */
  const peers = [];
  for (const [label, r] of [["node", nodePeers], ["bun", bunPeers]]) {
    for (const name of ["piscina", "tinypool"]) {
      const p = r?.pools?.[name];
      if (p && !p.error) peers.push([`${name} / ${label}`, p]);
    }
  }
  const head = [
    "long warm-up: 30,000 round trips (medians)",
    ...ours.map(([l]) => l),
    ...peers.map(([l]) => l),
  ];
  /**
   * @param {string} label
   * @param {(r: any) => string} ourCell
   * @param {(p: any) => string} peerCell
   */
  const row = (label, ourCell, peerCell) => [
    label,
    ...ours.map(([, r]) => (r ? ourCell(r) : "failed")),
    ...peers.map(([, p]) => peerCell(p)),
  ];
  const rows = [
    head,
    row("raw worker_threads ping-pong, µs", (r) => med(r.rawNodeUs, 1), (p) => med(p.rawUs, 1)),
    row("raw Web Worker ping-pong, µs", (r) => med(r.rawWebUs, 1), () => ""),
    row("sync round trip, µs", (r) => med(r.syncUs, 1), (p) => med(p.syncUs, 1)),
    row(
      "  ÷ raw worker_threads (target ≤ 1.2x)",
      (r) => `${med(r.syncRatio, 2)}x`,
      (p) => `${med(p.ratio, 2)}x`,
    ),
    row(
      "pipelined no-op tasks/s, 2 workers (≥ 100,000)",
      (r) => med(r.tasksPerSec),
      (p) => med(p.tasksPerSec),
    ),
    row("  recording off", (r) => med(r.tasksPerSecNoRec), () => ""),
    row(
      "  recording cost (≤ 5%)",
      (r) => `${med(r.recordingCost.map((/** @type {number} */ x) => x * 100), 1)}%`,
      () => "",
    ),
    row(
      "  recording cost in CPU time (≤ 5%)",
      (r) => `${med(r.recordingCpuCost?.map((/** @type {number} */ x) => x * 100), 1)}%`,
      () => "",
    ),
    row(
      "  CPU µs per task, all threads",
      (r) => med(r.cpuUsPerTask, 2),
      (p) => med(p.cpuUsPerTask, 2),
    ),
    row(
      `${fmt((deno ?? bun)?.options.queued)} queued: RSS growth, MB (≤ 250)`,
      (r) => fmt(r.queuedRssMB),
      () => "",
    ),
    row("  heap per task, bytes (≤ 150)", (r) => fmt(r.queuedHeapBytesPerTask), () => ""),
    row("  heap growth, recording off, MB", (r) => fmt(r.queuedHeapNoRecMB), () => ""),
  ];
  console.log(`\nLong warm-up figures (${new Date().toISOString()}, load ${loadAverage()}):`);
  console.log(table(rows));
  const cmp = [[
    "ours ÷ peer (long warm-up)",
    "tasks/s (higher: ours faster)",
    "sync round trip (lower: ours faster)",
  ]];
  for (const [ol, r] of ours) {
    if (!r) continue;
    for (const [pl, p] of peers) {
      cmp.push([
        `${ol} ÷ ${pl}`,
        `${fmt(median(r.tasksPerSec) / median(p.tasksPerSec), 2)}x`,
        `${fmt(median(r.syncUs) / median(p.syncUs), 2)}x`,
      ]);
    }
  }
  if (cmp.length > 1) console.log(`\n${table(cmp)}`);
}

process.exitCode = await main();
