/**
 * The line profiler (kernprof), after instrumentation: the collector whose probes instrumented
 * code calls ({@linkcode LineCollector}), the shared tick clock of `--sample` mode, the
 * {@linkcode LineStats} object that is saved, loaded and merged, and line_profiler's text report
 * ({@linkcode showText}).
 *
 * @example Merge two runs' stats and print them
 * ```ts
 * import { createLineStats, mergeLineStats, showText } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const merged = mergeLineStats(createLineStats(), createLineStats());
 * assert.equal(merged.functions.length, 0);
 * assert.match(showText(merged), /Timer unit/);
 * ```
 *
 * @module
 */
export * from "./clock.ts";
export * from "./collector.ts";
export * from "./report.ts";
export * from "./stats.ts";
