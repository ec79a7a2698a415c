/**
 * What a fresh process pays before its first task (issue 14): the time to import mod.ts, and the
 * wall time of a whole program that starts the runtime, gets one no-op result and shuts down
 * (bench/_first_program.ts), under Deno and Bun. Each figure is the median over `--reps` new
 * processes; with `--base=DIR` (another checkout, e.g. a `git worktree` of an older commit) its
 * figures are measured interleaved with this checkout's, run for run, and the ratio is given.
 *
 *   node bench/startup.mjs [--reps=15] [--base=DIR]
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
const opts = parseArgs({ reps: 15, base: "" });
const roots = [ROOT, ...(opts.base ? [opts.base] : [])];

/**
 * @param {string} rt
 * @param {string} root
 * @param {"import" | "program"} what
 * @returns {number} ms, from the process's own clock (import) or wall time (program)
 */
function once(rt, root, what) {
  const probe = join(ROOT, "bench/_import_probe.ts");
  const program = join(root, "bench/_first_program.ts");
  const args = what === "import"
    ? (rt === "deno" ? ["run", "-A", probe, join(root, "mod.ts")] : [probe, join(root, "mod.ts")])
    : (rt === "deno" ? ["run", "-A", program] : [program]);
  const t0 = performance.now();
  const r = spawnSync(bin(rt), args, { encoding: "utf8" });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${rt} ${args.join(" ")} failed: ${r.stderr}`);
  return what === "import" ? Number(r.stdout.trim()) : wall;
}

/** @type {string[][]} */
const rows = [];
for (const rt of ["deno", "bun"]) {
  for (const what of ["import", "program"]) {
    /** @type {number[][]} */
    const runs = roots.map(() => []);
    for (let i = 0; i < opts.reps; i++) {
      roots.forEach((root, k) => runs[k].push(once(rt, root, what)));
    }
    const m = runs.map(median);
    rows.push([
      rt,
      what === "import" ? "import mod.ts (ms)" : "whole first-result program (ms)",
      fmt(m[0], 1),
      ...(opts.base ? [fmt(m[1], 1), fmt(m[0] / m[1], 2) + "x"] : []),
    ]);
  }
}
console.log(
  table([["runtime", "figure", "this checkout", ...(opts.base ? ["base", "ratio"] : [])], ...rows]),
);
