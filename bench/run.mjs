/**
 * One command for every benchmark: ours under Deno and Bun (bench/tasks.ts), piscina and tinypool
 * under Node and Bun (bench/peers.mjs), one after the other, then one table side by side.
 *
 *   node bench/run.mjs [--reps=7] [--quick]      (npm run bench)
 *
 * --quick runs tiny sizes (a smoke run, not figures).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
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

/**
 * Runs one benchmark script; its progress goes to our stderr, its table to our stdout.
 * @param {string} cmd
 * @param {string[]} args
 * @returns {Promise<any>} the figures from its JSON line, or undefined if it failed
 */
function runScript(cmd, args) {
  console.error(`\n$ ${[cmd.replace(ROOT, ""), ...args].join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", (e) => {
      console.error(`Cannot run ${cmd}: ${e.message}`);
      resolve(undefined);
    });
    child.on("close", (code) => {
      const lines = out.split("\n");
      const json = lines.find((l) => l.startsWith(JSON_MARK));
      console.log(lines.filter((l) => !l.startsWith(JSON_MARK)).join("\n").trimEnd());
      if (code !== 0 || !json) {
        console.error(`${cmd} ${args.join(" ")} failed (exit code ${code})`);
        resolve(undefined);
      } else resolve(JSON.parse(json.slice(JSON_MARK.length)));
    });
  });
}

/**
 * @param {number[] | undefined} xs
 * @param {number} [digits]
 */
function med(xs, digits = 0) {
  return xs && xs.length ? fmt(median(xs), digits) : "-";
}

async function main() {
  const o = parseArgs({ reps: 7, quick: false });
  const size = o.quick
    ? ["--reps=1", "--rt=100", "--warm=500", "--n=2000", "--queued=5000"]
    : [`--reps=${o.reps}`];
  const peerSize = o.quick
    ? ["--reps=1", "--rt=100", "--warm=500", "--n=2000"]
    : [`--reps=${Math.min(o.reps, 5)}`];
  const deno = await runScript(bin("deno"), [
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    "bench/tasks.ts",
    "--json",
    ...size,
  ]);
  const bun = await runScript(bin("bun"), ["bench/tasks.ts", "--json", ...size]);
  const nodePeers = await runScript(process.execPath, ["bench/peers.mjs", "--json", ...peerSize]);
  const bunPeers = await runScript(bin("bun"), ["bench/peers.mjs", "--json", ...peerSize]);

  const ours = [["rayprof / deno", deno], ["rayprof / bun", bun]];
  /** @type {[string, any][]} */
  const peers = [];
  for (const [label, r] of [["node", nodePeers], ["bun", bunPeers]]) {
    for (const name of ["piscina", "tinypool"]) {
      const p = r?.pools?.[name];
      if (p && !p.error) peers.push([`${name} / ${label}`, p]);
    }
  }
  const head = ["measure (medians)", ...ours.map(([l]) => l), ...peers.map(([l]) => l)];
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
      `${fmt((deno ?? bun)?.options.queued)} queued: RSS growth, MB (≤ 500)`,
      (r) => fmt(r.queuedRssMB),
      () => "",
    ),
    row("  heap growth, MB", (r) => fmt(r.queuedHeapMB), () => ""),
    row("  heap growth, recording off, MB", (r) => fmt(r.queuedHeapNoRecMB), () => ""),
  ];
  console.log(`\nAll figures from this run (${new Date().toISOString()}):`);
  console.log(table(rows));

  // Ours against each peer, throughput and round trip, as ratios.
  const cmp = [[
    "ours ÷ peer",
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
  return deno && bun && nodePeers && bunPeers ? 0 : 1;
}

process.exitCode = await main();
