/**
 * What the CLI does with the function profiler's data after a run: the pstats table (merged over
 * the driver and the workers, or one per thread), the speedscope file, and the rows of the HTML
 * report's function table. One call, so `cli.ts` stays a thin wrapper.
 *
 * @example
 * ```ts ignore
 * import { afterFunctionProfile } from "./func_reports.ts";
 * const out = afterFunctionProfile(result.functions!, { sort: ["tottime"], speedscope: "out.json" });
 * process.stdout.write(out.text);
 * ```
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import type { FuncThreadResult } from "./session.ts";
import { type FuncStats, funcStatsFromThread, mergeFuncStats } from "../func/stats.ts";
import { formatFuncStats } from "../func/report.ts";
import { toSpeedscope } from "../func/speedscope.ts";
import type { FunctionProfileRow } from "../views/html.ts";

/** Options for {@linkcode afterFunctionProfile}. */
export interface AfterFunctionProfileOptions {
  /**
   * pstats sort keys.
   * @default {["cumulative"]}
   */
  sort?: string[];
  /**
   * One table per thread (the driver, each worker) instead of one merged table.
   * @default {false}
   */
  perWorker?: boolean;
  /** Show files relative to this directory. */
  cwd?: string;
  /** Write speedscope's JSON here. */
  speedscope?: string;
  /** Name of the speedscope file's profile group, e.g. the script's name. */
  name?: string;
}

/** What {@linkcode afterFunctionProfile} produced. */
export interface AfterFunctionProfileResult {
  /** Text to print. */
  text: string;
  /** The merged stats. */
  stats: FuncStats;
  /** Files written. */
  files: string[];
}

/**
 * Formats the function profile and writes the requested files.
 *
 * @param threads The function profiler's data of each thread.
 * @param options Sort order, per-thread tables, speedscope file.
 * @returns The text to print, the merged stats and the files written.
 * @throws {RangeError} If a sort key is unknown.
 * @throws {Error} The file system's error when a file cannot be written.
 */
export function afterFunctionProfile(
  threads: FuncThreadResult[],
  options: AfterFunctionProfileOptions = {},
): AfterFunctionProfileResult {
  const { text, stats } = formatFunctionProfile(threads, options);
  const parts = [text];
  const files: string[] = [];
  if (options.speedscope) {
    const file = toSpeedscope(threads, { name: options.name });
    // Synchronous: after an unhandled rejection, Bun ends the process at the next await.
    writeFileSync(options.speedscope, JSON.stringify(file));
    files.push(options.speedscope);
    const events = file.profiles.reduce((n, p) => n + p.events.length, 0);
    const dropped = threads.reduce((n, t) => n + (t.data.droppedEvents ?? 0), 0);
    parts.push(
      `Speedscope: wrote ${events} events of ${file.profiles.length} threads to ${options.speedscope}` +
        (dropped ? ` (${dropped} later events dropped)` : "") +
        `\n  open it in https://www.speedscope.app (Browse) or with 'npx speedscope FILE'\n`,
    );
  }
  return { text: parts.join("\n"), stats, files };
}

/**
 * The pstats table(s) of a run, synchronously (for a process that is about to exit).
 *
 * @param threads The function profiler's data of each thread.
 * @param options Sort order and per-thread tables (`speedscope` is ignored).
 * @returns The text and the merged stats.
 * @throws {RangeError} If a sort key is unknown.
 */
export function formatFunctionProfile(
  threads: FuncThreadResult[],
  options: AfterFunctionProfileOptions = {},
): { text: string; stats: FuncStats } {
  const perThread = threads.map((t) => ({ label: t.label, stats: funcStatsFromThread(t.data) }));
  const stats = mergeFuncStats(...perThread.map((t) => t.stats));
  const format = { sort: options.sort, cwd: options.cwd };
  const parts: string[] = [];
  if (options.perWorker) {
    // Workers that ran no profiled function get no table; the driver always does.
    for (const t of perThread.filter((t, i) => i === 0 || t.stats.functions.length > 0)) {
      parts.push(formatFuncStats(t.stats, { ...format, title: `Function profile: ${t.label}` }));
    }
  } else {
    const workers = perThread.length - 1;
    const title = workers > 0
      ? `Function profile: driver and ${workers} worker${workers === 1 ? "" : "s"} merged`
      : "Function profile";
    parts.push(formatFuncStats(stats, { ...format, title }));
  }
  return { text: parts.join("\n"), stats };
}

/**
 * The HTML report's function table rows (await rows left out: their time is waiting).
 *
 * @param stats Merged stats.
 * @returns Rows for `htmlReport({ functions })`, largest cumtime first.
 */
export function toFunctionProfileRows(stats: FuncStats): FunctionProfileRow[] {
  return stats.functions
    .filter((f) => f.kind !== "await")
    .sort((a, b) => b.cumtime - a.cumtime)
    .map((f) => ({
      name: f.name,
      file: f.file,
      line: f.line,
      ncalls: f.calls,
      primitiveCalls: f.primitiveCalls,
      tottime: f.tottime,
      cumtime: f.cumtime,
    }));
}
