/**
 * Line timings of profiled functions: a plain, serialisable, mergeable object (kernprof's
 * `LineStats`), and the versioned JSON file format it is saved in (`script.ts.lprof.json`).
 *
 * Times are integers in units of {@linkcode LineStats.unit} seconds, so a file holds no rounding
 * noise and adding two runs is exact. Reports convert to their own output unit.
 *
 * @example Merge two runs and save them
 * ```ts ignore
 * import { loadLineStats, mergeLineStats, saveLineStats } from "./stats.ts";
 * const a = await loadLineStats("a.lprof.json");
 * const b = await loadLineStats("b.lprof.json");
 * await saveLineStats("all.lprof.json", mergeLineStats(a, b));
 * ```
 *
 * @module
 */

import { readTextSync, writeTextSync } from "../host/sync_fs.ts";

/** Value of the `format` field of a saved file. */
export const LINE_STATS_FORMAT = "rayprof-line-stats";
/** Version of the saved format this module writes; it reads this version only. */
export const LINE_STATS_VERSION = 1;
/** Unit the profiler records in: nanoseconds. */
export const DEFAULT_UNIT = 1e-9;

/** Timing of one source line of a profiled function. */
export interface LineTiming {
  /** Line number in the original source file (1-based). */
  line: number;
  /** Times the line started executing (a loop header counts once per test). */
  hits: number;
  /** Total time attributed to the line, in units of {@linkcode LineStats.unit}; an integer. */
  time: number;
}

/** Timings of one profiled function. Key: `file`, `line`, `name`. */
export interface FunctionTimings {
  /** Absolute path of the source file (or its URL when it is not a local file). */
  file: string;
  /** Function name as shown in reports, e.g. `ex1`, `Counter.add`, `<anonymous>`. */
  name: string;
  /** First line of the function, including a marker or decorator directly above it. */
  line: number;
  /** Last line of the function. */
  endLine: number;
  /** Lines that were hit, sorted by line number. Lines never hit are absent. */
  lines: LineTiming[];
  /**
   * Source text of lines `line`..`endLine` when it was captured, so reports still show the code
   * after the file changed or when it is read elsewhere.
   */
  source?: string[];
}

/** Line timings of a run, or of several runs merged. */
export interface LineStats {
  /** Seconds per unit of every `time` value, e.g. `1e-9`. */
  unit: number;
  /** Profiled functions, including those that were never called (with no lines). */
  functions: FunctionTimings[];
}

/** The JSON document a {@linkcode LineStats} is saved as. */
export interface LineStatsFile extends LineStats {
  format: typeof LINE_STATS_FORMAT;
  version: typeof LINE_STATS_VERSION;
}

/** Thrown when a saved file cannot be read as line stats; callers may catch it to report. */
export class LineStatsFormatError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LineStatsFormatError";
  }
}

/**
 * Creates empty stats.
 *
 * @param unit Seconds per time unit.
 * @returns Stats with no functions.
 *
 * @example Empty stats
 * ```ts
 * import { createLineStats } from "./stats.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(createLineStats().functions.length, 0);
 * ```
 */
export function createLineStats(unit: number = DEFAULT_UNIT): LineStats {
  checkUnit(unit);
  return { unit, functions: [] };
}

/**
 * Returns the key that identifies a function across runs and workers.
 *
 * @param fn A function's timings (only `file`, `line` and `name` are read).
 * @returns A string key.
 */
export function functionKey(fn: Pick<FunctionTimings, "file" | "line" | "name">): string {
  return `${fn.file}\0${fn.line}\0${fn.name}`;
}

/**
 * Total time of a function, in units of the stats it belongs to.
 *
 * @param fn A function's timings.
 * @returns The sum of its lines' times.
 */
export function totalTime(fn: FunctionTimings): number {
  let total = 0;
  for (const l of fn.lines) total += l.time;
  return total;
}

/**
 * Adds stats together (kernprof's `LineStats.__add__`): hits and times of the same line of the
 * same function are summed. The result uses the finest unit of the inputs. Inputs are not changed.
 *
 * @param stats Stats to merge; at least one.
 * @returns New stats, functions sorted by file then line.
 * @throws {RangeError} If no stats are given.
 *
 * @example Two runs of one function
 * ```ts
 * import { mergeLineStats } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const run = {
 *   unit: 1e-9,
 *   functions: [{ file: "/a.ts", name: "f", line: 1, endLine: 3, lines: [{ line: 2, hits: 1, time: 5 }] }],
 * };
 * assert.deepEqual(mergeLineStats(run, run).functions[0].lines, [{ line: 2, hits: 2, time: 10 }]);
 * ```
 */
export function mergeLineStats(...stats: LineStats[]): LineStats {
  if (stats.length === 0) {
    throw new RangeError("Cannot merge line stats as none were given");
  }
  const unit = Math.min(...stats.map((s) => s.unit));
  const byKey = new Map<string, { fn: FunctionTimings; lines: Map<number, LineTiming> }>();
  for (const s of stats) {
    const scale = s.unit / unit;
    for (const fn of s.functions) {
      const key = functionKey(fn);
      let entry = byKey.get(key);
      if (!entry) {
        entry = {
          fn: {
            file: fn.file,
            name: fn.name,
            line: fn.line,
            endLine: fn.endLine,
            lines: [],
            ...(fn.source ? { source: fn.source.slice() } : {}),
          },
          lines: new Map(),
        };
        byKey.set(key, entry);
      } else {
        entry.fn.endLine = Math.max(entry.fn.endLine, fn.endLine);
        if (!entry.fn.source && fn.source) entry.fn.source = fn.source.slice();
      }
      for (const l of fn.lines) {
        const time = scale === 1 ? l.time : Math.round(l.time * scale);
        const acc = entry.lines.get(l.line);
        if (acc) {
          acc.hits += l.hits;
          acc.time += time;
        } else entry.lines.set(l.line, { line: l.line, hits: l.hits, time });
      }
    }
  }
  const functions = [...byKey.values()].map(({ fn, lines }) => {
    fn.lines = [...lines.values()].sort((a, b) => a.line - b.line);
    return fn;
  });
  functions.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.name < b.name ? -1 : 1)
  );
  return { unit, functions };
}

/**
 * Serialises stats as the versioned JSON document.
 *
 * @param stats Stats to write.
 * @returns JSON text ending in a newline.
 */
export function stringifyLineStats(stats: LineStats): string {
  const doc: LineStatsFile = {
    format: LINE_STATS_FORMAT,
    version: LINE_STATS_VERSION,
    unit: stats.unit,
    functions: stats.functions,
  };
  return JSON.stringify(doc) + "\n";
}

/**
 * Parses and validates a saved document.
 *
 * @param text JSON text.
 * @param source Where the text came from, for error messages.
 * @returns The stats.
 * @throws {LineStatsFormatError} If the text is not JSON or not a line stats document of this version.
 *
 * @example Round trip
 * ```ts
 * import { createLineStats, parseLineStats, stringifyLineStats } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const stats = createLineStats();
 * assert.deepEqual(parseLineStats(stringifyLineStats(stats)), stats);
 * ```
 */
export function parseLineStats(text: string, source = "input"): LineStats {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new LineStatsFormatError(
      `Cannot read line stats from ${source} as it is not JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const fail = (why: string): never => {
    throw new LineStatsFormatError(`Cannot read line stats from ${source} as ${why}`);
  };
  if (!isRecord(doc) || doc.format !== LINE_STATS_FORMAT) {
    fail(`it is not a rayprof line stats file: 'format' is not "${LINE_STATS_FORMAT}"`);
  }
  const d = doc as Record<string, unknown>;
  if (d.version !== LINE_STATS_VERSION) {
    fail(`its version is not supported: expected ${LINE_STATS_VERSION}, received ${d.version}`);
  }
  if (typeof d.unit !== "number" || !(d.unit > 0)) fail("'unit' is not a positive number");
  if (!Array.isArray(d.functions)) fail("'functions' is not an array");
  const functions: FunctionTimings[] = [];
  for (const [i, f] of (d.functions as unknown[]).entries()) {
    const where = `functions[${i}]`;
    if (!isRecord(f)) fail(`${where} is not an object`);
    const fn = f as Record<string, unknown>;
    if (typeof fn.file !== "string") fail(`${where}.file is not a string`);
    if (typeof fn.name !== "string") fail(`${where}.name is not a string`);
    if (!isCount(fn.line) || !isCount(fn.endLine)) fail(`${where}.line/endLine are not integers`);
    if (!Array.isArray(fn.lines)) fail(`${where}.lines is not an array`);
    const lines: LineTiming[] = [];
    for (const l of fn.lines as unknown[]) {
      const r = l as Record<string, unknown>;
      if (!isRecord(l) || !isCount(r.line) || !isCount(r.hits) || !isCount(r.time)) {
        fail(`${where}.lines has an entry that is not {line, hits, time} of integers`);
      }
      lines.push({ line: r.line as number, hits: r.hits as number, time: r.time as number });
    }
    const out: FunctionTimings = {
      file: fn.file as string,
      name: fn.name as string,
      line: fn.line as number,
      endLine: fn.endLine as number,
      lines,
    };
    if (Array.isArray(fn.source) && fn.source.every((s) => typeof s === "string")) {
      out.source = fn.source as string[];
    }
    functions.push(out);
  }
  return { unit: d.unit as number, functions };
}

/**
 * Reads a saved file.
 *
 * @param path File path.
 * @returns The stats.
 * @throws {LineStatsFormatError} If the file is not a valid line stats file.
 * @throws {Error} The file system's error if it cannot be read (e.g. `ENOENT`).
 */
export async function loadLineStats(path: string): Promise<LineStats> {
  const { readFile } = await import("node:fs/promises");
  return parseLineStats(await readFile(path, "utf8"), path);
}

/** Options for {@linkcode saveLineStats}. */
export interface SaveLineStatsOptions {
  /**
   * Add the stats to those already in the file (several runs merge), instead of replacing them.
   * A missing file is created; an unreadable one is an error.
   * @default {false}
   */
  merge?: boolean;
}

/**
 * Writes stats to a file.
 *
 * @param path File path.
 * @param stats Stats to write.
 * @param options Options.
 * @returns The stats that were written (merged with the file's when `merge` is set).
 * @throws {LineStatsFormatError} When merging into a file that is not a line stats file.
 */
export async function saveLineStats(
  path: string,
  stats: LineStats,
  options: SaveLineStatsOptions = {},
): Promise<LineStats> {
  let out = stats;
  if (options.merge) {
    let previous: LineStats | undefined;
    try {
      previous = await loadLineStats(path);
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
    if (previous) out = mergeLineStats(previous, stats);
  }
  const { writeFile } = await import("node:fs/promises");
  await writeFile(path, stringifyLineStats(out));
  return out;
}

/**
 * Writes stats to a file synchronously, for `exit` handlers where nothing async runs any more.
 *
 * @param path File path.
 * @param stats Stats to write.
 * @param options Options.
 * @returns The stats that were written.
 * @throws {LineStatsFormatError} When merging into a file that is not a line stats file.
 */
export function saveLineStatsSync(
  path: string,
  stats: LineStats,
  options: SaveLineStatsOptions = {},
): LineStats {
  let out = stats;
  if (options.merge) {
    let text: string | undefined;
    try {
      text = readTextSync(path);
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
    if (text !== undefined) out = mergeLineStats(parseLineStats(text, path), stats);
  }
  writeTextSync(path, stringifyLineStats(out));
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function checkUnit(unit: number): void {
  if (!(typeof unit === "number" && unit > 0 && Number.isFinite(unit))) {
    throw new RangeError(
      `Cannot create line stats as 'unit' must be a positive number of seconds: received ${unit}`,
    );
  }
}
