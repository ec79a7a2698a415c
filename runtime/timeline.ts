/**
 * `timeline()`: the task timeline of this runtime as Chrome Trace Event JSON, like
 * `ray.timeline()`. Open the file in https://ui.perfetto.dev, in Chrome's DevTools Performance
 * panel (Load profile; older Chromes: chrome://tracing), or in speedscope.
 *
 * @example Write the timeline of a run
 * ```ts ignore
 * import { timeline } from "./timeline.ts";
 * await timeline("trace.json");
 * ```
 *
 * @module
 */

import { recording } from "./init.ts";
import { toChromeTrace, toTraceFile, type TraceEvent } from "./chrome_trace.ts";

export {
  FALLBACK_COLOUR,
  toChromeTrace,
  toTraceFile,
  TRACE_COLOURS,
  type TraceEvent,
  type TraceFile,
} from "./chrome_trace.ts";

/**
 * Returns the recorded task timeline as Chrome trace events.
 *
 * @returns The events (`ph: "X"` task and blocked slices, `ph: "M"` track names, ...).
 *
 * @example Events of the tasks run so far
 * ```ts ignore
 * import { timeline } from "./timeline.ts";
 * const slices = timeline().filter((e) => e.ph === "X");
 * ```
 */
export function timeline(): TraceEvent[];
/**
 * Writes the recorded task timeline to a JSON trace file (the JSON Object Format, with
 * `traceEvents` and `displayTimeUnit`).
 *
 * @param path File to write.
 * @returns A promise that settles once the file is written.
 * @throws {Error} The file system's error if the file cannot be written.
 */
export function timeline(path: string): Promise<void>;
export function timeline(path?: string): TraceEvent[] | Promise<void> {
  const rec = recording();
  const events = toChromeTrace(rec);
  if (path === undefined) return events;
  // Loaded on use: node:fs costs ≈35 ms to load in Deno, paid by every script importing mod.ts.
  return import("node:fs/promises").then(({ writeFile }) =>
    writeFile(path, JSON.stringify(toTraceFile(rec, events)))
  );
}
