/**
 * Runs a script under the line profiler (what `kernprof -l script.py` does), as its own process:
 * `deno run -A --preload _child.ts SCRIPT ARGS` (or `bun --preload _child.ts SCRIPT ARGS`), so the
 * script is the main module of a plain run of the same runtime: its imports resolve with its own
 * configuration (workspaces, import maps, tsconfig paths), and what it prints, throws or exits with
 * reaches the terminal as it would unprofiled. The child instruments the script and its local
 * imports as they load, in the driver and in every runtime worker, and writes the merged figures
 * to a file when it ends; this side reads them.
 *
 * Under Deno, a run whose modules are all in the instrument cache starts from copies of them
 * (`planCopies`), which spares the child Deno's module hook and its Node compatibility layer.
 *
 * @module
 */

import { dirname, fileURLToPath, join, pathToFileURL, resolve } from "../host/path.ts";
import { env, onSignal, pid, spawnInherited } from "../host/proc.ts";
import {
  listDirSync,
  mkdirpSync,
  readTextSync,
  removeIfExistsSync,
  statSync,
  writeTextSync,
} from "../host/sync_fs.ts";
import type { Recording } from "../../runtime/recorder.ts";
import type { Selection } from "../instrument/instrument.ts";
import { InstrumentError, InstrumentSyntaxError, MarkerError } from "../instrument/errors.ts";
import { DENO_CONFIG_ENV } from "../instrument/jsx_config.ts";
import { type LineStats, mergeLineStats } from "../line/stats.ts";
import type { FuncCollectorOptions } from "../func/collector.ts";
import { RUNTIME, SCRIPT_EXTENSION } from "../instrument/module_hooks.ts";
import { defaultCacheDir, hash, InstrumentCache } from "../instrument/cache.ts";
import {
  type ChildConfig,
  type ChildResult,
  CONFIG_ENV,
  type FuncThreadResult,
} from "./_protocol.ts";

export { type FuncThreadResult, WORKER_CONFIG_KEY, type WorkerConfig } from "./_protocol.ts";

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
  /** Also run the function profiler (cProfile) on every function of the local modules. */
  functions?: FuncCollectorOptions;
  /**
   * Reuse instrumented modules from the cache (see `../instrument/cache.ts`: in
   * `$RAYPROF_CACHE_DIR`, `$XDG_CACHE_HOME/rayprof` or `~/.cache/rayprof`; off when
   * `RAYPROF_NO_CACHE` is set), in the driver and the workers.
   * @default {false}
   */
  cache?: boolean;
  /**
   * Options for the runtime's own command line, before the script: `--config FILE` and
   * `--import-map FILE` for Deno. They apply as in a plain run.
   * @default {[]}
   */
  runtimeArgs?: string[];
  /**
   * Run a test runner instead of a script: `deno test` / `bun test` over these files or folders
   * (the runner's own semantics; `script` then names the run in the cache and the result file).
   */
  test?: string[];
  /** Called once the child is started: what the caller needs only after the run can load now. */
  onStarted?: () => void;
}

/** What a profiled run produced. */
export interface ProfileResult {
  /** Absolute path of the script (with `test`: of the first path). */
  script: string;
  /** The process's exit code: the script's own (or the test runner's). */
  code: number;
  /** Line stats of the driver and all workers, merged. */
  stats: LineStats;
  /** Instrumentation warnings. */
  warnings: string[];
  /** The runtime's task recording, when the script used the runtime. */
  recording?: Recording;
  /** Clock mode used. */
  mode: "exact" | "sample";
  /** With `functions`: the function profiler's data, the driver's first, then each worker's. */
  functions?: FuncThreadResult[];
  /**
   * How the profiled process ended (see `ChildResult.ended`); `undefined` when it ended without
   * writing its figures (killed).
   */
  ended?: ChildResult["ended"];
}

/**
 * Checks that a path names a script that can be profiled.
 *
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

const CHILD = new URL("./_child.ts", import.meta.url);
const MOD_URL = new URL("../../mod.ts", import.meta.url);
// Its path when rayprof runs from disk; run from a URL, a script imports it by that URL.
const MOD = MOD_URL.protocol === "file:" ? fileURLToPath(MOD_URL) : undefined;
// Static and dynamic imports, `export ... from`: what a script may load the runtime with.
const SPECIFIER = /\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g;
let runs = 0;

/**
 * Runs a script with line profiling, in a process of its own, and returns the stats once it has
 * ended: its top level has run, the event loop has drained, and the runtime (if used) has been
 * shut down; or it ended early (an exit call, an uncaught error, Ctrl-C), with what its driver
 * had gathered.
 *
 * @param script Path of the script.
 * @param options Options.
 * @returns The merged stats and how the process ended.
 * @throws {ScriptError} If the script cannot be profiled at all.
 * @throws {InstrumentError} If the script or a local import does not parse, or has a misplaced marker.
 */
export async function profileScript(
  script: string,
  options: ProfileScriptOptions = {},
): Promise<ProfileResult> {
  const path = options.test ? resolve(options.test[0] ?? ".") : resolveScript(script);
  const cacheDir = options.cache ? defaultCacheDir() : undefined;
  // The run lists (and Deno's copies of the modules) hold the resolutions of the last run: a run
  // with other configuration files, or other flags, has lists of its own.
  const scope = `${
    options.test ? `test\0${options.test.map((p) => resolve(p)).join("\0")}` : path
  }\0${resolutionInputs(path, options.runtimeArgs ?? [])}`;
  const work = join(tmpBase(), `rayprof-${pid()}-${++runs}`);
  mkdirpSync(work);
  const config: ChildConfig = {
    ...(options.test ? {} : { script: path }),
    result: join(work, "result.json"),
    select: options.select,
    selectIn: options.selectIn,
    sample: options.sample,
    functions: options.functions,
    cacheDir,
    scope,
    // A big program pays back the fast parser's start-up cost; a small script does not.
    fastParser: !options.test && statSync(path).size > 32_768,
    ...(options.test ? {} : runtimeImport(path)),
  };
  let main = path;
  if (!options.test && cacheDir !== undefined && RUNTIME === "deno") {
    const plan = await copyPlan(config, cacheDir, path);
    if (plan) {
      config.copies = plan.registrations;
      config.mentionsProcess = plan.mentionsProcess;
      main = plan.entryUrl;
    }
  }
  const configFile = join(work, "config.json");
  writeTextSync(configFile, JSON.stringify(config));
  const preload = CHILD.href;
  const runtimeArgs = options.runtimeArgs ?? [];
  const args = RUNTIME === "deno"
    ? [
      options.test ? "test" : "run",
      "-A",
      ...runtimeArgs,
      ...(options.test ? [] : copyConfig(main, path, runtimeArgs)),
      "--preload",
      preload,
      ...(options.test ?? [main]),
      ...options.args ?? [],
    ]
    : [
      ...(options.test ? ["test"] : []),
      "--preload",
      fileURLToPath(preload),
      ...runtimeArgs,
      ...(options.test ?? [main]),
      ...options.args ?? [],
    ];
  const child = spawnInherited(args, { [CONFIG_ENV]: configFile, ...namedConfig(runtimeArgs) });
  options.onStarted?.();
  // Ctrl-C reaches the child from the terminal; a SIGINT sent to this process alone is passed on
  // (after a moment, so that a child that got it from the terminal does not get it twice).
  let forward: ReturnType<typeof setTimeout> | undefined;
  const stopSignals = [
    onSignal("SIGINT", () => {
      forward ??= setTimeout(() => child.kill("SIGINT"), 200);
    }),
    onSignal("SIGTERM", () => child.kill("SIGTERM")),
  ];
  let code: number;
  try {
    code = await child.exited;
  } finally {
    if (forward !== undefined) clearTimeout(forward);
    for (const stop of stopSignals) stop();
  }
  let result: ChildResult | undefined;
  try {
    result = readResults(work, config.result);
  } finally {
    removeIfExistsSync(configFile);
    removeIfExistsSync(work);
  }
  if (result?.instrumentError) throw instrumentError(result.instrumentError);
  return {
    script: path,
    code,
    stats: result?.stats ?? { unit: 1e-9, functions: [] } as unknown as LineStats,
    warnings: result?.warnings ?? [],
    mode: result?.mode ?? (options.sample ? "sample" : "exact"),
    ...(result?.recording ? { recording: result.recording } : {}),
    ...(result?.functions ? { functions: result.functions } : {}),
    ...(result?.ended ? { ended: result.ended } : {}),
  };
}

/** Deno: the copies a run can start from (see `planCopies`), or `undefined`. */
async function copyPlan(config: ChildConfig, cacheDir: string, entry: string) {
  const { planCopies } = await import("../instrument/loader.ts");
  const cache = InstrumentCache.open(cacheDir, `${config.scope}\0driver`);
  return planCopies(cache, {
    select: config.select,
    selectIn: config.selectIn,
    entry,
    probes: config.sample ? "inline" : "call",
    functionProbes: config.functions !== undefined,
  });
}

/** The files that decide how imports resolve, as the runtime reads them. */
const CONFIG_FILES = RUNTIME === "deno"
  ? ["deno.json", "deno.jsonc", "package.json"]
  : ["package.json", "tsconfig.json", "jsconfig.json", "bunfig.toml"];

/**
 * What the resolution of the script's imports depends on, besides its modules: the flags, and the
 * text of the configuration files above it, of its workspace's members, and of the import maps
 * and configuration files they or the flags name.
 */
function resolutionInputs(script: string, runtimeArgs: string[]): string {
  const parts: string[] = [JSON.stringify(runtimeArgs)];
  const seen = new Set<string>();
  const add = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readTextSync(file);
    } catch {
      return;
    }
    parts.push(file, text);
    // A workspace's members and a named import map (JSONC comments aside, which they rarely hold).
    let json: { workspace?: unknown; importMap?: unknown } | undefined;
    try {
      json = JSON.parse(text);
    } catch { /* JSONC or not JSON: its text alone */ }
    const at = dirname(file);
    if (typeof json?.importMap === "string") add(resolve(at, json.importMap));
    const members = Array.isArray(json?.workspace) ? json.workspace : [];
    for (const member of members) {
      if (typeof member !== "string") continue;
      for (const name of CONFIG_FILES) add(join(resolve(at, member), name));
    }
  };
  for (let i = 0; i < runtimeArgs.length; i++) {
    if (/^(--config|-c|--import-map)$/.test(runtimeArgs[i])) add(resolve(runtimeArgs[i + 1]));
  }
  for (let d = statSync(script).isDirectory ? script : dirname(script);; d = dirname(d)) {
    for (const name of CONFIG_FILES) add(join(d, name));
    if (dirname(d) === d) break;
  }
  return hash(parts.join("\0"));
}

/** The configuration file the user named (for the JSX settings the hook transpiles with). */
function namedConfig(runtimeArgs: string[]): Record<string, string> {
  for (let i = 0; i < runtimeArgs.length; i++) {
    const a = runtimeArgs[i];
    if (a === "--no-config") return { [DENO_CONFIG_ENV]: "" };
    if (a === "--config" || a === "-c") return { [DENO_CONFIG_ENV]: resolve(runtimeArgs[i + 1]) };
    if (a.startsWith("--config=")) return { [DENO_CONFIG_ENV]: resolve(a.slice(9)) };
  }
  return {};
}

/**
 * A run from copies has the entry's copy, under the cache, as its main module: Deno would look
 * for a configuration file from there. It gets the one a plain run of the script would find
 * (unless the user named one), or none.
 */
function copyConfig(main: string, script: string, runtimeArgs: string[]): string[] {
  if (main === script || runtimeArgs.some((a) => /^--(config|no-config)\b|^-c$/.test(a))) {
    return [];
  }
  for (let dir = dirname(script);; dir = dirname(dir)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      try {
        if (!statSync(join(dir, name)).isDirectory) return ["--config", join(dir, name)];
      } catch { /* not here */ }
    }
    if (dirname(dir) === dir) return ["--no-config"];
  }
}

/**
 * When the script imports rayprof's runtime (mod.ts) by path, the child loads it before its
 * module hook: the profiler never instruments it, and under Deno every module loaded while a
 * hook is registered costs ≈1 ms more. Only a speed-up: a script that reaches the runtime some
 * other way still works, as its modules pass the hook unchanged.
 */
function runtimeImport(script: string): { runtime?: string } {
  let source: string;
  try {
    source = readTextSync(script);
  } catch {
    return {};
  }
  for (const [, spec] of source.matchAll(SPECIFIER)) {
    if (!/mod\.ts$/.test(spec)) continue;
    if (MOD === undefined) {
      if (spec === MOD_URL.href) return { runtime: MOD_URL.href };
      continue;
    }
    try {
      const p = spec.startsWith("file:")
        ? fileURLToPath(spec)
        : spec.startsWith(".")
        ? resolve(dirname(script), spec)
        : spec;
      if (p === MOD) return { runtime: pathToFileURL(MOD).href };
    } catch {
      continue;
    }
  }
  return {};
}

/**
 * The child's result, or the sum of its results (a test runner that loaded the preload once per
 * test module); removes the files. `undefined` when none was written (the child was killed).
 */
function readResults(work: string, main: string): ChildResult | undefined {
  const files = [
    main,
    ...listDirSync(work).filter((f) => /^result\.json\..+\.json$/.test(f))
      .map((f) => join(work, f)),
  ];
  const results: ChildResult[] = [];
  for (const file of files) {
    try {
      results.push(JSON.parse(readTextSync(file)) as ChildResult);
    } catch { /* not written */ }
    removeIfExistsSync(file);
  }
  if (results.length <= 1) return results[0];
  const withTasks = results.filter((r) => r.recording && r.recording.tasks.length > 0);
  const functions = results.flatMap((r) => r.functions ?? []);
  return {
    stats: mergeLineStats(...results.map((r) => r.stats)),
    warnings: [...new Set(results.flatMap((r) => r.warnings))],
    mode: results[0].mode,
    // Recordings of separate runtimes do not share a clock or ids: one is shown, when one has tasks.
    ...(withTasks.length === 1 ? { recording: withTasks[0].recording } : {}),
    ...(functions.length ? { functions } : {}),
    ended: results.every((r) => r.ended === "drained")
      ? "drained"
      : results.find((r) => r.ended !== "drained")?.ended,
    ...(results.find((r) => r.instrumentError)
      ? { instrumentError: results.find((r) => r.instrumentError)!.instrumentError }
      : {}),
  };
}

function tmpBase(): string {
  return env("TMPDIR") ?? env("TMP") ?? env("TEMP") ?? "/tmp";
}

function instrumentError(e: NonNullable<ChildResult["instrumentError"]>): InstrumentError {
  const at = {
    file: e.file ?? "",
    line: e.line ?? 0,
    column: e.column ?? 0,
    codeFrame: e.codeFrame ?? "",
  };
  const Class = e.name === "InstrumentSyntaxError"
    ? InstrumentSyntaxError
    : e.name === "MarkerError"
    ? MarkerError
    : InstrumentError;
  return new Class(e.message, at);
}
