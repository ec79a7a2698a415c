/**
 * Imported by every runtime worker before user code when the line profiler runs (through
 * `hooks().workerPreload`): instruments the user's modules inside the worker with the driver's
 * selection, and hands the worker's line stats back when the worker is retired.
 *
 * On a cluster node (the driver's `hooks().nodeWorkers`), the modules are the node's copies of
 * the driver's files: the selection's files and the stats handed back name the driver's paths
 * (`hooks().driverPath`), so they merge with the driver's own stats.
 *
 * @module
 */

import { hooks, registerWorkerCollector, workerData } from "../../runtime/hooks.ts";
import { importLazily } from "../host/lazy_import.ts";
import type { LineStats } from "../line/stats.ts";
import type { FuncThreadData } from "../func/collector.ts";
import { WORKER_CONFIG_KEY, type WorkerConfig } from "./_protocol.ts";

const config = workerData()[WORKER_CONFIG_KEY] as WorkerConfig | undefined;
if (config) {
  // Loaded only here: a worker with no profiler configured pays for this file alone.
  const { startLineProfiling } = await importLazily<typeof import("../instrument/loader.ts")>(
    "../instrument/loader.ts",
    import.meta.url,
  );
  const h = hooks();
  const toDriver = h.driverPath;
  // On a cluster node, the driver's cache is another machine's folder: the node keeps its own.
  const cache = config.cache ??
    (config.nodeCacheScope !== undefined && h.nodeCacheDir !== undefined
      ? { dir: h.nodeCacheDir, scope: config.nodeCacheScope }
      : undefined);
  const selectIn = config.selectIn;
  const profiling = await startLineProfiling({
    select: config.select,
    selectIn: toDriver && selectIn?.length
      ? (path: string) => selectIn.includes(toDriver(path))
      : selectIn,
    // The ticks are shared memory: a node on another machine has none, and counts exactly.
    clock: config.ticks?.buffer
      ? {
        mode: "sample",
        ticks: { cells: new Int32Array(config.ticks.buffer), periodMs: config.ticks.periodMs },
      }
      : { mode: "exact" },
    ...(config.functions ? { functions: config.functions } : {}),
    ...(cache ? { cache } : {}),
    ...(config.skip ? { onInstrumentError: () => "skip" as const } : {}),
  });
  registerWorkerCollector(WORKER_CONFIG_KEY, () => {
    const stats = profiling.collector.snapshot();
    const functions = profiling.funcCollector?.snapshot();
    return {
      stats: toDriver ? driverStats(stats, toDriver) : stats,
      warnings: toDriver
        ? driverWarnings(profiling.warnings, profiling.files, toDriver)
        : profiling.warnings,
      ...(functions
        ? { functions: toDriver ? driverFunctions(functions, toDriver) : functions }
        : {}),
    };
  });
}

function driverStats(stats: LineStats, toDriver: (path: string) => string): LineStats {
  return { ...stats, functions: stats.functions.map((f) => ({ ...f, file: toDriver(f.file) })) };
}

function driverFunctions(
  data: FuncThreadData,
  toDriver: (path: string) => string,
): FuncThreadData {
  return { ...data, sites: data.sites.map(([id, s]) => [id, { ...s, file: toDriver(s.file) }]) };
}

function driverWarnings(
  warnings: string[],
  files: string[],
  toDriver: (path: string) => string,
): string[] {
  return warnings.map((w) => files.reduce((text, f) => text.split(f).join(toDriver(f)), w));
}
