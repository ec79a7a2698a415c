/**
 * `.profile EXPR`: instruments the session's functions with the line profiler, swaps the
 * instrumented copies into the globals while EXPR runs, and reports kernprof's table.
 *
 * Each function is instrumented from the TypeScript text it was typed as, at its line in its input,
 * so the table shows the user's lines. Functions imported from modules are instrumented by
 * importing a fresh copy of their module through the profiler's loader (see `_profile_imports.ts`).
 *
 * @module
 */
import vm from "node:vm";
import { pathToFileURL } from "node:url";
import { transformSync } from "oxc-transform";
import { LineCollector, PROBES_KEY } from "../collector.ts";
import { instrument } from "../instrument.ts";
import { showText } from "../report.ts";
import type { DefinedFunction } from "./transform.ts";

/** A function of the session: where it was typed. */
export interface SessionFunction extends DefinedFunction {
  /** Input number. */
  input: number;
}

/** A prepared profile run. */
export interface ProfileRun {
  /** Instrumentation problems (functions left unprofiled). */
  warnings: string[];
  /** Puts the instrumented functions in place of the session's. */
  swapIn(): void;
  /** Puts the session's own functions back. */
  swapOut(): void;
  /** The kernprof table of what ran. */
  report(columns: number): Promise<string>;
}

/**
 * Instruments the session's functions.
 *
 * @param functions The session's top-level functions.
 * @param cwd The session's directory (input file names live there).
 * @returns The run.
 */
export function prepareProfile(functions: SessionFunction[], cwd: string): ProfileRun {
  const collector = new LineCollector();
  const g = globalThis as Record<string | symbol, unknown>;
  const warnings: string[] = [];
  const made = new Map<string, unknown>();
  const saved = new Map<string, unknown>();
  const base = pathToFileURL(cwd + "/").href;
  const previousProbes = g[PROBES_KEY];
  collector.install(); // instrumented code reads the probes when it is evaluated
  for (const f of functions) {
    const file = `${base}$deno$repl-${f.input}.ts`;
    const decl = f.declaration ? f.source : `const ${f.name} = ${f.source};`;
    const text = "\n".repeat(Math.max(0, f.line - 1)) + decl + "\n";
    try {
      const r = instrument(text, {
        file,
        firstSlot: collector.nextSlot,
        select: { all: true },
      });
      if (r.functions.length === 0) continue;
      const wrapped = `(function () {${r.code}\n;return ${f.name};})()`;
      const js = transformSync("profiled.ts", wrapped, { typescript: {} });
      if (js.errors.length > 0) throw new SyntaxError(js.errors[0].message);
      collector.register(r.functions, r.nextSlot);
      warnings.push(...r.warnings);
      made.set(f.name, vm.runInThisContext(js.code, { filename: file }));
    } catch (e) {
      warnings.push(`'${f.name}' was not profiled: ${(e as Error).message}`);
    }
  }
  return {
    warnings,
    swapIn() {
      collector.install();
      for (const [name, fn] of made) {
        saved.set(name, g[name]);
        g[name] = fn;
      }
    },
    swapOut() {
      for (const [name, fn] of saved) if (g[name] === made.get(name)) g[name] = fn;
      if (previousProbes !== undefined) g[PROBES_KEY] = previousProbes;
      else delete g[PROBES_KEY];
    },
    report() {
      const stats = collector.snapshot();
      stats.functions = stats.functions.filter((fn) => fn.lines.length > 0);
      if (stats.functions.length === 0) {
        return Promise.resolve(
          made.size === 0
            ? "No function of this session could be profiled: define functions in the REPL first"
            : "None of the session's functions ran",
        );
      }
      return Promise.resolve(showText(stats, { cwd, readSource: false }).trimEnd());
    },
  };
}
