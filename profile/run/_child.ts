/**
 * The profiled process's side of a run, loaded before the script (`deno run --preload`,
 * `bun --preload`) by {@linkcode profileScript} in `session.ts`: instruments the script and its
 * local imports as they load (or registers the copies that the parent wrote), makes every runtime
 * worker instrument its modules too, and writes what was gathered to the result file when the
 * process ends: after the event loop ran dry and the runtime was shut down (workers hand their
 * figures over), or at once when it ends early (an exit call, an uncaught error, Ctrl-C).
 *
 * The script itself is the process's main module, as in a plain run: the runtime resolves its
 * imports with the script's own configuration, and what the script prints, throws or exits with
 * is its own.
 *
 * @module
 */

import { hooks } from "../../runtime/hooks.ts";
import type { Recording } from "../../runtime/recorder.ts";
import { args as scriptArgs, env, exit, nodeProcess } from "../host/proc.ts";
import { readTextSync, writeTextSync } from "../host/sync_fs.ts";
import { importLazily } from "../host/lazy_import.ts";
import { type LineStats, mergeLineStats } from "../line/stats.ts";
import type { TickClock } from "../line/clock.ts";
import type { FuncThreadData } from "../func/collector.ts";
import { isUserModule, startLineProfiling } from "../instrument/loader.ts";
import { readCounterArena } from "../line/collector.ts";
import { profileUserWorkers } from "./_user_workers.ts";
import type { InstrumentError } from "../instrument/errors.ts";
import { RUNTIME, setScriptArgs } from "../instrument/module_hooks.ts";
import { pathToFileURL } from "../host/path.ts";
import {
  type ChildConfig,
  type ChildResult,
  CONFIG_ENV,
  type FuncThreadResult,
  WORKER_CONFIG_KEY,
  type WorkerConfig,
} from "./_protocol.ts";

const STATE = Symbol.for("rayprof.state");

const configFile = env(CONFIG_ENV);
if (configFile !== undefined) await start(JSON.parse(readTextSync(configFile)) as ChildConfig);

async function start(config: ChildConfig): Promise<void> {
  // Diagnostics name the user's lines, which needs the callsite of each .remote(), get and wait.
  hooks().captureCallsites = true;
  if (config.runtime) {
    // Loaded before the hook: the profiler never instruments it, and under Deno every module
    // loaded while a hook is registered costs ≈1 ms more (15 ms for the runtime's modules).
    await importLazily(config.runtime);
  }
  let ticks: TickClock | undefined;
  if (config.sample) {
    ticks =
      (await importLazily<typeof import("../line/clock.ts")>("../line/clock.ts", import.meta.url))
        .startTickClock();
  }
  // `deno test` runs each test module in a context of its own, this file preloaded in each, with
  // the test module as its main module: each keeps its own list of the modules it loads, so that
  // one module's list does not predict the next one's (the parser would then be missing).
  const context = config.script === undefined && RUNTIME === "deno"
    ? `\0${(globalThis as { Deno?: { mainModule?: string } }).Deno?.mainModule}`
    : "";
  const cacheOf = (thread: string) =>
    config.cacheDir === undefined
      ? {}
      : { cache: { dir: config.cacheDir, scope: `${config.scope}\0${thread}${context}` } };
  let finished = false;
  const profiling = await startLineProfiling({
    select: config.select,
    selectIn: config.selectIn,
    ...(config.script !== undefined ? { entry: config.script } : {}),
    clock: ticks
      ? { mode: "sample", ticks: { cells: ticks.cells, periodMs: ticks.periodMs } }
      : { mode: "exact" },
    ...(config.functions ? { functions: config.functions } : {}),
    ...(config.copies ? { copies: config.copies } : cacheOf("driver")),
    fastParser: config.fastParser,
    onInstrumentError(error) {
      // A test runner goes on with the module as it is (its tests run as they would unprofiled).
      if (config.script === undefined) return "skip";
      // The script cannot run as written: the parent says why, in one message.
      finished = true;
      ticks?.stop();
      write({ ...result(), instrumentError: errorData(error) });
      exit(2);
    },
  });
  if (config.copies && config.script !== undefined) {
    // The main module is the entry's copy: the script sees its own path, as in a plain run.
    const mentionsProcess = config.mentionsProcess ?? true;
    await setScriptArgs(config.script, scriptArgs(), mentionsProcess);
    setMainModule(config.script);
  }
  // The program's own Web Workers: instrumented too, their counters in shared memory.
  const userArenas = profileUserWorkers({
    select: config.select,
    selectIn: config.selectIn,
    ...(ticks ? { ticks: { buffer: ticks.buffer, periodMs: ticks.periodMs } } : {}),
    ...cacheOf("userworker"),
  }, isUserModule);
  const workerStats: LineStats[] = [];
  /** Each worker's function profile, with its worker id: kept in worker order. */
  const workerFunctions: (FuncThreadResult & { id: number })[] = [];
  const h = hooks();
  const workerConfig: WorkerConfig = {
    select: config.select,
    selectIn: config.selectIn,
    ...(ticks ? { ticks: { buffer: ticks.buffer, periodMs: ticks.periodMs } } : {}),
    ...(config.functions ? { functions: config.functions } : {}),
    ...cacheOf("worker"),
    ...(config.script === undefined ? { skip: true } : {}),
  };
  const preload = new URL("./worker_preload.ts", import.meta.url).href;
  if (!h.workerPreload.includes(preload)) h.workerPreload.push(preload);
  h.workerData[WORKER_CONFIG_KEY] = workerConfig;
  // A cluster's nodes profile this driver's tasks alike, with their own copy of the preload; the
  // ticks (shared memory) and the cache (this machine's folder) stay here.
  h.nodeWorkers = {
    preload: ["profile/run/worker_preload.ts"],
    data: {
      [WORKER_CONFIG_KEY]: {
        select: config.select,
        selectIn: config.selectIn,
        ...(config.functions ? { functions: config.functions } : {}),
        ...(config.script === undefined ? { skip: true } : {}),
        ...(config.cacheDir === undefined
          ? {}
          : { nodeCacheScope: `${config.scope}\0nodeworker${context}` }),
      } satisfies WorkerConfig,
    },
  };
  h.onCollectWarning = (message) => {
    if (!profiling.warnings.includes(message)) profiling.warnings.push(message);
  };
  h.collected.set(WORKER_CONFIG_KEY, (data, worker) => {
    const d = data as { stats?: LineStats; warnings?: string[]; functions?: FuncThreadData };
    if (d?.stats) workerStats.push(d.stats);
    if (d?.functions) {
      const shift = worker.clockShiftMs ?? 0;
      const data = shift === 0
        ? d.functions
        : { ...d.functions, timeOrigin: d.functions.timeOrigin + shift };
      workerFunctions.push({ id: worker.id, label: worker.label, data });
      workerFunctions.sort((a, b) => a.id - b.id);
    }
    const notes = d?.stats && ticks && worker.node !== undefined
      ? ["the cluster's nodes count exactly: --sample's clock is this machine's"]
      : [];
    for (const w of [...d?.warnings ?? [], ...notes]) {
      if (!profiling.warnings.includes(w)) profiling.warnings.push(w);
    }
  });

  function result(): ChildResult {
    const rec = recording();
    return {
      stats: mergeLineStats(
        profiling.collector.snapshot(),
        ...workerStats,
        ...userArenas.map((a) => readCounterArena(a, ticks ? ticks.periodMs : 1)),
      ),
      warnings: profiling.warnings,
      mode: profiling.collector.mode,
      ...(rec ? { recording: rec } : {}),
      ...(profiling.funcCollector
        ? {
          functions: [
            { label: "driver", data: profiling.funcCollector.snapshot() },
            ...workerFunctions.map(({ label, data }) => ({ label, data })),
          ],
        }
        : {}),
    };
  }

  // A test runner may load the preload once per test module, each in a context of its own
  // (Deno): each writes a file of its own, and the parent adds them up.
  const resultFile = config.script === undefined
    ? `${config.result}.${crypto.randomUUID()}.json`
    : config.result;
  function write(r: ChildResult): void {
    try {
      profiling.flush?.();
    } catch { /* the cache only saves time */ }
    writeTextSync(resultFile, JSON.stringify(r));
  }

  /** The process ends before the event loop ran dry: what there is, now (synchronously). */
  const early = (how: ChildResult["ended"]) => {
    if (finished) return;
    finished = true;
    ticks?.stop();
    write({ ...result(), ended: how });
  };
  // Ctrl-C: a script with no handler of its own would die without an event.
  const interrupted = () => {
    // (Under Deno, `process` is loaded on first use: only now, and only if the script did not.)
    if (nodeProcess().listenerCount("SIGINT") > (RUNTIME === "deno" ? 0 : 1)) return;
    early("interrupted");
    exit(130);
  };
  const deno = (globalThis as {
    Deno?: {
      addSignalListener(signal: "SIGINT", f: () => void): void;
      removeSignalListener(signal: "SIGINT", f: () => void): void;
    };
  }).Deno;
  if (deno) {
    // Deno ends on an uncaught error, on Deno.exit() and process.exit() with these events.
    globalThis.addEventListener("error", () => early("error"));
    globalThis.addEventListener("unhandledrejection", () => early("error"));
    globalThis.addEventListener("unload", () => early("exit"));
    deno.addSignalListener("SIGINT", interrupted);
  } else {
    nodeProcess().on("exit", () => early("exit"));
    nodeProcess().on("SIGINT", interrupted);
  }

  // The moment the event loop runs dry, before the process would end: Deno's `beforeunload`
  // (cancelled, so that the process goes on to shut the runtime down), Node's `beforeExit`.
  const drained = async () => {
    if (finished) return;
    const state = (globalThis as Record<symbol, { pool?: unknown } | undefined>)[STATE];
    if (state?.pool) {
      const { shutdown } = await importLazily<typeof import("../../runtime/init.ts")>(
        "../../runtime/init.ts",
        import.meta.url,
      );
      await shutdown();
    }
    if (finished) return;
    finished = true;
    ticks?.stop();
    write({ ...result(), ended: "drained" });
    if (deno) deno.removeSignalListener("SIGINT", interrupted);
  };
  if (RUNTIME === "bun" && config.script === undefined) {
    // `bun test`: one process for every test file, which the runner may end with an exit call;
    // a hook after all of them shuts the runtime down while the process still runs.
    // Must stay dynamic: `bun:test` exists only under Bun's test runner.
    const bunTest = "bun:test";
    const { afterAll } = await import(bunTest) as { afterAll(f: () => Promise<void>): void };
    afterAll(() => drained());
  }
  if (RUNTIME === "deno") {
    globalThis.addEventListener("beforeunload", (event) => {
      if (finished) return;
      event.preventDefault();
      drained();
    });
  } else {
    nodeProcess().on("beforeExit", () => {
      if (!finished) drained();
    });
  }
}

/** Deno: `Deno.mainModule` names the script, not its copy. */
function setMainModule(script: string): void {
  const deno = (globalThis as { Deno?: object }).Deno;
  if (!deno) return;
  try {
    Object.defineProperty(deno, "mainModule", {
      value: pathToFileURL(script).href,
      configurable: true,
    });
  } catch { /* left as it is */ }
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

function errorData(error: InstrumentError): ChildResult["instrumentError"] {
  const e = error as InstrumentError & {
    file?: string;
    line?: number;
    column?: number;
    codeFrame?: string;
  };
  return {
    name: e.name,
    message: e.message,
    file: e.file,
    line: e.line,
    column: e.column,
    codeFrame: e.codeFrame,
  };
}
