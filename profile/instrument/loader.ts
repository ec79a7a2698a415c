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

import { dirname, fileURLToPath, join, pathToFileURL, resolve, sep } from "../host/path.ts";
import { LineCollector, type LineCollectorOptions } from "../line/collector.ts";
import type { FuncCollector, FuncCollectorOptions } from "../func/collector.ts";
import type { InstrumentOptions, Selection } from "./instrument.ts";
import { InstrumentError, InstrumentSyntaxError, MarkerError } from "./errors.ts";
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
import {
  type BareResolver,
  type CopyItem,
  RESOLVE_BARE,
  withMappedSpecifiers,
  writeCopies,
} from "./_copy_mode.ts";
import { findImportMap, resolveImport } from "./_import_map.ts";

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
   * Under Deno, apply the import map of the Deno configuration governing this directory (the
   * script's) to the bare specifiers of instrumented modules (see `_import_map.ts`).
   */
  importMapDir?: string;
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
   * The URL to import the entry from when the run starts from copies of its modules (see
   * `_copy_mode.ts`); `undefined` when module loading is hooked, and the entry is imported as
   * it is.
   */
  entryUrl?: string;
  /**
   * With `entryUrl`: whether the modules name `process` or an `npm:` package (which may read
   * Node's `process.argv`, see `setScriptArgs`).
   */
  mentionsProcess?: boolean;
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

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
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
  const selectIn = options.selectIn;
  const inScope = typeof selectIn === "function"
    ? selectIn
    : (path: string) => !selectIn?.length || selectIn.includes(path);
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
  // What the hook instruments a module with, given the slots and ids it starts from.
  const optionsFor = (path: string, firstSlot: number, firstFunctionId?: number) => {
    const select = inScope(path) ? options.select : undefined;
    const instrumentOptions: InstrumentOptions = {
      file: path,
      firstSlot,
      probes: collector.probeStyle,
      select,
      entry: path === options.entry,
      functionProbes: funcCollector !== undefined,
      firstFunctionId,
      // Deno needs JavaScript: blanking the types spares most modules oxc-transform. ES module
      // TypeScript is made JavaScript even with nothing to instrument, so a later run can copy it.
      stripTypes: RUNTIME === "deno",
      ...(RUNTIME === "deno" && /\.m?ts$/.test(path) ? { asJavaScript: true } : {}),
    };
    return instrumentOptions;
  };
  const importMap = RUNTIME === "deno" && options.importMapDir !== undefined
    ? findImportMap(options.importMapDir)
    : undefined;
  const resolveBare: BareResolver | undefined = importMap &&
    ((spec, referrer) => resolveImport(importMap, spec, referrer));
  if (resolveBare) (globalThis as Record<symbol, unknown>)[RESOLVE_BARE] = resolveBare;
  // Under Deno, a run whose modules are all cached starts from copies of them when that is exact
  // (see `_copy_mode.ts`), rather than hooking module loading.
  if (
    RUNTIME === "deno" && cache && options.entry !== undefined && prediction.cached &&
    prediction.transpiler === false
  ) {
    const url = startFromCopies(state, cache, options.entry, optionsFor, resolveBare, accept);
    if (url !== undefined) {
      state.entryUrl = url;
      return state;
    }
  }
  state.stop = await registerLoader(
    (path, source) => {
      const instrumentOptions = optionsFor(path, collector.nextSlot, funcCollector?.nextId);
      const key = JSON.stringify(instrumentOptions);
      let m = cache?.get(path, source, key);
      if (!m) {
        try {
          m = instrumentInHook(source, instrumentOptions);
        } catch (error) {
          if (error instanceof InstrumentError) state.errors.push(error);
          throw error;
        }
        cache?.put(path, source, key, m);
      }
      cache?.loaded(path, key, m.transpiled === true);
      const r = m.result;
      collector.register(r.functions, r.nextSlot);
      if (funcCollector && r.sites) funcCollector.register(r.sites, r.nextFunctionId!);
      state.warnings.push(...r.warnings);
      state.files.push(path);
      if (resolveBare && m.code !== null && r.links) {
        return withMappedSpecifiers(m.code, r.links, pathToFileURL(path).href, resolveBare);
      }
      return m.code;
    },
    accept,
    {
      transpiled: true,
    },
  );
  return state;
}

/**
 * Registers the modules of the last run (from the cache) with the collectors and writes their
 * copies, when the run can start from them (see `_copy_mode.ts`).
 *
 * @returns The URL of the entry's copy, or `undefined` (nothing registered) when it cannot.
 */
function startFromCopies(
  state: LineProfiling,
  cache: InstrumentCache,
  entry: string,
  optionsFor: (path: string, firstSlot: number, firstFunctionId?: number) => InstrumentOptions,
  resolveBare: BareResolver | undefined,
  instrumented: (path: string) => boolean,
): string | undefined {
  const root = cache.copyRoot();
  if (root === undefined) return undefined;
  const { collector, funcCollector } = state;
  const items: CopyItem[] = [];
  let slot = collector.nextSlot;
  let fid = funcCollector?.nextId;
  // The modules in the order the last run loaded them, each with the slots it would get now.
  // (Their entries were read, and checked against the files' text, by `predict()`.)
  for (const { path, key, module: m } of cache.runItems()) {
    if (key !== JSON.stringify(optionsFor(path, slot, fid))) return undefined;
    items.push({ path, module: m });
    slot = m.result.nextSlot;
    if (m.result.nextFunctionId !== undefined) fid = m.result.nextFunctionId;
  }
  let url: string | undefined;
  try {
    url = writeCopies(items, entry, root, resolveBare, instrumented);
  } catch {
    return undefined; // cannot write them: hook the loader
  }
  if (url === undefined) return undefined;
  state.mentionsProcess = items.some(({ module: m }) => /\bprocess\b|["'`]npm:/.test(m.code!));
  for (const { path, module: m } of items) {
    const r = m.result;
    collector.register(r.functions, r.nextSlot);
    if (funcCollector && r.sites) funcCollector.register(r.sites, r.nextFunctionId!);
    state.warnings.push(...r.warnings);
    state.files.push(path);
  }
  return url;
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

const CHILD = fileURLToPath(new URL("./_instrument_child.ts", import.meta.url));
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
