/**
 * Import-time instrumentation for one thread (the driver or a worker): a collector, its probes,
 * and a module-loading hook that instruments local modules before they run.
 *
 * Chosen over a rewritten copy of the sources in a temporary tree because the hook keeps each
 * module's own URL: `import.meta.url`, relative imports of data files, and stack traces stay those
 * of the user's files. See `module_hooks.ts` for how each runtime is hooked.
 *
 * @module
 */

import { dirname, fileURLToPath, join, resolve, sep } from "../host/path.ts";
import { type FunctionInfo, LineCollector, type LineCollectorOptions } from "../line/collector.ts";
import type { FuncCollector, FuncCollectorOptions, FuncSite } from "../func/collector.ts";
import type { InstrumentOptions, Selection } from "./instrument.ts";
import { InstrumentError, InstrumentSyntaxError, MarkerError } from "./errors.ts";
import { denoJsxFor } from "./jsx_config.ts";
import { readTextSync } from "../host/sync_fs.ts";
import { importLazily } from "../host/lazy_import.ts";
import {
  loadTransform,
  registerLoader,
  RUNTIME,
  SCRIPT_EXTENSION,
  toJavaScript,
  transformLoaded,
  withSourceMap,
} from "./module_hooks.ts";
import { type CachedModule, hash, InstrumentCache } from "./cache.ts";
import { type CopyItem, writeCopies } from "./_copy_mode.ts";

export { toJavaScript };

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
  /**
   * Keep instrumented modules in this cache directory and reuse them while their text and
   * options are unchanged (see `cache.ts`). `scope` names the list of modules a run
   * loads (e.g. the entry script and the kind of thread): a run whose list is all cached starts
   * without loading the parser.
   */
  cache?: { dir: string; scope?: string };
  /**
   * Parse with oxc's raw transfer where the runtime supports it (see `useFastParser`), when the
   * parser is loaded at all.
   * @default {false}
   */
  fastParser?: boolean;
  /**
   * Register these modules, instrumented ahead of the run (see {@linkcode planCopies}), instead
   * of hooking module loading: the process runs their copies.
   */
  copies?: CopyRegistration[];
  /**
   * Called with an instrumentation error before the import that met it rejects; `"skip"` loads
   * the module as it is instead (a warning says so).
   */
  onInstrumentError?: (error: InstrumentError) => "skip" | void;
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
  /** Writes what the cache learnt in this run (Deno's resolutions of the modules' imports). */
  flush?: () => void;
}

// From this folder: the URL of the package root is not an import of it.
const PACKAGE_ROOT = new URL("../../", new URL("./", import.meta.url));
// The profiler never instruments itself or the runtime it profiles. Run from a URL, none of its
// files is a local path, so there is nothing to leave out.
// Built for npm, the files are .js (npm/build.mjs): the extension is this file's own.
const OWN_EXT = import.meta.url.slice(import.meta.url.lastIndexOf("."));
const OWN = PACKAGE_ROOT.protocol === "file:"
  ? [
    join(fileURLToPath(PACKAGE_ROOT), `mod${OWN_EXT}`),
    join(fileURLToPath(PACKAGE_ROOT), `cli${OWN_EXT}`),
    join(fileURLToPath(PACKAGE_ROOT), `repl${OWN_EXT}`),
    join(fileURLToPath(PACKAGE_ROOT), "runtime") + sep,
    join(fileURLToPath(PACKAGE_ROOT), "profile") + sep,
    join(fileURLToPath(PACKAGE_ROOT), "cluster") + sep,
  ]
  : [];

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

/** What a thread instruments a module with, given the slots and ids it starts from. */
export interface InstrumentPlan {
  /** What to profile besides marked functions. */
  select?: Selection;
  /** Files in which `select` applies (see {@linkcode LineProfilingOptions.selectIn}). */
  selectIn?: string[] | ((path: string) => boolean);
  /** Absolute path of the entry script. */
  entry?: string;
  /** Probe style of the line collector (`"inline"` in sample mode). */
  probes: "call" | "inline";
  /** Whether function probes are inserted too. */
  functionProbes: boolean;
}

const JSX_FILE = /\.[cm]?[jt]sx$/;

/** The instrumenter's options for one module under a plan. */
export function instrumentOptionsFor(
  plan: InstrumentPlan,
  path: string,
  firstSlot: number,
  firstFunctionId?: number,
): InstrumentOptions {
  const selectIn = plan.selectIn;
  const inScope = typeof selectIn === "function"
    ? selectIn(path)
    : !selectIn?.length || selectIn.includes(path);
  return {
    file: path,
    firstSlot,
    probes: plan.probes,
    select: inScope ? plan.select : undefined,
    entry: path === plan.entry,
    functionProbes: plan.functionProbes,
    firstFunctionId,
    // Deno needs JavaScript: blanking the types spares most modules oxc-transform. ES module
    // TypeScript is made JavaScript even with nothing to instrument, so a later run can copy it.
    stripTypes: RUNTIME === "deno",
    ...(RUNTIME === "deno" && /\.m?ts$/.test(path) ? { asJavaScript: true } : {}),
    ...(RUNTIME === "deno" && JSX_FILE.test(path) ? { jsx: denoJsxFor(path) } : {}),
  };
}

/**
 * Creates a collector, publishes its probes and hooks module loading in this thread (or, with
 * `copies`, registers modules instrumented ahead). Modules imported afterwards are instrumented;
 * errors from instrumenting (syntax errors, misplaced markers) reject the import that loaded the
 * module.
 *
 * @param options What to profile.
 * @returns The collector and what was instrumented.
 */
export async function startLineProfiling(
  options: LineProfilingOptions = {},
): Promise<LineProfiling> {
  const collector = new LineCollector(options.clock);
  collector.install();
  const funcCollector = options.functions
    ? new (await importLazily<typeof import("../func/collector.ts")>(
      "../func/collector.ts",
      import.meta.url,
    )).FuncCollector(options.functions)
    : undefined;
  funcCollector?.install();
  const state: LineProfiling = {
    collector,
    ...(funcCollector ? { funcCollector } : {}),
    warnings: [],
    files: [],
    errors: [],
    stop: () => {},
  };
  if (options.copies) {
    for (const c of options.copies) {
      collector.register(c.functions, c.nextSlot);
      if (funcCollector && c.sites) funcCollector.register(c.sites, c.nextFunctionId!);
      state.warnings.push(...c.warnings);
      state.files.push(c.path);
    }
    return state;
  }
  const include = options.include ?? (() => true);
  const cache = options.cache
    ? InstrumentCache.open(options.cache.dir, options.cache.scope)
    : undefined;
  // Under Deno the hook cannot load the parser or the transpiler itself (require() fails inside
  // it), so they are loaded now: the parser unless every module the last run loaded is cached,
  // the transpiler only if one of them needed it (most need no more than their types blanked).
  // A module that needs either anyway is instrumented in a child process.
  const prediction = cache?.predict() ?? { cached: false };
  // The instrumenter itself (a big module) is loaded only when a module may need it: under Bun
  // always (its hook instruments a module it meets in place), under Deno with the parser.
  if (!prediction.cached || RUNTIME === "bun") await loadInstrumenter();
  if (!prediction.cached) {
    await instrumenter!.loadParser();
    if (options.fastParser) instrumenter!.useFastParser();
  }
  if (!prediction.cached && RUNTIME === "deno") {
    // With no earlier run to tell, the entry and the local modules it imports statically tell
    // (a dynamic import may still need the child process once).
    const transpiler = prediction.transpiler ??
      (options.entry === undefined || !cache || needsTranspiler(options.entry));
    if (transpiler) await loadTransform();
  }
  // Which modules the hook instruments (the entry always: its import.meta.main, wherever it is).
  const accept = (path: string) => path === options.entry || (isUserModule(path) && include(path));
  const plan: InstrumentPlan = {
    select: options.select,
    selectIn: options.selectIn,
    entry: options.entry,
    probes: collector.probeStyle,
    functionProbes: funcCollector !== undefined,
  };
  /** The options key of each module loaded, for the resolutions noted after it. */
  const keys = new Map<string, string>();
  state.stop = await registerLoader(
    (path, source) => {
      const instrumentOptions = instrumentOptionsFor(
        plan,
        path,
        collector.nextSlot,
        funcCollector?.nextId,
      );
      const key = JSON.stringify(instrumentOptions);
      let m = cache?.get(path, source, key);
      if (!m) {
        try {
          m = instrumentInHook(source, instrumentOptions);
        } catch (caught) {
          // A failure of the instrumenter itself (a bug, a file it cannot read) is still one
          // message that names the file, never the profiler's own stack.
          const error = caught instanceof InstrumentError ? caught : new InstrumentError(
            `Cannot profile ${path}: ${(caught as Error)?.message ?? String(caught)}`,
            { file: path, line: 0, column: 0, codeFrame: "" },
            { cause: caught },
          );
          if (options.onInstrumentError?.(error) === "skip") {
            state.warnings.push(`${error.message}; it ran unprofiled`);
            return null;
          }
          state.errors.push(error);
          throw error;
        }
        cache?.put(path, source, key, m);
      }
      cache?.loaded(path, key, m.transpiled === true);
      keys.set(path, key);
      const r = m.result;
      collector.register(r.functions, r.nextSlot);
      if (funcCollector && r.sites) funcCollector.register(r.sites, r.nextFunctionId!);
      state.warnings.push(...r.warnings);
      state.files.push(path);
      return m.code;
    },
    accept,
    {
      transpiled: true,
      // Deno's own resolution of each import of an instrumented module, for a later run that
      // starts from copies of the modules (see `_copy_mode.ts`): it resolves them from elsewhere.
      ...(cache && RUNTIME === "deno"
        ? {
          onResolve: (referrer: string, specifier: string, url: string) => {
            const key = keys.get(referrer);
            if (key !== undefined) cache.resolved(referrer, key, specifier, url);
          },
        }
        : {}),
    },
  );
  if (cache) state.flush = () => cache.flush();
  return state;
}

/** A module instrumented ahead of a run, for the collectors of the run's driver. */
export interface CopyRegistration {
  /** Absolute path of the module. */
  path: string;
  /** Its profiled functions and first free slot after them. */
  functions: FunctionInfo[];
  /** The first free slot after the module's. */
  nextSlot: number;
  /** Function profiler sites, with function probes. */
  sites?: [number, FuncSite][];
  /** The first free function id after the module's, with function probes. */
  nextFunctionId?: number;
  /** Instrumentation warnings. */
  warnings: string[];
}

/** Where a run that starts from copies begins, and what its driver registers. */
export interface CopyPlan {
  /** URL of the entry's copy: the module the runtime runs as the main module. */
  entryUrl: string;
  /** The modules, in the order their slots were given. */
  registrations: CopyRegistration[];
  /** Whether the modules name `process` or an `npm:` package (which may read its `argv`). */
  mentionsProcess: boolean;
}

/**
 * Deno: whether a run can start from copies of its modules rather than hooking module loading
 * (see `_copy_mode.ts`), and if so the copies, written. Only when every module the last run in
 * this scope loaded is cached for its current text, none needed the transpiler, and every import
 * resolves as Deno resolved it then.
 *
 * @param cache The cache, opened for the driver's scope.
 * @param plan What the run instruments.
 * @param firstSlot The line collector's first free slot (1 in a new process).
 * @param firstFunctionId The function collector's first free id, with function probes.
 * @returns The plan, or `undefined` when the run must hook module loading.
 */
export function planCopies(
  cache: InstrumentCache,
  plan: InstrumentPlan,
  firstSlot = 1,
  firstFunctionId: number | undefined = plan.functionProbes ? 1 : undefined,
): CopyPlan | undefined {
  if (RUNTIME !== "deno" || plan.entry === undefined) return undefined;
  const prediction = cache.predict();
  if (!prediction.cached || prediction.transpiler !== false) return undefined;
  const root = cache.copyRoot();
  if (root === undefined) return undefined;
  const items: CopyItem[] = [];
  const registrations: CopyRegistration[] = [];
  let slot = firstSlot;
  let fid = firstFunctionId;
  // The modules in the order the last run loaded them, each with the slots it would get now.
  // (Their entries were read, and checked against the files' text, by `predict()`.)
  for (const { path, key, module: m, resolved } of cache.runItems()) {
    if (key !== JSON.stringify(instrumentOptionsFor(plan, path, slot, fid))) return undefined;
    items.push({ path, module: m, resolved });
    const r = m.result;
    registrations.push({
      path,
      functions: r.functions,
      nextSlot: r.nextSlot,
      ...(r.sites ? { sites: r.sites, nextFunctionId: r.nextFunctionId } : {}),
      warnings: r.warnings,
    });
    slot = r.nextSlot;
    if (r.nextFunctionId !== undefined) fid = r.nextFunctionId;
  }
  let entryUrl: string | undefined;
  try {
    entryUrl = writeCopies(items, plan.entry, root, isUserModule);
  } catch {
    return undefined; // cannot write them: hook the loader
  }
  if (entryUrl === undefined) return undefined;
  const mentionsProcess = items.some(({ module: m }) => /\bprocess\b|["'`]npm:/.test(m.code!));
  return { entryUrl, registrations, mentionsProcess };
}

let instrumenter: typeof import("./instrument.ts") | undefined;

/**
 * Loads the instrumenter (not its parser: see `loadParser` in `instrument.ts`), which
 * {@linkcode instrumentModule} needs. {@linkcode startLineProfiling} loads it when the cache does
 * not hold every module the run is expected to load.
 */
export async function loadInstrumenter(): Promise<void> {
  instrumenter ??= await importLazily<typeof import("./instrument.ts")>(
    "./instrument.ts",
    import.meta.url,
  );
}

/**
 * Instruments one module into what the runtime runs: under Deno, JavaScript (its types blanked
 * out, lines and columns kept; or, where that is not enough, transpiled with a source map).
 *
 * @param source The module's text.
 * @param options Instrumentation options.
 * @param transpile Makes JavaScript of instrumented TypeScript (under Deno).
 * @returns The code (`null`: unchanged) and the instrumenter's result.
 * @throws {InstrumentError} If it cannot be instrumented (or, under Deno, transpiled).
 * @throws {Error} If {@linkcode loadInstrumenter} has not been called.
 */
export function instrumentModule(
  source: string,
  options: InstrumentOptions,
  transpile: (path: string, code: string, original: string) => string = toJavaScript,
): CachedModule {
  if (!instrumenter) throw new Error("Cannot instrument a module before loadInstrumenter()");
  const { code, js, mappings, ...result } = instrumenter.instrument(source, options);
  if (code === source && !(js && options.asJavaScript)) return { code: null, result };
  if (RUNTIME === "bun") return { code, result };
  if (result.decorator) {
    throw new InstrumentError(
      `Cannot profile ${options.file} under Deno as it uses decorators other than @profile, which the profiler cannot transpile: run it with Bun, or move the profiled functions to a module without decorators`,
      result.decorator,
    );
  }
  if (js) return { code: withSourceMap(options.file, code, source, mappings!), result };
  return { code: transpile(options.file, code, source), result, transpiled: true };
}

class TranspileInChild extends Error {}

function needsTranspiler(entry: string): boolean {
  const seen = new Set([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    if (seen.size > 100) return true; // a big program: parsing ahead costs more than it saves
    const path = queue.shift()!;
    let imports;
    try {
      imports = instrumenter!.strippableImports(readTextSync(path), path);
    } catch {
      continue; // unreadable: its import fails the same way in the run
    }
    if (!imports) return true;
    for (const spec of imports) {
      if (!spec.startsWith("./") && !spec.startsWith("../")) continue;
      const next = resolve(dirname(path), spec);
      if (seen.has(next) || !isUserModule(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return false;
}

/**
 * Instruments a module inside the import hook: here when what it takes is loaded, else (Deno) in
 * a child process — only in a run that predicted it would not need the parser, or the
 * transpiler, and met a module that does.
 */
function instrumentInHook(source: string, options: InstrumentOptions): CachedModule {
  if (RUNTIME === "deno" && !instrumenter?.parserLoaded()) {
    return instrumentInChild(source, options);
  }
  try {
    return instrumentModule(source, options, (path, code, original) => {
      if (RUNTIME === "deno" && !transformLoaded()) throw new TranspileInChild();
      return toJavaScript(path, code, original);
    });
  } catch (error) {
    if (error instanceof TranspileInChild) return instrumentInChild(source, options);
    throw error;
  }
}

// A path on disk, else the URL rayprof runs from (`deno run` takes either).
const CHILD_URL = new URL("./_instrument_child.ts", import.meta.url);
const CHILD = CHILD_URL.protocol === "file:" ? fileURLToPath(CHILD_URL) : CHILD_URL.href;
const ERROR_CLASSES = { InstrumentError, InstrumentSyntaxError, MarkerError };

/**
 * Deno, when a run predicted all its modules cached and meets one that is not: the parser
 * cannot be loaded inside the hook, so a child process instruments the module.
 */
function instrumentInChild(source: string, options: InstrumentOptions): CachedModule {
  // deno-lint-ignore no-explicit-any
  const Deno = (globalThis as any).Deno;
  const out = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, JSON.stringify(options)],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  let reply;
  try {
    reply = JSON.parse(new TextDecoder().decode(out.stdout));
  } catch {
    throw new Error(
      `Cannot instrument ${options.file}: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  if (reply.error) {
    const e = reply.error;
    const Class = ERROR_CLASSES[e.name as keyof typeof ERROR_CLASSES];
    if (Class) throw new Class(e.message, e);
    throw new Error(e.message);
  }
  if (reply.sourceHash !== hash(source)) {
    throw new Error(`Cannot instrument ${options.file} as it changed while it was loading`);
  }
  return reply.module;
}
