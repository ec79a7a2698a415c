/**
 * Import-time instrumentation for one thread (the driver or a worker): a collector, its probes,
 * and a module-loading hook that instruments local modules before they run.
 *
 * Chosen over a rewritten copy of the sources in a temporary tree because the hook keeps each
 * module's own URL: `import.meta.url`, relative imports of data files, and stack traces stay those
 * of the user's files. See `_platform.ts` for how each runtime is hooked.
 *
 * @module
 */

import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { LineCollector, type LineCollectorOptions } from "./collector.ts";
import { FuncCollector, type FuncCollectorOptions } from "./func_collector.ts";
import { instrument, InstrumentError, type Selection } from "./instrument.ts";
import { registerLoader, RUNTIME, SCRIPT_EXTENSION } from "./_platform.ts";

export { toJavaScript } from "./_platform.ts";

/** Options for {@linkcode startLineProfiling}. */
export interface LineProfilingOptions {
  /** What to profile besides marked functions. */
  select?: Selection;
  /**
   * Files (absolute paths) in which `select` applies; markers apply in every local file.
   * Empty means every local file (kernprof `-p` on the whole program).
   * @default {[]}
   */
  selectIn?: string[] | ((path: string) => boolean);
  /**
   * Which local modules to instrument at all (besides rayprof's own files and node_modules,
   * which never are).
   * @default {() => true}
   */
  include?: (path: string) => boolean;
  /** Absolute path of the entry script: its `import.meta.main` becomes `true`. */
  entry?: string;
  /** Clock mode and shared ticks, see {@linkcode LineCollectorOptions}. */
  clock?: LineCollectorOptions;
  /** Also run the function profiler (every function of the instrumented modules). */
  functions?: FuncCollectorOptions;
}

/** The instrumentation of this thread. */
export interface LineProfiling {
  /** The collector the probes write to. */
  collector: LineCollector;
  /** The function profiler's collector, when `functions` was given. */
  funcCollector?: FuncCollector;
  /** Warnings from instrumenting (functions that could not be profiled). */
  warnings: string[];
  /** Files that were instrumented, in load order. */
  files: string[];
  /**
   * Errors thrown while instrumenting. A runtime may wrap an error thrown in its load hook
   * (Deno makes it a `TypeError`), so callers find the original here.
   */
  errors: InstrumentError[];
  /**
   * Stops instrumenting modules loaded from now on (modules already loaded keep their probes
   * and go on counting).
   */
  stop(): void;
}

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// The profiler never instruments itself or the runtime it profiles.
const OWN = [
  join(PACKAGE_ROOT, "mod.ts"),
  join(PACKAGE_ROOT, "cli.ts"),
  join(PACKAGE_ROOT, "repl.ts"),
  join(PACKAGE_ROOT, "runtime") + sep,
  join(PACKAGE_ROOT, "profile") + sep,
];

/**
 * Whether a local file is user code that may be instrumented.
 *
 * @param path Absolute path.
 * @returns `false` for node_modules, non-scripts and rayprof's own files.
 */
export function isUserModule(path: string): boolean {
  if (!SCRIPT_EXTENSION.test(path) || /\.d\.[cm]?ts$/.test(path)) return false;
  if (path.includes(`${sep}node_modules${sep}`)) return false;
  return !OWN.some((p) => (p.endsWith(sep) ? path.startsWith(p) : path === p));
}

/**
 * Creates a collector, publishes its probes and hooks module loading in this thread. Modules
 * imported afterwards are instrumented; errors from instrumenting (syntax errors, misplaced
 * markers) reject the import that loaded the module.
 *
 * @param options What to profile.
 * @returns The collector and what was instrumented.
 */
export async function startLineProfiling(
  options: LineProfilingOptions = {},
): Promise<LineProfiling> {
  const collector = new LineCollector(options.clock);
  collector.install();
  const funcCollector = options.functions ? new FuncCollector(options.functions) : undefined;
  funcCollector?.install();
  const state: LineProfiling = {
    collector,
    ...(funcCollector ? { funcCollector } : {}),
    warnings: [],
    files: [],
    errors: [],
    stop: () => {},
  };
  const selectIn = options.selectIn;
  const inScope = typeof selectIn === "function"
    ? selectIn
    : (path: string) => !selectIn?.length || selectIn.includes(path);
  const include = options.include ?? (() => true);
  state.stop = await registerLoader((path, source) => {
    const select = inScope(path) ? options.select : undefined;
    let r;
    try {
      r = instrument(source, {
        file: path,
        firstSlot: collector.nextSlot,
        probes: collector.probeStyle,
        select,
        entry: path === options.entry,
        functionProbes: funcCollector !== undefined,
        firstFunctionId: funcCollector?.nextId,
      });
    } catch (error) {
      if (error instanceof InstrumentError) state.errors.push(error);
      throw error;
    }
    if (RUNTIME === "deno" && r.decorator && r.code !== source) {
      const error = new InstrumentError(
        `Cannot profile ${path} under Deno as it uses decorators other than @profile, which the profiler cannot transpile: run it with Bun, or move the profiled functions to a module without decorators`,
        r.decorator,
      );
      state.errors.push(error);
      throw error;
    }
    collector.register(r.functions, r.nextSlot);
    if (funcCollector && r.sites) funcCollector.register(r.sites, r.nextFunctionId!);
    state.warnings.push(...r.warnings);
    state.files.push(path);
    return r.code === source ? null : r.code;
    // The entry is always rewritten (its import.meta.main), wherever it lives.
  }, (path) => path === options.entry || (isUserModule(path) && include(path)));
  return state;
}
