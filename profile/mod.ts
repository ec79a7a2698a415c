/**
 * The line profiler as a library (kernprof for Deno and Bun), in three layers: the instrumenter
 * and collector that record, the {@linkcode LineStats} object that is saved and merged, and the
 * reports that print it. `cli.ts profile` is a thin front end over {@linkcode profileScript}.
 *
 * The function profiler (cProfile/pstats) shares the instrumentation, in the same layers:
 * {@linkcode FuncCollector} records, {@linkcode FuncStats} is merged, {@linkcode formatFuncStats}
 * prints pstats' table and {@linkcode toSpeedscope} exports speedscope's format.
 *
 * Loading this module loads the parser (oxc-parser); the root `mod.ts` never does.
 *
 * @example Profile a piece of source text in this thread (what a REPL's `.profile` does)
 * ```ts ignore
 * import { instrument, LineCollector, showText } from "./profile/mod.ts";
 *
 * const collector = new LineCollector();
 * collector.install();
 * const source = "export function f(n: number) {\n  let s = 0;\n  for (let i = 0; i < n; i++) s += i;\n  return s;\n}\n";
 * const r = instrument(source, {
 *   file: "/repl/cell1.ts",
 *   firstSlot: collector.nextSlot,
 *   probes: collector.probeStyle,
 *   select: { all: true },
 * });
 * collector.register(r.functions, r.nextSlot);
 * // r.code is TypeScript with the original line numbers: run it (Bun transpiles TS itself;
 * // under Deno, toJavaScript() from instrument/loader.ts makes JS with a source map), call f, then:
 * console.log(showText(collector.snapshot()));
 * ```
 *
 * @module
 */
export * from "./line/collector.ts";
export * from "./func/collector.ts";
export * from "./run/func_reports.ts";
export * from "./func/report.ts";
export * from "./func/stats.ts";
export * from "./instrument/instrument.ts";
export * from "./line/stats.ts";
export * from "./instrument/loader.ts";
export * from "./line/report.ts";
export * from "./run/session.ts";
export * from "./func/speedscope.ts";
