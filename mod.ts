/**
 * Ray-style parallel tasks for TypeScript on Deno and Bun, with the tools to see why they do not
 * speed up: timing helpers, a line profiler marker, and task timelines.
 *
 * Zero dependencies: import it from a URL or a path.
 *
 * @example The document's ex2: submit all, then get once
 * ```ts ignore
 * import * as ray from "./mod.ts";
 *
 * const func = ray.remote(function func() {
 *   ray.sleepSync(500); // stands in for 0.5 s of CPU work
 * });
 *
 * if (import.meta.main) {
 *   ray.init({ numCpus: 5 });
 *   const refs = [];
 *   for (let i = 0; i < 5; i++) refs.push(func.remote());
 *   await ray.timeThis(() => ray.get(refs), "ex2")();
 * }
 * ```
 *
 * @module
 */
export * from "./runtime/mod.ts";
export * from "./runtime/errors.ts";
export * from "./runtime/timing.ts";
export * from "./runtime/profile_marker.ts";
export { timeline, type TraceEvent, type TraceFile } from "./runtime/timeline.ts";
export type {
  BlockedSpan,
  ClusterNodeRecord,
  RecorderOptions,
  Recording,
  TaskRecord,
  TaskStatus,
  WorkerRecord,
} from "./runtime/recorder.ts";
