/**
 * Imported by every runtime worker before user code when the line profiler runs (through
 * `hooks().workerPreload`): instruments the user's modules inside the worker with the driver's
 * selection, and hands the worker's line stats back when the worker is retired.
 *
 * @module
 */

import { registerWorkerCollector, workerData } from "../../runtime/hooks.ts";
import { startLineProfiling } from "../instrument/loader.ts";
import { WORKER_CONFIG_KEY, type WorkerConfig } from "./_protocol.ts";

const config = workerData()[WORKER_CONFIG_KEY] as WorkerConfig | undefined;
if (config) {
  const profiling = await startLineProfiling({
    select: config.select,
    selectIn: config.selectIn,
    clock: config.ticks
      ? {
        mode: "sample",
        ticks: { cells: new Int32Array(config.ticks.buffer), periodMs: config.ticks.periodMs },
      }
      : { mode: "exact" },
    ...(config.functions ? { functions: config.functions } : {}),
    ...(config.cache ? { cache: config.cache } : {}),
    ...(config.skip ? { onInstrumentError: () => "skip" as const } : {}),
  });
  registerWorkerCollector(WORKER_CONFIG_KEY, () => ({
    stats: profiling.collector.snapshot(),
    warnings: profiling.warnings,
    ...(profiling.funcCollector ? { functions: profiling.funcCollector.snapshot() } : {}),
  }));
}
