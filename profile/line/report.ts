/**
 * The text report of line stats, in line_profiler's format (`show_func`, `show_text`). Reports
 * take stats and return text; they never touch the profiler.
 *
 * @module
 */

import { relative } from "../host/path.ts";
import { type FunctionTimings, type LineStats, totalTime } from "./stats.ts";
import { readTextSync } from "../host/sync_fs.ts";

/** Options for {@linkcode showText}. */
export interface ShowTextOptions {
  /**
   * Output unit in seconds (kernprof `-u`).
   * @default {1e-6}
   */
  unit?: number;
  /**
   * Leave out functions with zero total time (kernprof `-z`).
   * @default {false}
   */
  skipZero?: boolean;
  /**
   * Append one line per function with its total time (kernprof `--summarize`).
   * @default {false}
   */
  summarize?: boolean;
  /**
   * Colour with ANSI escapes: hot lines, header. Callers decide (a TTY, no `NO_COLOR`).
   * @default {false}
   */
  color?: boolean;
  /**
   * Show file paths relative to this directory when they are inside it.
   * @default {undefined}
   */
  cwd?: string;
  /**
   * Read function source from the file when the stats did not keep it.
   * @default {true}
   */
  readSource?: boolean;
}

const TEMPLATE_WIDTHS = [6, 9, 12, 8, 8] as const;

/**
 * Formats a number like C's `%g` (six significant digits), as line_profiler prints totals.
 *
 * @param x The number.
 * @returns Its `%g` text, e.g. `2.50883`, `1e-06`.
 */
export function formatG(x: number): string {
  if (x === 0) return "0";
  if (!Number.isFinite(x)) return String(x);
  const exp = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(6)))));
  if (exp < -4 || exp >= 6) {
    const [m, e] = x.toExponential(5).split("e");
    const mant = m.includes(".") ? m.replace(/0+$/, "").replace(/\.$/, "") : m;
    const n = Number(e);
    return `${mant}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  const s = x.toFixed(Math.max(0, 5 - exp));
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

function row(cells: string[], contents: string): string {
  return cells.map((c, i) => c.padStart(TEMPLATE_WIDTHS[i])).join(" ") + "  " + contents;
}

/** The table header line of line_profiler. */
export const HEADER: string = row(["Line #", "Hits", "Time", "Per Hit", "% Time"], "Line Contents");

/**
 * Formats one function (line_profiler's `show_func`).
 *
 * @param fn The function's timings.
 * @param unit Seconds per unit of the stats.
 * @param options Output options.
 * @returns The text block, ending with a blank line; empty when skipped by `skipZero`.
 */
export function showFunction(
  fn: FunctionTimings,
  unit: number,
  options: ShowTextOptions = {},
): string {
  const outputUnit = options.unit ?? 1e-6;
  const scalar = unit / outputUnit;
  const total = totalTime(fn);
  if (options.skipZero && total === 0) return "";
  const c = colors(options.color ?? false);
  const display = displayPath(fn.file, options.cwd);
  let out = `Total time: ${formatG(total * unit)} s\n`;
  out += `File: ${display}\n`;
  out += `Function: ${fn.name} at line ${fn.line}\n\n`;
  out += c.bold(HEADER) + "\n" + "=".repeat(HEADER.length) + "\n";
  const source = fn.source ?? (options.readSource === false ? undefined : readLines(fn));
  if (!source) {
    out +=
      `\nCould not find file ${display}\nAre you sure you are running this program from the same directory\nthat you ran the profiler from?\nContinuing without the function's contents.\n`;
  }
  const byLine = new Map(fn.lines.map((l) => [l.line, l]));
  const last = source ? fn.line + source.length - 1 : Math.max(fn.endLine, ...byLine.keys());
  for (let ln = fn.line; ln <= last; ln++) {
    const text = source?.[ln - fn.line] ?? "";
    const l = byLine.get(ln);
    if (!l) {
      out += row([String(ln), "", "", "", ""], text) + "\n";
      continue;
    }
    const time = l.time * scalar;
    const percent = total === 0 ? "" : (100 * l.time / total).toFixed(1);
    const line = row([
      String(ln),
      String(l.hits),
      time.toFixed(1),
      (l.hits ? time / l.hits : 0).toFixed(1),
      percent,
    ], text);
    const share = total === 0 ? 0 : l.time / total;
    out += (share >= 0.5 ? c.red(line) : share >= 0.1 ? c.yellow(line) : line) + "\n";
  }
  return out + "\n";
}

/**
 * Formats all functions (line_profiler's `show_text`): the timer unit, then each function sorted
 * by file, line and name, then the summary when asked.
 *
 * @param stats The stats.
 * @param options Output options.
 * @returns The report text.
 *
 * @example A report
 * ```ts
 * import { showText } from "./report.ts";
 * import assert from "node:assert/strict";
 * const text = showText({ unit: 1e-9, functions: [] });
 * assert.ok(text.startsWith("Timer unit: 1e-06 s"));
 * ```
 */
export function showText(stats: LineStats, options: ShowTextOptions = {}): string {
  const outputUnit = options.unit ?? 1e-6;
  let out = `Timer unit: ${formatG(outputUnit)} s\n\n`;
  const fns = [...stats.functions].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.name < b.name ? -1 : 1)
  );
  for (const fn of fns) out += showFunction(fn, stats.unit, options);
  if (options.summarize) {
    for (const fn of fns) {
      const t = totalTime(fn) * stats.unit;
      if (options.skipZero && t === 0) continue;
      out += `${t.toFixed(2).padStart(6)} seconds - ${
        displayPath(fn.file, options.cwd)
      }:${fn.line} - ${fn.name}\n`;
    }
  }
  return out;
}

function displayPath(file: string, cwd: string | undefined): string {
  if (!cwd || !file.startsWith("/")) return file;
  const rel = relative(cwd, file);
  return rel.startsWith("..") ? file : rel;
}

function readLines(fn: FunctionTimings): string[] | undefined {
  try {
    const all = readTextSync(fn.file).split("\n");
    return all.slice(fn.line - 1, fn.endLine).map((l) => l.replace(/\r$/, ""));
  } catch {
    return undefined;
  }
}

function colors(on: boolean) {
  const wrap = (code: string) => (s: string) => on ? `\x1b[${code}m${s}\x1b[0m` : s;
  return { bold: wrap("1"), red: wrap("31"), yellow: wrap("33") };
}
