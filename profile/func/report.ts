/**
 * The function profiler's report: text laid out exactly as Python's `pstats.Stats.print_stats()`
 * prints it, so that users of cProfile read it at a glance.
 *
 * ```text
 *          23 function calls (20 primitive calls) in 2.512 seconds
 *
 *    Ordered by: cumulative time
 *
 *    ncalls  tottime  percall  cumtime  percall filename:lineno(function)
 *         1    0.000    0.000    2.509    2.509 examples/loops.ts:23(ex1)
 *       4/1    0.000    0.000    0.000    0.000 tests/fixtures/funcprof/recursion.ts:2(fact)
 * ```
 *
 * The first percall is tottime/ncalls, the second cumtime/primitive calls, as in pstats. Await
 * sites of async functions are rows named `<await f>` at the line of the `await`; see
 * `collector.ts` for how time is attributed.
 *
 * @module
 */

import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type FuncStats, funcTotals, sortFuncStats, stdName } from "./stats.ts";

/** Options for {@linkcode formatFuncStats}. */
export interface FormatFuncStatsOptions {
  /**
   * pstats sort keys (or abbreviations), most significant first.
   * @default {["cumulative"]}
   */
  sort?: string[];
  /** Show files relative to this directory (when below it). */
  cwd?: string;
  /**
   * Show only file names, like `Stats.strip_dirs()`.
   * @default {false}
   */
  stripDirs?: boolean;
  /** Show at most this many rows (pstats `print_stats(n)`). */
  limit?: number;
  /** A line printed above the table, e.g. which worker it is. */
  title?: string;
}

/**
 * Formats stats as pstats prints them.
 *
 * @param stats The stats.
 * @param options Sort order and how files are shown.
 * @returns The report text, ending with two blank lines as pstats' does.
 * @throws {RangeError} If a sort key is unknown.
 *
 * @example A recursive function
 * ```ts
 * import { formatFuncStats } from "./report.ts";
 * import assert from "node:assert/strict";
 * const text = formatFuncStats({
 *   functions: [{ file: "/x/fib.ts", line: 1, name: "fib", calls: 4, primitiveCalls: 1, tottime: 0.002, cumtime: 0.002 }],
 * }, { cwd: "/x" });
 * assert.match(text, /^ {9}4 function calls \(1 primitive calls\) in 0\.002 seconds$/m);
 * assert.match(text, /^ {6}4\/1    0\.002    0\.001    0\.002    0\.002 fib\.ts:1\(fib\)$/m);
 * ```
 */
export function formatFuncStats(stats: FuncStats, options: FormatFuncStatsOptions = {}): string {
  const display = (file: string) => displayFile(file, options);
  const { rows, orderedBy } = sortFuncStats(stats, options.sort ?? ["cumulative"], {
    displayFile: display,
  });
  const totals = funcTotals(stats);
  const out: string[] = [];
  if (options.title) out.push(options.title, "");
  const calls = totals.calls !== totals.primitiveCalls
    ? `${totals.calls} function calls (${totals.primitiveCalls} primitive calls)`
    : `${totals.calls} function calls`;
  out.push(`         ${calls} in ${totals.time.toFixed(3)} seconds`, "");
  const shown = options.limit !== undefined ? rows.slice(0, Math.max(0, options.limit)) : rows;
  out.push(`   Ordered by: ${orderedBy}`);
  if (shown.length < rows.length) {
    out.push(
      `   List reduced from ${rows.length} to ${shown.length} due to restriction <${options.limit}>`,
    );
  }
  out.push("");
  if (shown.length > 0) {
    out.push("   ncalls  tottime  percall  cumtime  percall filename:lineno(function)");
    for (const f of shown) {
      const nc = f.calls === f.primitiveCalls ? `${f.calls}` : `${f.calls}/${f.primitiveCalls}`;
      out.push(
        [
          nc.padStart(9),
          f8(f.tottime),
          f.calls === 0 ? " ".repeat(8) : f8(f.tottime / f.calls),
          f8(f.cumtime),
          f.primitiveCalls === 0 ? " ".repeat(8) : f8(f.cumtime / f.primitiveCalls),
          stdName(f, display(f.file)),
        ].join(" "),
      );
    }
    out.push("", "");
  }
  return out.join("\n") + "\n";
}

function f8(x: number): string {
  return x.toFixed(3).padStart(8);
}

function displayFile(file: string, options: FormatFuncStatsOptions): string {
  let path = file;
  if (path.startsWith("file:")) {
    try {
      path = fileURLToPath(path);
    } catch {
      // keep the URL
    }
  }
  if (options.stripDirs) {
    return path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  }
  if (options.cwd && !path.includes("://")) {
    const rel = relative(options.cwd, path);
    if (!rel.startsWith("..") && !rel.startsWith("/")) return rel;
  }
  return path;
}
