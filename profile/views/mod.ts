/**
 * Views of a recorded run: pure functions from a task recording (and line stats) to output.
 * {@linkcode diagnose} finds where parallelism was lost and names the anti-patterns at the user's
 * source line, {@linkcode gantt} draws the terminal timeline, {@linkcode htmlReport} writes one
 * self-contained page. (The Chrome trace export lives with the runtime: `runtime/chrome_trace.ts`.)
 *
 * @example Diagnose an empty recording
 * ```ts
 * import { diagnose, formatDiagnosis } from "./mod.ts";
 * import { emptyRecording } from "../../runtime/recorder.ts";
 * import assert from "node:assert/strict";
 *
 * const d = diagnose(emptyRecording());
 * assert.equal(d.tasks.total, 0);
 * assert.equal(typeof formatDiagnosis(d), "string");
 * ```
 *
 * @module
 */
export * from "./diagnose.ts";
export * from "./gantt.ts";
export * from "./html.ts";
