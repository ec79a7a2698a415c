/**
 * A profiled run, end to end (what `kernprof -l script.py` does): {@linkcode profileScript} runs
 * a script with its modules instrumented in the driver and in every runtime worker and returns
 * the merged stats; {@linkcode afterProfiledRun} and {@linkcode afterFunctionProfile} turn the
 * run's task recording and function profile into the CLI's outputs (diagnostics, Gantt, Chrome
 * trace, HTML report, pstats table, speedscope file). `cli.ts` is a thin front end over these.
 *
 * @example Profile a script and print kernprof's report
 * ```ts ignore
 * import { profileScript } from "./mod.ts";
 * import { showText } from "../line/mod.ts";
 *
 * const result = await profileScript("examples/loops.ts");
 * console.log(showText(result.stats));
 * ```
 *
 * @module
 */
export * from "./func_reports.ts";
export * from "./session.ts";
export * from "./task_reports.ts";
