/**
 * The REPL's engine, without any terminal: evaluates inputs in the global scope, keeps the
 * session's declarations, times each input against the task recording, and runs the dot-commands.
 * It returns text for the front end to print; it prints nothing itself (user code may).
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import process from "node:process";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { inspect } from "node:util";
import vm from "node:vm";
import * as api from "../../mod.ts";
import { hooks } from "../../runtime/hooks.ts";
import type { Recording, TaskRecord } from "../../runtime/recorder.ts";
import { toChromeTrace, toTraceFile } from "../../runtime/chrome_trace.ts";
import type { ObjectRef } from "../../runtime/object_ref.ts";
import {
  compileInput,
  type DefinedFunction,
  HELPER,
  InputSyntaxError,
  isComplete as isCompleteInput,
  type LineMap,
} from "./transform.ts";
import { installTracking, type Tracker } from "./_tracking.ts";
import { firstFinding as diagnoseFinding } from "./_hint.ts";

/** Options for {@linkcode Session}. */
export interface SessionOptions {
  /**
   * Directory that relative imports and `.load`/`.save` paths resolve against.
   * @default {process.cwd()}
   */
  cwd?: string;
  /**
   * ANSI colours in values and reports.
   * @default {false}
   */
  color?: boolean;
  /**
   * Terminal width for the Gantt chart and the profile table.
   * @default {80}
   */
  columns?: number;
  /**
   * Print the timing line after each input.
   * @default {true}
   */
  timing?: boolean;
  /**
   * Receives warnings about an input as soon as it is compiled, before it runs (otherwise they
   * come with the result).
   */
  onWarning?: (text: string) => void;
}

/** What one input produced, as text to print. */
export interface InputResult {
  /** The inspected value, or the error report; empty for commands with no output. */
  output: string;
  /** True if the input threw (or was interrupted). */
  failed: boolean;
  /** Warnings to show before the value (e.g. a remote function that cannot be shipped). */
  warnings: string[];
  /** The timing line, when timing is on and code ran. */
  timing?: string;
  /** A one-line anti-pattern hint, when one shows. */
  hint?: string;
  /** The session asked to end (`.exit`). */
  exit?: boolean;
}

/** Figures of one evaluated input. */
export interface InputTiming {
  /** Input number (1-based). */
  input: number;
  /** Wall time in ms on the `performance.now()` clock. */
  start: number;
  end: number;
  /** Tasks submitted during the input. */
  tasks: TaskRecord[];
  /** Distinct workers that ran them. */
  workers: number;
  /** On a cluster: the nodes whose workers ran them, by name. */
  nodes?: string[];
  /** Sum of the tasks' run time inside the input's window over its wall time. */
  parallelism: number;
  /**
   * Longest time, within the input's window, that a worker still starting at its beginning took to
   * run its first task (or to be ready, if it got none), in ms: the runtime starts on first use, so
   * the first input that runs tasks waits for its workers, and its parallelism is low for that.
   */
  starting: number;
}

const SOURCE_PREFIX = "$deno$repl-";
/** The entry points that start the REPL: their frames are not the user's. */
const ENTRY_FILES = ["../../repl.ts", "../../cli.ts"].map((p) => {
  const url = new URL(p, import.meta.url);
  return [url.href + ":", url.pathname + ":"];
}).flat();
const TRACKING_KEY = Symbol.for("rayprof.repl.tracker");

/** Names of the API that are made globals (and members of `ray`). */
const API_NAMES: readonly string[] = Object.keys(api).filter((k) => k !== "default");

/** Globals that workers have too (preloaded by worker_globals.ts). */
const WORKER_GLOBALS: ReadonlySet<string> = new Set([...API_NAMES, "ray"]);

/** Commands with a one-line description, for `.help` and completion. */
const COMMANDS: Readonly<Record<string, string>> = {
  ".timing": "on|off     Print (or not) the timing line after each input",
  ".timeline":
    "[FILE]   Gantt chart of the last input that ran tasks, or write them as a Chrome trace",
  ".profile": "EXPR      Run EXPR with the line profiler over the session's functions",
  ".load": "FILE         Evaluate a file in this session",
  ".save": "FILE         Save this session's inputs to a file",
  ".help": "            Show this help",
  ".exit": "            Leave the REPL (also Ctrl-D, or Ctrl-C twice on an empty line)",
};

/** A REPL session: one per process, as it owns globals. */
export class Session {
  #cwd: string;
  /** Directory relative imports resolve against: the cwd, or a `.load`ed file's directory. */
  #base: string;
  #color: boolean;
  #columns: number;
  #timing: boolean;
  #onWarning: ((text: string) => void) | undefined;
  #n = 0;
  #names = new Set<string>(["_", "_error"]);
  #maps = new Map<number, LineMap>();
  #lastLines = new Map<number, number>();
  #history: string[] = [];
  #functions = new Map<string, DefinedFunction & { input: number }>();
  #imports = new Map<string, { url: string; imported: string }>();
  #last: InputTiming | undefined;
  #lastWithTasks: InputTiming | undefined;
  #tracker: Tracker;
  #interrupt: ((reason: unknown) => void) | null = null;
  #snapshot: Recording | undefined;

  /** Creates the session and installs the API as globals (also inside future workers). */
  constructor(options: SessionOptions = {}) {
    this.#cwd = options.cwd ?? process.cwd();
    this.#base = this.#cwd;
    this.#color = options.color ?? false;
    this.#columns = options.columns ?? 80;
    this.#timing = options.timing ?? true;
    this.#onWarning = options.onWarning;
    const g = globalThis as Record<string | symbol, unknown>;
    this.#tracker = installTracking(api);
    g[TRACKING_KEY] = this.#tracker;
    for (const k of API_NAMES) g[k] = this.#tracker.ray[k];
    g.ray = this.#tracker.ray;
    const cwdUrl = pathToFileURL(this.#cwd + "/").href;
    g[HELPER] = {
      import: (spec: unknown, opts?: unknown) => this.#import(spec, opts),
      importMeta: {
        url: new URL("$deno$repl.ts", cwdUrl).href,
        main: true,
        resolve: (s: string) => this.#resolve(s),
      },
    };
    const h = hooks();
    h.captureCallsites = true;
    const preload = new URL("./worker_globals.ts", import.meta.url).href;
    if (!h.workerPreload.includes(preload)) h.workerPreload.push(preload);
  }

  /** Number of inputs evaluated so far. */
  get inputs(): number {
    return this.#n;
  }

  /** Whether the timing line is printed. */
  get timing(): boolean {
    return this.#timing;
  }

  /** Names the session declared (plus `_` and `_error`). */
  get names(): ReadonlySet<string> {
    return this.#names;
  }

  /** Figures of the last evaluated input. */
  get lastTiming(): InputTiming | undefined {
    return this.#last;
  }

  /** Interrupts the running evaluation, cancelling the tasks it submitted. */
  interrupt(): boolean {
    const f = this.#interrupt;
    if (!f) return false;
    f(new Interrupted());
    return true;
  }

  /** True while an input is being evaluated. */
  get busy(): boolean {
    return this.#interrupt !== null;
  }

  /**
   * Evaluates one complete input (code or a dot-command).
   *
   * @param input The text typed.
   * @returns What to print.
   */
  async run(input: string): Promise<InputResult> {
    const trimmed = input.trim();
    if (trimmed === "") return { output: "", failed: false, warnings: [] };
    const cmd = /^\.([a-z]+)(?:\s+([\s\S]*))?$/.exec(trimmed);
    if (cmd && `.${cmd[1]}` in COMMANDS) return await this.#command(cmd[1], cmd[2]?.trim() ?? "");
    if (cmd && !/^\.\d/.test(trimmed)) {
      return {
        output: `Unknown command '.${cmd[1]}': type .help for the list`,
        failed: true,
        warnings: [],
      };
    }
    return await this.#evaluate(input);
  }

  /** Whether `source` needs more lines to be complete. */
  static needsMore(source: string): boolean {
    const t = source.trim();
    if (t === "" || /^\.[a-z]+(\s|$)/.test(t)) return false;
    return !isCompleteInput(source);
  }

  async #evaluate(source: string, profiling?: () => void): Promise<InputResult> {
    const warnings: string[] = [];
    let compiled;
    try {
      compiled = compileInput(source, { sessionNames: this.#names, workerGlobals: WORKER_GLOBALS });
    } catch (e) {
      if (e instanceof InputSyntaxError) {
        this.#set("_error", e);
        return { output: this.#syntaxError(e), failed: true, warnings };
      }
      throw e;
    }
    if (compiled.empty) return { output: "", failed: false, warnings };
    const n = ++this.#n;
    for (const p of compiled.shipping) {
      (this.#onWarning ?? ((w: string) => warnings.push(w)))(
        `Remote function '${p.name}' (line ${p.line}) uses ${
          p.uses.map((u) => `'${u}'`).join(", ")
        } from this session, which its workers cannot see: a remote function defined here is sent to workers as source text, so it can only use its parameters, globals and the rayprof API (pass ${
          p.uses.length > 1 ? "them" : "it"
        } as ${
          p.uses.length > 1 ? "arguments" : "an argument"
        }, or define it in a module file and import it)`,
      );
    }
    this.#maps.set(n, compiled.lines);
    if (compiled.wrapped) this.#lastLines.set(n, compiled.code.trimEnd().split("\n").length);
    const g = globalThis as Record<string, unknown>;
    for (const name of compiled.declared) {
      this.#names.add(name);
      if (!(name in g)) g[name] = undefined;
    }
    profiling?.();
    const refs: ObjectRef<unknown>[] = [];
    this.#tracker.current = refs;
    const filename = pathToFileURL(this.#cwd + "/").href + SOURCE_PREFIX + n + ".ts";
    const before = idProbe();
    const start = performance.now();
    let value: unknown;
    let error: unknown;
    let failed = false;
    try {
      const promise = Promise.resolve(
        vm.runInThisContext(compiled.code, { filename }) as unknown[] | Promise<unknown[]>,
      );
      const interrupted = new Promise<never>((_, reject) => (this.#interrupt = reject));
      promise.catch(() => {}); // reported below, or dropped after an interrupt
      value = (await Promise.race([promise, interrupted]))?.[0];
    } catch (e) {
      error = e;
      failed = true;
    } finally {
      this.#interrupt = null;
      this.#tracker.current = null;
    }
    const end = performance.now();
    this.#history.push(source);
    for (const f of compiled.functions) this.#functions.set(f.name, { ...f, input: n });
    for (const b of compiled.imports) {
      this.#functions.delete(b.local);
      this.#imports.set(b.local, { url: this.#resolve(b.specifier), imported: b.imported });
    }
    for (const f of compiled.functions) this.#imports.delete(f.name);

    let cancelled = 0;
    if (error instanceof Interrupted) cancelled = this.#cancel(refs);
    const timing = this.#measure(n, start, end, before);
    const result: InputResult = { output: "", failed, warnings };
    if (error instanceof Interrupted) {
      const others = timing.tasks.filter((t) =>
        (t.status === "pending" || t.status === "running") &&
        !refs.some((r) =>
          r.id === t.id
        )
      ).length;
      result.output = `Interrupted` +
        (cancelled > 0 ? `: cancelled ${cancelled} task${cancelled === 1 ? "" : "s"}` : "") +
        (others > 0
          ? ` (${others} task${others === 1 ? "" : "s"} submitted by imported modules still run)`
          : "");
    } else if (failed) {
      this.#set("_error", error);
      result.output = "Uncaught " + this.formatError(error);
    } else {
      this.#set("_", value);
      result.output = this.inspect(value);
    }
    if (this.#timing) {
      result.timing = formatTimingLine(timing);
      const hint = this.#hint(timing);
      if (hint) result.hint = hint;
    }
    this.#snapshot = undefined;
    return result;
  }

  #set(name: "_" | "_error", v: unknown): void {
    (globalThis as Record<string, unknown>)[name] = v;
  }

  #cancel(refs: ObjectRef<unknown>[], again = true): number {
    let n = 0;
    const rec = api.recording();
    const byId = new Map(rec.tasks.map((t) => [t.id, t]));
    const left: ObjectRef<unknown>[] = [];
    for (const r of refs) {
      const t = byId.get(r.id);
      if (!t || (t.status !== "pending" && t.status !== "running")) continue;
      try {
        api.cancel(r, { force: true });
        left.push(r);
        n++;
      } catch {
        // an actor call, or a runtime that was shut down meanwhile
      }
    }
    // A task that a worker took at the very moment of the cancel is seen as not started, so only
    // asked to be dropped, and runs anyway: cancel what still runs once more, as started now.
    if (again && left.length > 0) {
      for (const ms of [200, 1000]) {
        const t = setTimeout(() => {
          if (api.isInitialized()) this.#cancel(left, false);
        }, ms);
        (t as { unref?: () => void }).unref?.();
      }
    }
    return n;
  }

  #measure(input: number, start: number, end: number, before: number): InputTiming {
    // A snapshot copies every record: skip it when the input made no object at all.
    const after = idProbe();
    const ran = before !== after - 1 || (before < 0 && after >= 0) || (before >= 0 && after < 0);
    const rec = ran ? recordingSince(start) : undefined;
    const tasks = rec ? rec.tasks.filter((t) => t.submitted >= start && t.submitted <= end) : [];
    this.#snapshot = rec;
    const workers = new Set<number>();
    let busy = 0;
    for (const t of tasks) {
      if (t.worker >= 0) workers.add(t.worker);
      // A task still running (or cancelled while running) has no start yet: it left when sent.
      const began = Number.isFinite(t.started) ? t.started : t.dispatched;
      if (Number.isFinite(began)) {
        const s = Math.max(start, began);
        const e = Math.min(end, Number.isFinite(t.finished) ? t.finished : end);
        if (e > s) busy += e - s;
      }
    }
    // Workers still starting when the input began: until their first task of the input started
    // (a new worker also loads the task's module), or until ready if they got none.
    let starting = 0;
    if (tasks.length > 0) {
      const firstStart = new Map<number, number>();
      for (const t of tasks) {
        if (t.worker >= 0 && Number.isFinite(t.started)) {
          firstStart.set(t.worker, Math.min(firstStart.get(t.worker) ?? Infinity, t.started));
        }
      }
      for (const w of rec!.workers) {
        const ready = w.ready ?? NaN;
        if (ready < start || (Number.isFinite(w.ended) && w.ended < start)) continue;
        const from = Math.max(start, w.started);
        const to = Math.min(
          end,
          firstStart.get(w.id) ?? (Number.isFinite(ready) ? ready : end),
          Number.isFinite(w.ended) ? w.ended : end,
        );
        if (to - from > starting) starting = to - from;
      }
    }
    const nodeOf = new Map<number, string>();
    for (const w of rec?.workers ?? []) if (w.node !== undefined) nodeOf.set(w.id, w.node);
    const nodes = [
      ...new Set([...workers].map((w) => nodeOf.get(w)).filter((n) => n !== undefined)),
    ]
      .sort() as string[];
    const timing: InputTiming = {
      input,
      start,
      end,
      tasks,
      workers: workers.size,
      ...(nodes.length > 0 ? { nodes } : {}),
      parallelism: end > start ? busy / (end - start) : 0,
      starting,
    };
    this.#last = timing;
    if (tasks.length > 0) this.#lastWithTasks = timing;
    return timing;
  }

  /** The recording restricted to one input's window. */
  #inputRecording(t: InputTiming): Recording {
    const rec = this.#snapshot ?? api.recording();
    const ids = new Set(t.tasks.map((x) => x.id));
    return {
      ...rec,
      tasks: rec.tasks.filter((x) => ids.has(x.id)),
      spans: rec.spans.filter((s) => s.start >= t.start && s.start <= t.end),
    };
  }

  #hint(t: InputTiming): string | undefined {
    if (t.tasks.length < 2) return undefined;
    // Loaded on first use: most inputs run no tasks.
    const finding = diagnoseFinding?.(this.#inputRecording(t));
    if (!finding) return undefined;
    return this.relabel(finding);
  }

  /** Replaces the session's internal file names by "input N, line L" labels. */
  relabel(text: string): string {
    return text.replace(
      /(?:file:\/\/[^\s)]*\/)?\$deno\$repl-(\d+)\.ts(?!:\d)/g,
      (_m, n: string) => `input ${n}`,
    ).replace(
      /(?:file:\/\/[^\s)]*\/)?\$deno\$repl-(\d+)\.ts:(\d+)(?::(\d+))?/g,
      (_m, n: string, line: string) => {
        const map = this.#maps.get(Number(n));
        return `input ${n} line ${map ? map.original(Number(line)) : line}`;
      },
    );
  }

  /** Formats an error like Deno's REPL: its stack, with the REPL's own frames removed. */
  formatError(e: unknown): string {
    if (!(e instanceof Error)) return this.inspect(e);
    let text = typeof e.stack === "string" && e.stack.includes(e.message)
      ? e.stack
      : inspect(e, { colors: false, depth: 2 });
    if (!text.startsWith(e.name) && text.includes(`${e.name}: `)) {
      text = text.slice(text.indexOf(`${e.name}: `));
    }
    if (e.cause !== undefined && !(e.cause instanceof Error && text.includes(e.cause.message))) {
      text += `\nCaused by: ${e.cause instanceof Error ? e.cause.stack : this.inspect(e.cause)}`;
    }
    const frame = /^\s+at /;
    const inputFrame = /\$deno\$repl-(\d+)\.ts:(\d+):/;
    const lines = text.split("\n");
    // Frames below the last input frame are the REPL's own machinery.
    let last = -1;
    lines.forEach((l, i) => {
      if (frame.test(l) && inputFrame.test(l)) last = i;
    });
    const kept = lines.filter((l, i) => {
      if (!frame.test(l)) return true;
      if (last >= 0 && i > last && !/^\s{5,}/.test(l)) return false;
      const m = inputFrame.exec(l);
      if (m && Number(m[2]) === this.#lastLines.get(Number(m[1]))) return false; // the wrapper call
      return !/(node:vm|\(ext:|at ext:|runInThisContext|\/profile\/repl\/)/.test(l) &&
        !ENTRY_FILES.some((f) => l.includes(f));
    });
    return this.relabel(kept.join("\n"));
  }

  /** Inspects a value as the REPL shows it. */
  inspect(v: unknown): string {
    return inspect(v, { colors: this.#color, depth: 4 });
  }

  #syntaxError(e: InputSyntaxError): string {
    return `Uncaught SyntaxError: ${e.message}` +
      (e.codeFrame ? "\n" + e.codeFrame.replace(/^\n/, "").replace(/input\.ts/g, "input") : "");
  }

  #resolve(spec: string): string {
    if (/^\.{1,2}\//.test(spec) || spec.startsWith("/")) {
      return pathToFileURL(resolve(this.#base, spec)).href;
    }
    return spec;
  }

  async #import(spec: unknown, opts?: unknown): Promise<unknown> {
    const url = this.#resolve(String(spec));
    // Must stay dynamic: the REPL's `import()` of what the user typed.
    return opts === undefined ? await import(url) : await import(url, opts as ImportCallOptions);
  }

  // ---- commands ----------------------------------------------------------------------------

  async #command(name: string, arg: string): Promise<InputResult> {
    const ok = (output: string): InputResult => ({ output, failed: false, warnings: [] });
    const fail = (output: string): InputResult => ({ output, failed: true, warnings: [] });
    switch (name) {
      case "exit":
        return { ...ok(""), exit: true };
      case "help":
        return ok(
          "Commands:\n" +
            Object.entries(COMMANDS).map(([k, v]) => `  ${k} ${v}`).join("\n") +
            "\n\nThe rayprof API is loaded as globals and as ray.* (remote, get, wait, put, cancel," +
            "\ninit, shutdown, timeline, timeThis, sleepSync, ...). `_` holds the last value, `_error`" +
            "\nthe last error. Ctrl-C interrupts an evaluation and cancels the tasks it submitted.",
        );
      case "timing":
        if (arg === "on" || arg === "off") {
          this.#timing = arg === "on";
          return ok(`Timing is ${arg}`);
        }
        if (arg === "") return ok(`Timing is ${this.#timing ? "on" : "off"}`);
        return fail(`Cannot set timing as the argument must be 'on' or 'off': received '${arg}'`);
      case "timeline":
        return await this.#timeline(arg);
      case "load": {
        if (!arg) return fail("Cannot load as no file was given: .load FILE");
        let text: string;
        const path = resolve(this.#cwd, arg);
        try {
          text = await readFile(path, "utf8");
        } catch (e) {
          return fail(`Cannot load ${arg}: ${(e as Error).message}`);
        }
        // The file's own imports are relative to it, as when it runs as a script.
        this.#base = dirname(path);
        try {
          return await this.#evaluate(text);
        } finally {
          this.#base = this.#cwd;
        }
      }
      case "save": {
        if (!arg) return fail("Cannot save as no file was given: .save FILE");
        const path = resolve(this.#cwd, arg);
        try {
          await writeFile(path, this.#history.join("\n") + (this.#history.length ? "\n" : ""));
        } catch (e) {
          return fail(`Cannot save to ${arg}: ${(e as Error).message}`);
        }
        return ok(`Saved ${this.#history.length} inputs to ${arg}`);
      }
      case "profile":
        if (!arg) return fail("Cannot profile as no expression was given: .profile EXPR");
        return await this.#profile(arg);
    }
    return fail(`Unknown command '.${name}'`);
  }

  async #timeline(arg: string): Promise<InputResult> {
    const t = this.#lastWithTasks;
    if (!t) {
      return { output: "No tasks were run in this session yet", failed: false, warnings: [] };
    }
    const rec = this.#inputRecording(t);
    const which = t.input === this.#last?.input
      ? ""
      : ` (input ${t.input}, the last that ran tasks)`;
    if (arg) {
      const path = resolve(this.#cwd, arg);
      try {
        await writeFile(path, JSON.stringify(toTraceFile(rec, toChromeTrace(rec))));
      } catch (e) {
        return {
          output: `Cannot write ${arg}: ${(e as Error).message}`,
          failed: true,
          warnings: [],
        };
      }
      return {
        output:
          `Wrote ${rec.tasks.length} tasks${which} to ${arg}: open it in https://ui.perfetto.dev or Chrome DevTools (Performance, Load profile)`,
        failed: false,
        warnings: [],
      };
    }
    let gantt: typeof import("../views/gantt.ts").gantt;
    try {
      gantt = (await import("../views/gantt.ts")).gantt;
    } catch (e) {
      return {
        output: `Cannot draw the timeline as the Gantt module did not load: ${
          (e as Error).message
        }`,
        failed: true,
        warnings: [],
      };
    }
    const header = which ? `Tasks of input ${t.input}, the last that ran tasks:\n` : "";
    return {
      output: header + this.relabel(
        gantt(rec, { width: Math.max(30, Math.min(this.#columns, 160)), color: this.#color })
          .trimEnd(),
      ),
      failed: false,
      warnings: [],
    };
  }

  async #profile(expr: string): Promise<InputResult> {
    let lib: typeof import("./_profile.ts");
    try {
      lib = await import("./_profile.ts");
    } catch (e) {
      return {
        output: `Cannot profile as the line profiler did not load: ${(e as Error).message}`,
        failed: true,
        warnings: [],
      };
    }
    const run = await lib.prepareProfile(
      [...this.#functions.values()],
      this.#cwd,
      [...this.#imports].map(([local, b]) => ({ local, ...b })),
    );
    // Awaited, so an async function's whole run is profiled (the document's loops are async here).
    const r = await this.#evaluate(`await (${expr})`, () => run.swapIn());
    run.swapOut();
    const report = await run.report(this.#columns);
    r.output = [r.output, ...run.warnings.map((w) => `warning: ${w}`), this.relabel(report)]
      .filter((s) => s !== "").join("\n");
    return r;
  }
}

/**
 * The recording from `since` on. Passes `{ since }` so that a runtime whose `recording()` can
 * skip older records does; this one copies them all, and the caller filters.
 */
function recordingSince(since: number): Recording {
  return (api.recording as (options?: { since: number }) => Recording)({ since });
}

/**
 * The next object id of the running runtime, or -1 when it is not running. Tasks and `put` values
 * take ids from one counter, so two probes one apart mean nothing was submitted in between.
 */
function idProbe(): number {
  return api.isInitialized() ? api.put(0).id : -1;
}

class Interrupted extends Error {
  constructor() {
    super("Interrupted");
    this.name = "Interrupted";
  }
}

/** Formats the line printed after each input. */
export function formatTimingLine(t: InputTiming): string {
  let s = `took ${((t.end - t.start) / 1000).toFixed(4)} s`;
  if (t.tasks.length > 0) {
    s += ` · ${t.tasks.length} task${t.tasks.length === 1 ? "" : "s"} on ${t.workers} worker${
      t.workers === 1 ? "" : "s"
    }${
      t.nodes
        ? ` of ${t.nodes.length} node${t.nodes.length === 1 ? "" : "s"} (${t.nodes.join(", ")})`
        : ""
    } · parallelism ${t.parallelism.toFixed(1)}x`;
    // Worth a mention only where it explains the figures: 10 ms, or a tenth of the input.
    if (t.starting >= 10 && t.starting >= (t.end - t.start) / 10) {
      s += ` · ${(t.starting / 1000).toFixed(2)} s starting workers`;
    }
  }
  return s;
}
