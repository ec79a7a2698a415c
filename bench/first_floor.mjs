/**
 * Where the floor of the first result lies (issue 14): the time from a new worker to its first
 * message back, bare and after importing mod.ts (what our worker must do before it can run a
 * task of a module that imports the runtime), as a `node:worker_threads` worker and as a Web
 * Worker, beside our own first result (`init()` to the first `get`), under Deno and Bun. Each
 * figure is the median over `--reps` new processes, the cases interleaved run for run; ratios
 * are to the bare `node:worker_threads` worker, bench/fresh.ts's floor.
 *
 *   node bench/first_floor.mjs [--reps=11]
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, median, parseArgs, table } from "./_util.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** @param {string} n */
const bin = (n) => {
  const local = join(ROOT, "node_modules/.bin", n);
  return existsSync(local) ? local : n;
};
const opts = parseArgs({ reps: 11 });
const CASES = [
  ["node-bare", "node:worker_threads worker, bare (the floor)"],
  ["node-mod", "node:worker_threads worker importing mod.ts"],
  ["web-bare", "Web Worker, bare"],
  ["web-mod", "Web Worker importing mod.ts"],
  ["ours", "ours: init() to the first get"],
];

/**
 * @param {string} rt
 * @param {string} which
 * @returns {number} ms, as the probe measured it
 */
function once(rt, which) {
  const probe = join(ROOT, "bench/_floor_probe.ts");
  const args = rt === "deno" ? ["run", "-A", probe, which] : [probe, which];
  const r = spawnSync(bin(rt), args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${rt} ${args.join(" ")} failed: ${r.stderr}`);
  return Number(r.stdout.trim().split("\n").pop());
}

/** @type {string[][]} */
const rows = [];
for (const rt of ["deno", "bun"]) {
  /** @type {Record<string, number[]>} */
  const runs = Object.fromEntries(CASES.map(([k]) => [k, []]));
  for (let i = 0; i < opts.reps; i++) {
    // Rotate the order, so no case always runs right after the same one.
    for (let k = 0; k < CASES.length; k++) {
      const [which] = CASES[(k + i) % CASES.length];
      runs[which].push(once(rt, which));
    }
  }
  const floor = median(runs["node-bare"]);
  for (const [which, label] of CASES) {
    const m = median(runs[which]);
    rows.push([rt, label, fmt(m, 1), fmt(m / floor, 2) + "x"]);
  }
}
console.log(`First message back from a new worker, ms (median of ${opts.reps} processes each)`);
console.log(table([["runtime", "case", "ms", "/ floor"], ...rows]));
