/**
 * Runs a script under the line profiler (what `kernprof -l script.py` does): instruments the
 * script and its local imports as they load, in the driver and in every runtime worker, runs it
 * to completion, shuts the runtime down so workers hand their stats over, and returns the merged
 * stats.
 *
 * @module
 */

import { dirname, fileURLToPath, pathToFileURL, resolve } from "../host/path.ts";
import { exit, nodeProcess } from "../host/proc.ts";
import { hooks } from "../../runtime/hooks.ts";
import type { Recording } from "../../runtime/recorder.ts";
import type { Selection } from "../instrument/instrument.ts";
import { InstrumentError } from "../instrument/errors.ts";
import { type LineStats, mergeLineStats } from "../line/stats.ts";
import { startLineProfiling } from "../instrument/loader.ts";
import type { TickClock } from "../line/clock.ts";
import type { FuncCollectorOptions, FuncThreadData } from "../func/collector.ts";
import { RUNTIME, SCRIPT_EXTENSION, setScriptArgs } from "../instrument/module_hooks.ts";
import { defaultCacheDir } from "../instrument/cache.ts";
import { readTextSync, statSync } from "../host/sync_fs.ts";
import { importLazily } from "../host/lazy_import.ts";

/** Key of the profiler's entries in the runtime's worker data and collectors. */
export const WORKER_CONFIG_KEY = "rayprof.lineProfiler";

/** What workers need to instrument like the driver. */
export interface WorkerConfig {
  select?: Selection;
  selectIn?: string[];
  ticks?: { buffer: SharedArrayBuffer; periodMs: number };
  functions?: FuncCollectorOptions;
  cache?: { dir: string; scope: string };
  importMapDir?: string;
}

/** Thrown when the script cannot be profiled at all (missing, a directory, not a script). */
export class ScriptError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ScriptError";
  }
}

/** Options for {@linkcode profileScript}. */
export interface ProfileScriptOptions {
  /**
   * Arguments the script sees (`Deno.args`, `process.argv.slice(2)`).
   * @default {[]}
   */
  args?: string[];
  /** What to profile besides marked functions. */
  select?: Selection;
  /** Absolute paths of the files `select` applies to; empty: all local files. */
  selectIn?: string[];
  /**
   * Low-overhead mode: exact hit counts, time from a shared tick clock (see `../line/clock.ts`).
   * @default {false}
   */
  sample?: boolean;
  /**
   * Called synchronously when the process is about to end before the script finished (it
   * called `process.exit`/`Deno.exit`, or an error went uncaught), with what was gathered.
   */
  onEarlyExit?: (result: ProfileResult) => void;
  /** Also run the function profiler (cProfile) on every function of the local modules. */
  functions?: FuncCollectorOptions;
  /**
   * Reuse instrumented modules from the cache (see `../instrument/cache.ts`: in
   * `$RAYPROF_CACHE_DIR`, `$XDG_CACHE_HOME/rayprof` or `~/.cache/rayprof`; off when
   * `RAYPROF_NO_CACHE` is set), in the driver and the workers.
   * @default {false}
   */
  cache?: boolean;
}

/** Function profiler data of one thread of a run. */
export interface FuncThreadResult {
  /** "driver", or the worker's label ("worker 2", "actor Counter#1"). */
  label: string;
  /** What its collector recorded. */
  data: FuncThreadData;
}

/** What a profiled run produced. */
export interface ProfileResult {
  /** Absolute path of the script. */
  script: string;
  /** Line stats of the driver and all workers, merged. */
  stats: LineStats;
  /** The error the script threw while loading, if it did. */
  error?: unknown;
  /** Instrumentation warnings. */
  warnings: string[];
  /** The runtime's task recording, when the script used the runtime. */
  recording?: Recording;
  /** Clock mode used. */
  mode: "exact" | "sample";
  /** With `functions`: the function profiler's data, the driver's first, then each worker's. */
  functions?: FuncThreadResult[];
}

/**
 * Checks that a path names a script that can be profiled.
 *
 * @param script Path as given.
 * @returns The absolute path.
 * @throws {ScriptError} If it is missing, a directory, or not a TypeScript/JavaScript file.
 */
function resolveScript(script: string): string {
  const path = resolve(script);
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory;
  } catch {
    throw new ScriptError(`Cannot profile '${script}' as it does not exist`);
  }
  if (isDir) throw new ScriptError(`Cannot profile '${script}' as it is a directory`);
  if (!SCRIPT_EXTENSION.test(path)) {
    throw new ScriptError(
      `Cannot profile '${script}' as it is not a TypeScript or JavaScript file: expected .ts, .tsx, .mts, .cts, .js, .jsx, .mjs or .cjs`,
    );
  }
  return path;
}

const STATE = Symbol.for("rayprof.state");

/**
 * Runs a script with line profiling and returns the stats once it has finished: its top level
 * has run, the event loop has drained, and the runtime (if used) has been shut down.
 *
 * @param script Path of the script.
 * @param options Options.
 * @returns The merged stats and what happened.
 * @throws {ScriptError} If the script cannot be profiled at all.
 * @throws {InstrumentError} If the script or a local import does not parse, or has a misplaced marker.
 */
export async function profileScript(
  script: string,
  options: ProfileScriptOptions = {},
): Promise<ProfileResult> {
  const path = resolveScript(script);
  // No separate syntax check: the hook parses every static import while the module graph is
  // built, before any of it runs, so an error there still stops the run before it starts.
  let ticks: TickClock | undefined;
  if (options.sample) {
    ticks =
      (await importLazily<typeof import("../line/clock.ts")>("../line/clock.ts", import.meta.url))
        .startTickClock();
  }
  await preloadRuntime(path);
  const cacheDir = options.cache ? defaultCacheDir() : undefined;
  const cacheOf = (thread: string) =>
    cacheDir === undefined ? {} : { cache: { dir: cacheDir, scope: `${path}\0${thread}` } };
  const profiling = await startLineProfiling({
    select: options.select,
    selectIn: options.selectIn,
    entry: path,
    clock: ticks
      ? { mode: "sample", ticks: { cells: ticks.cells, periodMs: ticks.periodMs } }
      : { mode: "exact" },
    ...(options.functions ? { functions: options.functions } : {}),
    ...cacheOf("driver"),
    importMapDir: dirname(path),
    // A big program pays back the fast parser's start-up cost; a small script does not.
    fastParser: statSync(path).size > 32_768,
  });
  const workerStats: LineStats[] = [];
  /** Each worker's function profile, with its worker id: kept in worker order, whatever order they come in. */
  const workerFunctions: (FuncThreadResult & { id: number })[] = [];
  const h = hooks();
  const config: WorkerConfig = {
    select: options.select,
    selectIn: options.selectIn,
    ...(ticks ? { ticks: { buffer: ticks.buffer, periodMs: ticks.periodMs } } : {}),
    ...(options.functions ? { functions: options.functions } : {}),
    ...cacheOf("worker"),
    importMapDir: dirname(path),
  };
  const preload = new URL("./worker_preload.ts", import.meta.url).href;
  if (!h.workerPreload.includes(preload)) h.workerPreload.push(preload);
  h.workerData[WORKER_CONFIG_KEY] = config;
  h.collected.set(WORKER_CONFIG_KEY, (data, worker) => {
    const d = data as { stats?: LineStats; warnings?: string[]; functions?: FuncThreadData };
    if (d?.stats) workerStats.push(d.stats);
    if (d?.functions) {
      workerFunctions.push({ id: worker.id, label: worker.label, data: d.functions });
      workerFunctions.sort((a, b) => a.id - b.id);
    }
    for (const w of d?.warnings ?? []) {
      if (!profiling.warnings.includes(w)) profiling.warnings.push(w);
    }
  });

  let finished = false;
  const result = (error?: unknown): ProfileResult => ({
    script: path,
    stats: mergeLineStats(profiling.collector.snapshot(), ...workerStats),
    warnings: profiling.warnings,
    mode: profiling.collector.mode,
    ...(error === undefined ? {} : { error }),
    ...(recording() ? { recording: recording() } : {}),
    ...(profiling.funcCollector
      ? {
        functions: [
          { label: "driver", data: profiling.funcCollector.snapshot() },
          ...workerFunctions.map(({ label, data }) => ({ label, data })),
        ],
      }
      : {}),
  });
  const early = () => {
    if (finished) return;
    finished = true;
    ticks?.stop();
    options.onEarlyExit?.(result());
  };
  // Ctrl-C: a script with no handler of its own would die without an `exit` event.
  const interrupted = () => {
    // (Under Deno, `process` is loaded on first use: only now, and only if the script did not.)
    if (nodeProcess().listenerCount("SIGINT") > (RUNTIME === "deno" ? 0 : 1)) return;
    early();
    exit(130);
  };
  const deno = (globalThis as {
    Deno?: {
      addSignalListener(signal: "SIGINT", f: () => void): void;
      removeSignalListener(signal: "SIGINT", f: () => void): void;
    };
  }).Deno;
  if (deno) {
    // Deno ends on an uncaught error, on Deno.exit() and process.exit(), and at the end, with
    // these (no `exit` event), without loading its Node `process`.
    globalThis.addEventListener("unhandledrejection", early);
    globalThis.addEventListener("error", early);
    globalThis.addEventListener("unload", early);
    deno.addSignalListener("SIGINT", interrupted);
  } else {
    nodeProcess().on("exit", early);
    nodeProcess().on("SIGINT", interrupted);
  }

  await setScriptArgs(
    path,
    options.args ?? [],
    profiling.entryUrl === undefined || profiling.mentionsProcess,
  );
  let error: unknown;
  try {
    await import(profiling.entryUrl ?? pathToFileURL(path).href);
  } catch (e) {
    const cause = e instanceof InstrumentError
      ? e
      : profiling.errors.find((x) => String((e as Error)?.message).includes(x.message));
    if (cause) {
      finished = true;
      ticks?.stop();
      throw cause;
    }
    error = e;
  }
  // A script that threw at its top level ends there, as it would unprofiled.
  if (error === undefined) await drained();
  const state = (globalThis as Record<symbol, { pool?: unknown } | undefined>)[STATE];
  if (state?.pool) {
    const { shutdown } = await importLazily<typeof import("../../runtime/init.ts")>(
      "../../runtime/init.ts",
      import.meta.url,
    );
    await shutdown();
  }
  if (finished) return result(error); // an early exit already reported
  finished = true;
  ticks?.stop();
  if (deno) {
    globalThis.removeEventListener("unhandledrejection", early);
    globalThis.removeEventListener("error", early);
    globalThis.removeEventListener("unload", early);
    deno.removeSignalListener("SIGINT", interrupted);
  } else {
    nodeProcess().off("exit", early);
    nodeProcess().off("SIGINT", interrupted);
  }
  return result(error);
}

const MOD = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "mod.ts");
// Static and dynamic imports, `export ... from`: what a script may load the runtime with.
const SPECIFIER = /\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g;

/**
 * Imports rayprof's runtime (mod.ts) before the import hook is registered when the script
 * imports it by path: the profiler never instruments it, and under Deno every module loaded
 * while a hook is registered costs ≈1 ms more (15 ms for the runtime's modules). Only a speed-up:
 * a script that reaches the runtime some other way still works, as its modules pass the hook
 * unchanged.
 */
async function preloadRuntime(script: string): Promise<void> {
  let source: string;
  try {
    source = readTextSync(script);
  } catch {
    return;
  }
  for (const [, spec] of source.matchAll(SPECIFIER)) {
    if (!/mod\.ts$/.test(spec)) continue;
    let path: string;
    try {
      path = spec.startsWith("file:")
        ? fileURLToPath(spec)
        : spec.startsWith(".")
        ? resolve(dirname(script), spec)
        : spec;
    } catch {
      continue;
    }
    if (path === MOD) {
      await importLazily<typeof import("../../mod.ts")>("../../mod.ts", import.meta.url);
      return;
    }
  }
}

function drained(): Promise<void> {
  // The moment the event loop runs dry, before the process would end: Deno's `beforeunload`
  // (cancelled, so that the process goes on to report), Node's `beforeExit`.
  if (RUNTIME === "deno") {
    return new Promise((resolve) =>
      globalThis.addEventListener("beforeunload", (event) => {
        event.preventDefault();
        resolve();
      }, { once: true })
    );
  }
  return new Promise((resolve) => nodeProcess().once("beforeExit", () => resolve()));
}

function recording(): Recording | undefined {
  const state = (globalThis as Record<
    symbol,
    | {
      pool?: { recorder?: { snapshot(): Recording } };
      lastRecorder?: { snapshot(): Recording };
    }
    | undefined
  >)[STATE];
  const rec = state?.pool?.recorder ?? state?.lastRecorder;
  return rec?.snapshot();
}
