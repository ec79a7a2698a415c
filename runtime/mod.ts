/**
 * The runtime: Ray-style tasks over the host's workers. `init` and `shutdown` start and end it,
 * `remote` makes remote functions and actor classes, `get`/`wait`/`put`/`cancel`/`kill` use their
 * results; every task is recorded for the timeline and the diagnostics.
 *
 * The root `mod.ts` re-exports this with the timing helpers, the profiler's marker and
 * `timeline()`.
 *
 * @example Run three tasks at once
 * ```ts
 * import { get, remote, shutdown } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const square = remote(function square(x: number) {
 *   return x * x;
 * });
 * assert.deepEqual(await get([1, 2, 3].map((x) => square.remote(x))), [1, 4, 9]);
 * await shutdown();
 * ```
 *
 * @module
 */
export * from "./get.ts";
export * from "./init.ts";
export * from "./kill.ts";
export { ObjectRef } from "./object_ref.ts";
export * from "./remote.ts";
