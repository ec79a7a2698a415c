/**
 * The rayprof command line: `profile` runs a script under the line profiler (kernprof), `show`
 * prints saved results (`python -m line_profiler`).
 *
 * ```sh
 * deno run -A cli.ts profile examples/loops.ts
 * bun cli.ts profile --all examples/loops.ts
 * deno run -A cli.ts show loops.ts.lprof.json
 * ```
 *
 * @module
 */

import { basename, resolve } from "./profile/host/path.ts";
import { parseArgs } from "./profile/host/parse_args.ts";
import { writeFdSync } from "./profile/host/sync_fs.ts";
import {
  args as processArgs,
  cwd,
  env,
  setExitCode,
  stderrIsTerminal,
  stdoutColumns,
  stdoutIsTerminal,
} from "./profile/host/proc.ts";
import { importLazily } from "./profile/host/lazy_import.ts";

/**
 * Help and usage errors name the command as it was started: `cli.ts` run by a runtime, or the
 * npm package's `rayprof` (npm/rayprof.mjs sets RAYPROF_PROG).
 */
function named(text: string): string {
  const prog = env("RAYPROF_PROG");
  if (!prog) return text;
  return text
    .replace(/^ {2}bun cli\.ts \.\.\..*\n/m, "")
    .replace(/(?:deno run -A |bun )?cli\.ts\b/g, prog);
}

const HELP = `rayprof: profile Ray-style TypeScript programs on Deno and Bun

Usage:
  deno run -A cli.ts profile [options] SCRIPT [ARGS...]   run SCRIPT under the line profiler
  deno run -A cli.ts show [options] FILE...                print saved line profiles
  deno run -A cli.ts repl [options]                        TypeScript REPL with timings
  deno run -A cli.ts node --address redis://HOST:PORT [--num-cpus N] [--name NAME]
                                                           join a cluster as a node
  deno run -A cli.ts status --address redis://HOST:PORT    list a cluster's nodes and tasks
  bun cli.ts ...                                           the same under Bun

Commands:
  profile   Run a script, then print how long each line of the chosen functions took
  show      Print the results saved by 'profile' (several files are added together)
  repl      A REPL with the API loaded that prints how long each input took, with its tasks

Run 'cli.ts COMMAND --help' for the options of a command.
`;

const PROFILE_HELP = `Usage: cli.ts profile [options] SCRIPT [ARGS...]
       cli.ts profile [options] --test PATH... [RUNNER FLAGS]

Runs SCRIPT as 'deno run -A SCRIPT ARGS' (or 'bun SCRIPT ARGS') would, in a process of its own
that resolves imports with the script's own configuration (deno.json workspaces, import maps,
package.json, tsconfig paths, bunfig), with line profiling of the chosen functions in the
script, in the workers that run remote tasks and in the script's own Web Workers. Then prints
the report and saves the results. Options go before SCRIPT; everything after it is the script's.
The script's stdout is its own, byte for byte; the report and the profiler's messages go to
stderr.

Running:
  --test                Run the test files or folders given ('deno test -A PATH...', 'bun test
                        PATH...') under the profiler: the runner's own output, counts and exit
                        status, then the report over the code the tests ran
  -c, --config FILE     Deno: the configuration file the script runs with (deno run --config)
  --import-map FILE     Deno: the import map the script runs with (deno run --import-map)

Choosing what to profile (kernprof's @profile):
  Marked functions are always profiled: a '// @profile' or '/** @profile */' comment directly
  above a function, method, arrow or class; the '@profile' decorator on a method; 'profile(fn)'.
  --all                 Every function in SCRIPT and its local imports (kernprof -p)
  --func NAME           Functions named NAME (or Class.NAME); repeatable
  --module PATH         Every function in the file PATH; repeatable

Timing:
  --sample              Low-overhead mode: exact hit counts, times from a 50 µs shared clock
  --no-cache            Instrument every module afresh: do not read or write the cache of
                        instrumented modules (~/.cache/rayprof, $XDG_CACHE_HOME/rayprof or
                        $RAYPROF_CACHE_DIR; RAYPROF_NO_CACHE=1 also turns it off), nor under
                        Deno the copies of them that later runs start from (faster)

Output:
  -u, --unit SECONDS    Output unit of the report (default 1e-6)
  -z, --skip-zero       Leave out functions with no time
  --summarize           End with one line per function: total seconds, file, name
  -o, --output FILE     Save results to FILE (default SCRIPT.lprof.json in the current
                        directory); results of earlier runs in FILE are added to
  --overwrite           Replace FILE instead of adding to it
  -q, --quiet           Save the results but print no report
  -h, --help            Show this help

Tasks (when SCRIPT uses the runtime; the parallelism diagnostics follow the report):
  --timeline FILE       Write the task timeline as Chrome trace JSON; open it in
                        https://ui.perfetto.dev, Chrome DevTools (Performance,
                        Load profile) or speedscope
  --gantt               Draw the task timeline in the terminal, a row per worker
  --html FILE           Write a self-contained HTML report: task Gantt, diagnostics and the
                        profiled source with a heat map of line times

Function profiler (cProfile/pstats; every function of SCRIPT and its local imports, in the
driver and the workers):
  --functions           Print the pstats table: ncalls, tottime, percall, cumtime, percall
  --sort KEY            pstats sort key, repeatable or comma-separated (default cumulative):
                        calls, cumulative, cumtime, filename, line, module, name, ncalls, nfl,
                        pcalls, stdname, time, tottime, or an unambiguous abbreviation
  --per-worker          One table per thread (driver, each worker) instead of one merged
  --speedscope FILE     Write the calls as speedscope JSON (https://www.speedscope.app)
  An async call lasts until it settles (cumtime); its tottime leaves out the time it waited,
  which shows on '<await f>' rows at the line of each await. --sort, --per-worker and
  --speedscope imply --functions.

The report is coloured on a terminal unless NO_COLOR is set. Exit status: the script's own, or 2
when it cannot be profiled (missing, a directory, not a script, syntax error, misplaced marker).
`;

const SHOW_HELP = `Usage: cli.ts show [options] FILE...

Prints line profiles saved by 'cli.ts profile' (SCRIPT.lprof.json). Several files are added
together into one report.

Options:
  -u, --unit SECONDS    Output unit (default 1e-6)
  -z, --skip-zero       Leave out functions with no time
  --summarize           End with one line per function: total seconds, file, name
  -h, --help            Show this help
`;

/** Where the CLI writes; tests pass their own. */
export interface CliIO {
  /** Writes text to standard output. */
  stdout: (text: string) => void;
  /** Writes text to standard error. */
  stderr: (text: string) => void;
  /** Whether stdout is a terminal (colour of `show`). */
  isTTY: boolean;
  /** Whether stderr is a terminal (colour of `profile`'s reports, which go there). @default {isTTY} */
  stderrIsTTY?: boolean;
}

// Synchronous writes: while a profiled script runs, the process may end at any moment (exit(),
// an uncaught error: Bun then ends without flushing what is left in a pipe's buffer); and
// building Node's process.stdout costs start-up time (≈17 ms of `bun cli.ts --help`; under Deno
// it would also load its Node compatibility layer).
const write = writeFdSync;

const defaultIO: CliIO = {
  stdout: (t) => write(1, t),
  stderr: (t) => write(2, t),
  get isTTY() {
    // Deno's own check is free; touching process.stdout costs 5-15 ms (it builds the stream).
    return stdoutIsTerminal();
  },
  get stderrIsTTY() {
    return stderrIsTerminal();
  },
};

const isBun = "Bun" in globalThis;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Runs the CLI.
 *
 * @param args Arguments after the program name.
 * @param io Output streams.
 * @returns The exit code.
 *
 * @example Profile a script line by line, then read the saved profile
 * ```ts
 * import { main } from "./cli.ts";
 * import { mkdtemp, rm, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const dir = await mkdtemp(join(tmpdir(), "rayprof-"));
 * const script = join(dir, "squares.ts");
 * await writeFile(script, [
 *   "// @profile",
 *   "function squares(n: number) {",
 *   "  let s = 0;",
 *   "  for (let i = 0; i < n; i++) s += i * i;",
 *   "  return s;",
 *   "}",
 *   "console.log(squares(1000));",
 * ].join("\n"));
 * const out: string[] = [];
 * const err: string[] = [];
 * const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), isTTY: false };
 * const saved = join(dir, "squares.lprof.json");
 *
 * // `rayprof profile -o FILE SCRIPT`: the script's output, the report on stderr, FILE saved.
 * assert.equal(await main(["profile", "-q", "-o", saved, script], io), 0);
 * // `rayprof show FILE`: the kernprof report of the saved results.
 * assert.equal(await main(["show", saved], io), 0);
 * const report = out.join("");
 * assert.match(report, /Line #\s+Hits\s+Time\s+Per Hit\s+% Time\s+Line Contents/);
 * assert.match(report, /^\s+4\s+1001\s.*for \(let i = 0/m); // the loop line ran 1001 times
 * await rm(dir, { recursive: true });
 * ```
 */
export async function main(args: string[], io: CliIO = defaultIO): Promise<number> {
  try {
    const [command, ...rest] = args;
    if (command === undefined) {
      io.stderr(named(HELP));
      return 2;
    }
    if (command === "-h" || command === "--help" || command === "help") {
      io.stdout(named(HELP));
      return 0;
    }
    if (command === "profile") return await profileCommand(rest, io);
    if (command === "show") return await showCommand(rest, io);
    if (command === "repl") {
      return await (await importLazily<typeof import("./repl.ts")>("./repl.ts", import.meta.url))
        .main(rest);
    }
    if (command === "node" || command === "status") return await clusterCommand(command, rest, io);
    throw new UsageError(
      `Unknown command '${command}': expected 'profile', 'show', 'repl', 'node' or 'status'`,
    );
  } catch (error) {
    return reportError(error, io);
  }
}

/** `cli.ts node` and `cli.ts status`: the cluster (loaded only for these commands). */
async function clusterCommand(command: string, args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      address: { type: "string" },
      "num-cpus": { type: "string" },
      name: { type: "string" },
      "cache-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  const address = (values.address as string | undefined) ??
    (typeof Deno !== "undefined" ? Deno.env.get("RAYPROF_ADDRESS") : undefined) ??
    (globalThis as { process?: { env: Record<string, string> } }).process?.env.RAYPROF_ADDRESS;
  if (!address) throw new UsageError(`'${command}' needs --address redis://HOST:PORT`);
  const cluster = await importLazily<typeof import("./cluster/mod.ts")>(
    "./cluster/mod.ts",
    import.meta.url,
  );
  if (command === "status") {
    io.stdout(`${cluster.formatStatus(await cluster.clusterStatus(address))}\n`);
    return 0;
  }
  let numCpus: number | undefined;
  if (values["num-cpus"] !== undefined) {
    numCpus = Number(values["num-cpus"]);
    if (!Number.isInteger(numCpus) || numCpus < 1) {
      throw new UsageError(
        `Cannot start a node as --num-cpus must be a positive integer: received ${
          values["num-cpus"]
        }`,
      );
    }
  }
  return await cluster.runNode({
    address,
    numCpus,
    name: values.name as string | undefined,
    cacheDir: values["cache-dir"] as string | undefined,
    log: (line) => io.stderr(`${line}\n`),
  });
}

/** The options of `cli.ts profile` (also what tells where the script's own arguments begin). */
export const PROFILE_OPTIONS = {
  all: { type: "boolean" },
  func: { type: "string", multiple: true },
  module: { type: "string", multiple: true },
  sample: { type: "boolean" },
  "no-cache": { type: "boolean" },
  unit: { type: "string", short: "u" },
  "skip-zero": { type: "boolean", short: "z" },
  summarize: { type: "boolean" },
  output: { type: "string", short: "o" },
  overwrite: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
  timeline: { type: "string" },
  gantt: { type: "boolean" },
  html: { type: "string" },
  // The function profiler (profile/run/func_reports.ts).
  functions: { type: "boolean" },
  sort: { type: "string", multiple: true },
  "per-worker": { type: "boolean" },
  speedscope: { type: "string" },
  // How the runtime runs the script.
  config: { type: "string", short: "c" },
  "import-map": { type: "string" },
  test: { type: "boolean" },
} as const;

async function profileCommand(args: string[], io: CliIO): Promise<number> {
  const split = splitAtScript(args, PROFILE_OPTIONS);
  const { values } = parseCommandArgs(split.options, PROFILE_OPTIONS, "profile");
  if (values.help) {
    io.stdout(named(PROFILE_HELP));
    return 0;
  }
  if (split.script === undefined) throw new UsageError("Missing SCRIPT: 'cli.ts profile SCRIPT'");
  const unit = parseUnit(values.unit);
  // Asked only when something is printed: the TTY check costs start-up time under Bun.
  const color = () => (io.stderrIsTTY ?? io.isTTY) && !env("NO_COLOR");
  const output = resolve(values.output ?? `${basename(resolve(split.script))}.lprof.json`);
  // The profiler (and its parser) is loaded only for this command; what only some runs need
  // (the report, the function profiler's tables) only when they need it. The report is loaded
  // before the run as an early exit prints it synchronously.
  const { profileScript } = await importLazily<typeof import("./profile/run/session.ts")>(
    "./profile/run/session.ts",
    import.meta.url,
  );
  // What only follows the run is loaded while the child runs (the parent waits for it anyway).
  let later:
    | Promise<
      [
        typeof import("./profile/line/stats.ts"),
        typeof import("./profile/line/report.ts") | undefined,
      ]
    >
    | undefined;
  const loadLater = () =>
    later ??= Promise.all([
      importLazily<typeof import("./profile/line/stats.ts")>(
        "./profile/line/stats.ts",
        import.meta.url,
      ),
      values.quiet ? undefined : importLazily<typeof import("./profile/line/report.ts")>(
        "./profile/line/report.ts",
        import.meta.url,
      ),
    ]);
  const select = {
    ...(values.all && !values.module ? { all: true } : {}),
    ...(values.func ? { names: values.func } : {}),
  };
  const selectIn = values.module ? values.module.map((m) => resolve(m)) : undefined;
  const merge = !values.overwrite;
  const functions = values.functions || values.sort !== undefined || values["per-worker"] ||
    values.speedscope !== undefined;
  const sort = values.sort?.flatMap((s) => s.split(",")) ?? ["cumulative"];
  const funcProfile = functions
    ? await importLazily<typeof import("./profile/run/func_reports.ts")>(
      "./profile/run/func_reports.ts",
      import.meta.url,
    )
    : undefined;
  if (functions) {
    const { resolveSortKey } = await importLazily<typeof import("./profile/func/stats.ts")>(
      "./profile/func/stats.ts",
      import.meta.url,
    );
    try {
      sort.forEach(resolveSortKey);
    } catch (error) {
      throw new UsageError(`Invalid --sort: ${(error as Error).message}`);
    }
  }
  const functionOptions = {
    sort,
    perWorker: values["per-worker"],
    cwd: cwd(),
    speedscope: values.speedscope,
    name: basename(split.script),
  };
  const runtimeArgs = [
    ...(values.config !== undefined ? ["--config", resolve(values.config)] : []),
    ...(values["import-map"] !== undefined ? ["--import-map", resolve(values["import-map"])] : []),
  ];
  if (runtimeArgs.length > 0 && isBun) {
    throw new UsageError(
      "Cannot use --config or --import-map under Bun: Bun reads tsconfig.json, package.json and bunfig.toml by itself",
    );
  }
  const result = await profileScript(split.script, {
    args: values.test ? [] : split.rest,
    select: values.module ? { ...select, all: true } : select,
    selectIn,
    sample: values.sample,
    cache: !values["no-cache"],
    runtimeArgs,
    ...(values.test ? { test: [split.script, ...split.rest] } : {}),
    ...(functions ? { functions: { events: values.speedscope !== undefined } } : {}),
    onStarted: loadLater,
  });
  const [{ saveLineStatsSync }, reportModule] = await loadLater();
  const showText = reportModule?.showText;
  const report = (stats: import("./profile/line/stats.ts").LineStats) =>
    showText!(stats, {
      unit,
      skipZero: values["skip-zero"],
      summarize: values.summarize,
      color: color(),
      cwd: cwd(),
    });
  // Everything the profiler prints goes to stderr: the script's stdout stays its own, byte for
  // byte, so a profiled program can still be piped.
  const out = io.stderr;
  for (const w of result.warnings) out(`warning: ${w}\n`);
  if (result.ended === undefined) {
    out(
      `warning: the profiled process ended without handing over its figures (exit code ${result.code})\n`,
    );
  } else if (
    result.ended !== "drained" && result.recording && result.recording.workers.length > 0
  ) {
    out("note: the process ended early, so the workers' figures are not in the report\n");
  }
  const code = result.code;
  // With --functions and nothing chosen for the line profiler, there is no line report.
  if (!functions || result.stats.functions.length > 0) {
    saveLineStatsSync(output, result.stats, { merge });
    if (!values.quiet) out("\n" + report(result.stats));
    out(`Wrote profile results to ${output}\n`);
  }
  const functionProfile = result.functions && funcProfile
    ? funcProfile.afterFunctionProfile(result.functions, functionOptions)
    : undefined;
  const rec = result.recording;
  const hasTasks = rec !== undefined && (rec.tasks.length > 0 || rec.spans.length > 0);
  // The reports (diagnostics, Gantt, trace, HTML) have nothing to do for a quiet run without
  // tasks and files to write, so their modules are not loaded then.
  if (values.timeline || values.gantt || values.html || (hasTasks && !values.quiet)) {
    const { afterProfiledRun } = await importLazily<typeof import("./profile/run/task_reports.ts")>(
      "./profile/run/task_reports.ts",
      import.meta.url,
    );
    const tasks = await afterProfiledRun(rec, {
      timeline: values.timeline,
      gantt: values.gantt,
      html: values.html,
      diagnostics: !values.quiet,
      color: color(),
      width: (io.stderrIsTTY ?? io.isTTY) ? stdoutColumns() ?? 80 : 100,
      cwd: cwd(),
      title: basename(split.script),
      lineStats: result.stats,
      ...(functionProfile && funcProfile
        ? { functions: funcProfile.toFunctionProfileRows(functionProfile.stats) }
        : {}),
      generated: new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC",
    });
    if (tasks.text) out("\n" + tasks.text);
  }
  // The function profiler's table comes last, as cProfile prints it after the run.
  if (functionProfile) out("\n" + functionProfile.text);
  return code;
}

/** The options of `cli.ts show`. */
export const SHOW_OPTIONS = {
  unit: { type: "string", short: "u" },
  "skip-zero": { type: "boolean", short: "z" },
  summarize: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

async function showCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, SHOW_OPTIONS, "show", true);
  if (values.help) {
    io.stdout(named(SHOW_HELP));
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("Missing FILE: 'cli.ts show FILE...'");
  const unit = parseUnit(values.unit);
  const { loadLineStats, mergeLineStats } = await importLazily<
    typeof import("./profile/line/stats.ts")
  >("./profile/line/stats.ts", import.meta.url);
  const { showText } = await importLazily<typeof import("./profile/line/report.ts")>(
    "./profile/line/report.ts",
    import.meta.url,
  );
  const all = [];
  for (const file of positionals) {
    try {
      all.push(await loadLineStats(file));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ENOENT") throw new UsageError(`Cannot show '${file}' as it does not exist`);
      if (code === "EISDIR") throw new UsageError(`Cannot show '${file}' as it is a directory`);
      throw error;
    }
  }
  io.stdout(showText(mergeLineStats(...all), {
    unit,
    skipZero: values["skip-zero"],
    summarize: values.summarize,
    color: io.isTTY && !env("NO_COLOR"),
    cwd: cwd(),
  }));
  return 0;
}

type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean }
>;

function splitAtScript(args: string[], spec: OptionSpec) {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(spec)) {
    if (o.type === "string") {
      takesValue.add(`--${name}`);
      if (o.short) takesValue.add(`-${o.short}`);
    }
  }
  let i = 0;
  while (i < args.length) {
    const a = args[i];
    if (a === "--") {
      return { options: args.slice(0, i), script: args[i + 1], rest: args.slice(i + 2) };
    }
    if (!a.startsWith("-") || a === "-") break;
    i += takesValue.has(a) ? 2 : 1;
  }
  return { options: args.slice(0, i), script: args[i], rest: args.slice(i + 1) };
}

function parseCommandArgs<T extends OptionSpec>(
  args: string[],
  options: T,
  command: string,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message.replace(/\.$/, "")} (see 'cli.ts ${command} --help')`,
    );
  }
}

function parseUnit(text: string | undefined): number {
  if (text === undefined) return 1e-6;
  const unit = Number(text);
  if (!(unit > 0) || !Number.isFinite(unit)) {
    throw new UsageError(`Invalid --unit '${text}': expected a positive number of seconds`);
  }
  return unit;
}

function reportError(error: unknown, io: CliIO): number {
  const e = error as Error & { codeFrame?: string; file?: string; line?: number; column?: number };
  switch (e?.name) {
    case "UsageError":
    case "ScriptError":
    case "LineStatsFormatError":
      io.stderr(`error: ${e.name === "UsageError" ? named(e.message) : e.message}\n`);
      return 2;
    case "InstrumentError":
    case "InstrumentSyntaxError":
    case "MarkerError":
      // Line 0: the error is about the whole file (it could not be read or instrumented at all).
      io.stderr(
        e.line
          ? `error: ${e.message}\n  --> ${e.file}:${e.line}:${e.column}\n${e.codeFrame}\n`
          : `error: ${e.message}\n`,
      );
      return 2;
  }
  io.stderr(`error: ${e?.stack ?? String(error)}\n`);
  return 1;
}

if (import.meta.main) {
  // Not a top-level await: the run waits for the event loop to drain ('beforeExit'), which Deno
  // would take for a top-level await that never resolves.
  main(processArgs()).then(setExitCode);
}
