/**
 * What passes between `cli.ts profile` (the parent, `session.ts`) and the profiled process
 * (`_child.ts`, preloaded before the script): the configuration the parent writes, and the result
 * the child writes when it ends. Both are JSON files named in the child's environment.
 *
 * @module
 */

import type { Recording } from "../../runtime/recorder.ts";
import type { Selection } from "../instrument/instrument.ts";
import type { CopyRegistration } from "../instrument/loader.ts";
import type { LineStats } from "../line/stats.ts";
import type { FuncCollectorOptions, FuncThreadData } from "../func/collector.ts";

/** The environment variable naming the child's configuration file. */
export const CONFIG_ENV = "RAYPROF_CHILD_CONFIG";

/** Key of the profiler's entries in the runtime's worker data and collectors. */
export const WORKER_CONFIG_KEY = "rayprof.lineProfiler";

/** What workers need to instrument like the driver. */
export interface WorkerConfig {
  select?: Selection;
  selectIn?: string[];
  ticks?: { buffer: SharedArrayBuffer; periodMs: number };
  functions?: FuncCollectorOptions;
  cache?: { dir: string; scope: string };
  /** A module that cannot be instrumented runs as it is (a test runner's run), with a warning. */
  skip?: boolean;
  /**
   * On a cluster node: keep the instrumented modules in the node's own cache folder
   * (`hooks().nodeCacheDir`) under this scope. Absent: no cache there (`--no-cache`).
   */
  nodeCacheScope?: string;
}

/** The child's configuration. */
export interface ChildConfig {
  /** Absolute path of the script; absent when a test runner loads the modules. */
  script?: string;
  /** Where the child writes its {@linkcode ChildResult}. */
  result: string;
  /** What to profile besides marked functions. */
  select?: Selection;
  /** Absolute paths of the files `select` applies to; empty: all local files. */
  selectIn?: string[];
  /** Low-overhead mode (the shared tick clock). */
  sample?: boolean;
  /** Also run the function profiler. */
  functions?: FuncCollectorOptions;
  /** The instrument cache's directory; absent: no cache. */
  cacheDir?: string;
  /** Names the cache's run lists (the script, or the test run). */
  scope: string;
  /** Modules instrumented ahead: the main module is the entry's copy (Deno, see `planCopies`). */
  copies?: CopyRegistration[];
  /**
   * With `copies`: whether the modules name `process` or an `npm:` package (which may read
   * Node's `process.argv`), so the child sets its `argv` before the script runs.
   */
  mentionsProcess?: boolean;
  /** Parse with oxc's raw transfer (a big program). */
  fastParser?: boolean;
  /** URL of rayprof's runtime (mod.ts), to load before the hook when the script imports it. */
  runtime?: string;
}

/** Function profiler data of one thread of a run. */
export interface FuncThreadResult {
  /** "driver", or the worker's label ("worker 2", "actor Counter#1"). */
  label: string;
  /** What its collector recorded. */
  data: FuncThreadData;
}

/** What the child gathered. */
export interface ChildResult {
  /** Line stats of the driver and all workers, merged. */
  stats: LineStats;
  /** Instrumentation warnings. */
  warnings: string[];
  /** Clock mode used. */
  mode: "exact" | "sample";
  /** The runtime's task recording, when the script used the runtime. */
  recording?: Recording;
  /** With the function profiler: the driver's data first, then each worker's. */
  functions?: FuncThreadResult[];
  /**
   * How the process ended: its event loop ran dry (the runtime was shut down, every worker's
   * figures are in), or early (an exit call, an uncaught error, Ctrl-C: the driver's only).
   */
  ended?: "drained" | "exit" | "error" | "interrupted";
  /** A module could not be instrumented: the run stopped before the script ran. */
  instrumentError?: {
    name: string;
    message: string;
    file?: string;
    line?: number;
    column?: number;
    codeFrame?: string;
  };
}
