/**
 * Helpers shared by the task reports (Gantt, diagnostics, HTML): time window of a recording,
 * source locations, and number formatting.
 *
 * @module
 */

import type { Recording } from "../../runtime/recorder.ts";

/** A source location parsed from a callsite such as "file:///x.ts:12:5". */
export interface SourceLocation {
  /** The callsite as recorded. */
  callsite: string;
  /** The file's URL (or path) without line and column. */
  url: string;
  /** Local file path when the URL is a file: URL, else the URL. */
  file: string;
  line: number;
  column: number;
}

/**
 * Parses a recorded callsite.
 *
 * @param callsite "url:line:column" or "url:line".
 * @returns The location, or `undefined` when the text has no line number.
 */
export function parseCallsite(callsite: string | undefined): SourceLocation | undefined {
  if (!callsite) return undefined;
  // A run has few distinct callsites and many tasks: parse each once.
  let loc = parsed.get(callsite);
  if (loc === undefined && !parsed.has(callsite)) {
    if (parsed.size >= 10_000) parsed.clear();
    loc = parse(callsite);
    parsed.set(callsite, loc);
  }
  return loc;
}

const parsed = new Map<string, SourceLocation | undefined>();

function parse(callsite: string): SourceLocation | undefined {
  const m = /^(.*?):(\d+)(?::(\d+))?$/.exec(callsite.trim());
  if (!m) return undefined;
  const url = m[1];
  let file = url;
  if (url.startsWith("file://")) {
    try {
      file = decodeURIComponent(new URL(url).pathname);
    } catch {
      file = url.slice("file://".length);
    }
  }
  return { callsite, url, file, line: Number(m[2]), column: Number(m[3] ?? 0) };
}

/**
 * Shows a location as "path:line", the path relative to `cwd` when it lies below it.
 *
 * @param loc A parsed location.
 * @param cwd Directory to show paths relative to.
 * @returns Text such as "examples/loops.ts:14".
 */
export function showLocation(loc: SourceLocation, cwd?: string): string {
  let path = loc.file;
  if (cwd) {
    const base = cwd.endsWith("/") ? cwd : cwd + "/";
    if (path.startsWith(base)) path = path.slice(base.length);
  }
  return `${path}:${loc.line}`;
}

/** The interval a recording covers, in ms on the driver clock. */
export interface TimeWindow {
  start: number;
  end: number;
}

/**
 * Returns the interval from the first `.remote()` or blocked span to the last finish or span end.
 *
 * @param rec A recording.
 * @returns The window; `start === end` for an empty recording.
 */
export function recordingWindow(rec: Recording): TimeWindow {
  let start = Infinity, end = -Infinity;
  const see = (v: number) => {
    if (!Number.isFinite(v)) return;
    if (v < start) start = v;
    if (v > end) end = v;
  };
  for (const t of rec.tasks) {
    see(t.submitted);
    see(t.started);
    see(t.finished);
  }
  for (const s of rec.spans) {
    see(s.start);
    see(s.end);
  }
  if (!Number.isFinite(start)) return { start: 0, end: 0 };
  return { start, end };
}

/**
 * Formats a duration given in milliseconds with a unit that suits its size.
 *
 * @param ms Milliseconds.
 * @returns Text such as "2.51 s", "12.3 ms" or "45 µs".
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  const a = Math.abs(ms);
  if (a >= 1000) return `${(ms / 1000).toFixed(a >= 100_000 ? 0 : 2)} s`;
  if (a >= 1) return `${ms.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

/**
 * Formats a byte count.
 *
 * @param bytes Bytes.
 * @returns Text such as "1.5 MB".
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "–";
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = bytes / 1000, i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Median of numbers (NaN for none). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = values.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
