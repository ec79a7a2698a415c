/**
 * The profiler as a library (kernprof and cProfile for Deno and Bun), in the layers its folders
 * hold, data flowing one way:
 *
 * - `instrument/`: decide what to profile, rewrite the source, cache it, load it (import hooks);
 * - `line/`: the line profiler's collector, {@linkcode LineStats} (saved, loaded, merged) and
 *   line_profiler's report;
 * - `func/`: the function profiler's collector, {@linkcode FuncStats} and pstats' table, and the
 *   speedscope export;
 * - `views/`: diagnostics, the terminal Gantt and the HTML report, from a task recording;
 * - `run/`: a whole profiled run ({@linkcode profileScript}), which `cli.ts profile` fronts.
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
 * // under Deno, toJavaScript() from instrument/module_hooks.ts makes JS with a source map), call
 * // f, then:
 * console.log(showText(collector.snapshot()));
 * ```
 *
 * @module
 */
export * from "./func/mod.ts";
export * from "./instrument/mod.ts";
export * from "./line/mod.ts";
export * from "./run/mod.ts";
export * from "./views/mod.ts";
