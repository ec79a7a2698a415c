/**
 * Function timings of a run: a plain, serialisable, mergeable object (pstats' `Stats`), and the
 * pstats sort keys.
 *
 * A function is keyed by `file`, `line` and `name`, as pstats keys by `(filename, lineno,
 * funcname)`; merging adds calls and times, so the driver's and the workers' stats (or several
 * runs) make one table.
 *
 * @example Merge two threads and sort like `pstats.Stats(...).sort_stats("cumulative")`
 * ```ts
 * import { mergeFuncStats, sortFuncStats } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const row = { file: "/a.ts", line: 1, name: "f", calls: 1, primitiveCalls: 1, tottime: 1, cumtime: 2 };
 * const merged = mergeFuncStats({ functions: [row] }, { functions: [row] });
 * assert.equal(merged.functions[0].calls, 2);
 * assert.equal(sortFuncStats(merged, ["cumulative"]).orderedBy, "cumulative time");
 * ```
 *
 * @module
 */

import type { FuncThreadData } from "./collector.ts";

/** Timings of one function (or await site). Key: `file`, `line`, `name`. */
export interface FunctionStat {
  /** Absolute path of the source file (or its URL). */
  file: string;
  /** First line of the function, or the line of the await. */
  line: number;
  /** Function name, or `<await f>` / `<await>` / `<for await>` for an await site. */
  name: string;
  /** `"await"` for await sites; absent for functions. */
  kind?: "await";
  /** All calls, recursive ones included (pstats `nc`). */
  calls: number;
  /** Calls that were not recursive (pstats `cc`). */
  primitiveCalls: number;
  /** Seconds in the function itself (pstats `tt`). */
  tottime: number;
  /** Seconds from call to return (or settle), recursive calls not counted again (pstats `ct`). */
  cumtime: number;
}

/** Function timings of a run, or of several threads or runs merged. */
export interface FuncStats {
  /** One entry per function; times in seconds. */
  functions: FunctionStat[];
}

/** Totals for the header line, as pstats computes them. */
export interface FuncTotals {
  /** Sum of `calls` of the functions (await rows not counted). */
  calls: number;
  /** Sum of `primitiveCalls` of the functions. */
  primitiveCalls: number;
  /** Sum of `tottime` of the functions (pstats `total_tt`), in seconds. */
  time: number;
}

/**
 * Turns one thread's counters into stats.
 *
 * @param data What a `FuncCollector` snapshot returned.
 * @returns The stats, in seconds.
 */
export function funcStatsFromThread(data: FuncThreadData): FuncStats {
  const sites = new Map(data.sites);
  const functions: FunctionStat[] = [];
  for (const [id, calls, prim, tt, ct] of data.counts) {
    const site = sites.get(id);
    if (!site) continue;
    functions.push({
      file: site.file,
      line: site.line,
      name: site.name,
      ...(site.kind === "await" ? { kind: "await" as const } : {}),
      calls,
      primitiveCalls: prim,
      tottime: Math.max(0, tt) / 1000,
      cumtime: Math.max(0, ct) / 1000,
    });
  }
  return { functions };
}

/**
 * Adds stats together: calls and times of the same function are summed.
 *
 * @param all Stats to add.
 * @returns New stats; the inputs are not changed.
 */
export function mergeFuncStats(...all: FuncStats[]): FuncStats {
  const byKey = new Map<string, FunctionStat>();
  for (const s of all) {
    for (const f of s.functions) {
      const key = `${f.file}\0${f.line}\0${f.name}`;
      const acc = byKey.get(key);
      if (!acc) byKey.set(key, { ...f });
      else {
        acc.calls += f.calls;
        acc.primitiveCalls += f.primitiveCalls;
        acc.tottime += f.tottime;
        acc.cumtime += f.cumtime;
      }
    }
  }
  return { functions: [...byKey.values()] };
}

/**
 * The header figures: function calls, primitive calls, and total time (the sum of the functions'
 * own times, pstats' `total_tt`). Await rows are left out: their time is waiting, already inside
 * the cumtime of the function that awaited.
 *
 * @param stats The stats.
 * @returns The totals.
 */
export function funcTotals(stats: FuncStats): FuncTotals {
  let calls = 0, primitiveCalls = 0, time = 0;
  for (const f of stats.functions) {
    if (f.kind === "await") continue;
    calls += f.calls;
    primitiveCalls += f.primitiveCalls;
    time += f.tottime;
  }
  return { calls, primitiveCalls, time };
}

type Field = "cc" | "nc" | "tt" | "ct" | "file" | "line" | "name" | "stdname";

// pstats' sort_arg_dict_default: the fields each key sorts by (numbers descending, names
// ascending) and the description "Ordered by:" shows.
const SORT_KEYS: Record<string, { fields: Field[]; description: string }> = {
  calls: { fields: ["nc"], description: "call count" },
  ncalls: { fields: ["nc"], description: "call count" },
  cumtime: { fields: ["ct"], description: "cumulative time" },
  cumulative: { fields: ["ct"], description: "cumulative time" },
  filename: { fields: ["file"], description: "file name" },
  line: { fields: ["line"], description: "line number" },
  module: { fields: ["file"], description: "file name" },
  name: { fields: ["name"], description: "function name" },
  nfl: { fields: ["name", "file", "line"], description: "name/file/line" },
  pcalls: { fields: ["cc"], description: "primitive call count" },
  stdname: { fields: ["stdname"], description: "standard name" },
  time: { fields: ["tt"], description: "internal time" },
  tottime: { fields: ["tt"], description: "internal time" },
};

/** The sort keys pstats accepts, in alphabetical order. */
export const SORT_KEY_NAMES: readonly string[] = Object.keys(SORT_KEYS).sort();

/**
 * Resolves a sort key as pstats does: a key name, or an unambiguous abbreviation of one
 * (`cum` gives `cumtime`, the first of `cumtime` and `cumulative`, which sort alike).
 *
 * @param key What the user typed.
 * @returns The full key name.
 * @throws {RangeError} If it is not a key or abbreviates keys that sort differently.
 */
export function resolveSortKey(key: string): string {
  if (key in SORT_KEYS) return key;
  const matches = key ? SORT_KEY_NAMES.filter((k) => k.startsWith(key)) : [];
  const kinds = new Set(matches.map((k) => SORT_KEYS[k].description));
  if (matches.length > 0 && kinds.size === 1) return matches[0];
  const why = matches.length > 1 ? `it could mean ${matches.join(", ")}` : "it is not a sort key";
  throw new RangeError(
    `Cannot sort by '${key}' as ${why}: expected one of ${SORT_KEY_NAMES.join(", ")}`,
  );
}

/**
 * The `filename:lineno(function)` text pstats shows (`func_std_string`).
 *
 * @param f A function.
 * @param file The file as shown (e.g. relative to the current directory).
 * @returns The standard name.
 */
export function stdName(f: FunctionStat, file: string = f.file): string {
  return `${file}:${f.line}(${f.name})`;
}

/** Options for {@linkcode sortFuncStats}. */
export interface SortFuncStatsOptions {
  /**
   * How files are shown, for the `stdname` key (sorted as displayed).
   * @default {(file) => file}
   */
  displayFile?: (file: string) => string;
}

/**
 * Sorts the functions by pstats keys, like `Stats.sort_stats(*keys)`.
 *
 * @param stats The stats.
 * @param keys Sort keys (or abbreviations), the first the most significant.
 * @param options How files are shown.
 * @returns The rows in order and the "Ordered by" text.
 * @throws {RangeError} If a key is unknown.
 */
export function sortFuncStats(
  stats: FuncStats,
  keys: string[],
  options: SortFuncStatsOptions = {},
): { rows: FunctionStat[]; orderedBy: string } {
  const show = options.displayFile ?? ((f: string) => f);
  const resolved = keys.map(resolveSortKey);
  const fields = resolved.flatMap((k) => SORT_KEYS[k].fields);
  const orderedBy = resolved.map((k) => SORT_KEYS[k].description).join(", ");
  const value = (f: FunctionStat, field: Field): number | string => {
    switch (field) {
      case "cc":
        return f.primitiveCalls;
      case "nc":
        return f.calls;
      case "tt":
        return f.tottime;
      case "ct":
        return f.cumtime;
      case "file":
        return show(f.file);
      case "line":
        return f.line;
      case "name":
        return f.name;
      case "stdname":
        return stdName(f, show(f.file));
    }
  };
  const rows = stats.functions.slice().sort((a, b) => {
    for (const field of [...fields, "stdname" as const]) {
      const x = value(a, field), y = value(b, field);
      if (x === y) continue;
      // Counts and times largest first; names, files and lines ascending (pstats' directions).
      const descending = field === "cc" || field === "nc" || field === "tt" || field === "ct";
      return (x < y ? -1 : 1) * (descending ? -1 : 1);
    }
    return 0;
  });
  return { rows, orderedBy };
}
