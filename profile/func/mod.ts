/**
 * The function profiler (cProfile/pstats), after instrumentation: the collector of call, return,
 * suspend and resume events ({@linkcode FuncCollector}), the mergeable {@linkcode FuncStats} with
 * pstats' sort keys, pstats' table ({@linkcode formatFuncStats}) and speedscope's file format
 * ({@linkcode toSpeedscope}).
 *
 * @example Resolve a pstats sort key as pstats does
 * ```ts
 * import { resolveSortKey } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveSortKey("tot"), "tottime");
assert.throws(() => resolveSortKey("c"), RangeError); // calls or cumulative?
 * ```
 *
 * @module
 */
export * from "./collector.ts";
export * from "./report.ts";
export * from "./speedscope.ts";
export * from "./stats.ts";
