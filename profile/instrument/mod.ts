/**
 * Import-time instrumentation, shared by the line profiler and the function profiler, as a
 * pipeline: decide what to profile and rewrite the syntax tree ({@linkcode instrument}), make it
 * JavaScript where the runtime needs it (types blanked in place, or oxc-transform), keep the
 * result in a content-addressed cache, and load it: a module-loading hook per thread
 * ({@linkcode startLineProfiling}), or under Deno copies of the cached modules.
 *
 * @example Instrument a marked function and keep its line numbers
 * ```ts
 * import { instrument } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const source = "// @profile\nfunction f() {\n  return 1;\n}\n";
 * const r = instrument(source, { file: "/tmp/x.ts" });
 * assert.deepEqual(r.functions.map((f) => f.name), ["f"]);
 * assert.equal(r.code.split("\n").length, source.split("\n").length);
 * ```
 *
 * @module
 */
export * from "./cache.ts";
export * from "./instrument.ts";
export * from "./loader.ts";
export * from "./module_hooks.ts";
export * from "./strip_types.ts";
