/**
 * `timeline()`: the task timeline of this runtime as Chrome Trace Event JSON, like
 * `ray.timeline()`. Open the file in https://ui.perfetto.dev, in Chrome's DevTools Performance
 * panel (Load profile; older Chromes: chrome://tracing), or in speedscope.
 *
 * @example Write the timeline of a run
 * ```ts
 * import { get, init, remote, shutdown, timeline } from "../mod.ts";
 * import { mkdtemp, readFile, rm } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const square = remote(function square(x: number) {
 *   return x * x;
 * });
 * init({ numCpus: 2 });
 * await get([square.remote(1), square.remote(2)]);
 * await shutdown(); // the recording of the last runtime stays readable
 * const dir = await mkdtemp(join(tmpdir(), "rayprof-"));
 * await timeline(join(dir, "trace.json")); // open it in https://ui.perfetto.dev
 * const trace = JSON.parse(await readFile(join(dir, "trace.json"), "utf8"));
 * assert.ok(trace.traceEvents.some((e: { name: string }) => e.name === "square"));
 * await rm(dir, { recursive: true });
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
 * ```ts
 * import { get, init, remote, shutdown, timeline } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const square = remote(function square(x: number) {
 *   return x * x;
 * });
 * init({ numCpus: 2 });
 * try {
 *   await get([square.remote(1), square.remote(2)]);
 *   const slices = timeline().filter((e) => e.ph === "X" && e.name === "square");
 *   assert.equal(slices.length, 2);
 *   assert.ok(slices.every((e) => (e.dur ?? 0) >= 0)); // microseconds
 * } finally {
 *   await shutdown();
 * }
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
 *
 * @example Write a Chrome trace file
 * ```ts
 * import { get, init, remote, shutdown, timeline, type TraceFile } from "../mod.ts";
 * import { mkdtemp, readFile, rm } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const square = remote(function square(x: number) {
 *   return x * x;
 * });
 * init({ numCpus: 2 });
 * await get(square.remote(3));
 * await shutdown();
 * const path = join(await mkdtemp(join(tmpdir(), "rayprof-")), "trace.json");
 * await timeline(path);
 * const trace: TraceFile = JSON.parse(await readFile(path, "utf8"));
 * assert.equal(trace.displayTimeUnit, "ms");
 * assert.ok(trace.traceEvents.some((e) => e.ph === "X" && e.name === "square"));
 * await rm(path);
 * ```
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
