/**
 * The REPL's front end: reads lines (from a terminal with editing, completion and history, or
 * from a pipe without prompts or colours), hands complete inputs to a {@linkcode Session} and
 * prints what it returns.
 *
 * @module
 */
import process from "node:process";
import readline from "node:readline";
import { complete } from "./completion.ts";
import { appendHistory, HISTORY_ENV, HISTORY_SIZE, historyPath, loadHistory } from "./history.ts";
import type { InputResult, Session } from "./session.ts";

/** Dot-commands, for completion before the session has loaded. */
const COMMAND_NAMES = [".timing", ".timeline", ".profile", ".load", ".save", ".help", ".exit"];

/** Usage text of `repl.ts`. */
const USAGE = `Usage: repl.ts [options]

A TypeScript REPL with the rayprof API loaded (as globals and as ray.*). After each input it
prints the value and how long it took, with the tasks it ran and their parallelism.

Options:
  --num-cpus N   Start the runtime with N slots (default: started on first use, one per CPU)
  --no-timing    Do not print the timing line (toggle with .timing on|off)
  -h, --help     Show this help

Under Deno, 'deno run -q -A repl.ts' keeps Deno's module-loading progress line from clearing the
prompt when runtime workers start.

Environment:
  ${HISTORY_ENV}   History file (default ~/.rayprof_repl_history; empty: no history)
  NO_COLOR       No colours even on a terminal
`;

/** Where the REPL reads and writes; tests pass their own. */
export interface ReplIO {
  /** Where inputs come from: a terminal (`isTTY`, `setRawMode`) for line editing, or a pipe. */
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => void };
  /** Where prompts, results and reports go; `columns` is the terminal's width. */
  output: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Environment variables read: `NO_COLOR` and the history file's. */
  env: Record<string, string | undefined>;
}

/**
 * Runs the REPL until `.exit`, Ctrl-D, two Ctrl-C on an empty line, or the end of piped input.
 *
 * @param args Command-line arguments.
 * @param io Streams and environment.
 * @returns The exit code: 0, or 1 when piped input had an uncaught error, 2 on bad arguments.
 *
 * @example Piped input: each input's result, then its timing and what its tasks did
 * ```ts
 * import { main } from "../../repl.ts";
 * import { PassThrough, Readable } from "node:stream";
 * import assert from "node:assert/strict";
 *
 * const input = Readable.from([
 *   "const sq = ray.remote(function sq(x: number) { return x * x; });\n",
 *   "await ray.get([1, 2, 3].map((x) => sq.remote(x)))\n",
 * ]);
 * const output = new PassThrough();
 * let text = "";
 * output.on("data", (chunk) => text += chunk);
 * const code = await main(["--num-cpus", "2"], { input, output, env: { RAYPROF_REPL_HISTORY: "" } });
 * assert.equal(code, 0);
 * assert.match(text, /\[ 1, 4, 9 \]/);
 * assert.match(text, /3 tasks/); // the timing line after the input that ran them
 * ```
 */
export async function main(args: string[], io?: ReplIO): Promise<number> {
  const { input, output, env } = io ?? {
    input: process.stdin,
    output: process.stdout,
    env: process.env as Record<string, string | undefined>,
  };
  let numCpus: number | undefined;
  let timing = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h" || a === "--help") {
      output.write(USAGE);
      return 0;
    } else if (a === "--no-timing") {
      timing = false;
    } else if (a === "--num-cpus" || a.startsWith("--num-cpus=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      numCpus = Number(v);
      if (!Number.isInteger(numCpus) || numCpus < 1) {
        output.write(
          `Cannot start the REPL as --num-cpus must be a positive integer: received ${v}\n`,
        );
        return 2;
      }
    } else {
      output.write(`Cannot start the REPL as '${a}' is not a known option\n\n${USAGE}`);
      return 2;
    }
  }
  const tty = Boolean(input.isTTY && output.isTTY);
  const color = tty && !env.NO_COLOR; // no-color.org: set and not empty
  // The runtime and the TypeScript tooling load while the prompt is already shown: a person does
  // not type the first input within the ~100 ms they take.
  const loading = (async () => {
    const [{ Session }, api] = await Promise.all([import("./session.ts"), import("../../mod.ts")]);
    const session = new Session({
      color,
      timing,
      columns: output.columns ?? 80,
      onWarning: (w) => output.write(style(color, "33", `warning: ${w}`) + "\n"),
    });
    // On a cluster (RAYPROF_ADDRESS), connect before the first input: its tasks go to the nodes.
    if (env.RAYPROF_ADDRESS) await api.init({ address: env.RAYPROF_ADDRESS });
    else if (numCpus !== undefined) api.init({ numCpus });
    installUncaughtHandlers(session, output);
    Session.needsMore("0"); // loads the parser now rather than at the first input
    return { session, shutdown: api.shutdown };
  })();
  let failed: unknown;
  loading.catch((e) => (failed = e));
  let code: number;
  try {
    code = tty
      ? await interactive(loading, input, output, historyPath(env), color)
      : await piped(loading, input, output);
    await (await loading).shutdown();
  } catch (e) {
    if (failed === undefined) throw e;
    output.write(`\nCannot start the REPL as its modules did not load: ${(e as Error).message}\n`);
    return 1;
  }
  return code;
}

const style = (on: boolean, code: string, s: string) => on ? `\x1b[${code}m${s}\x1b[0m` : s;

function print(out: ReplIO["output"], r: InputResult, color: boolean): void {
  let s = "";
  for (const w of r.warnings) s += style(color, "33", `warning: ${w}`) + "\n";
  if (r.output !== "") s += (r.failed ? style(color, "31", r.output) : r.output) + "\n";
  if (r.timing) s += style(color, "2", r.timing) + "\n";
  if (r.hint) s += style(color, "36", r.hint) + "\n";
  out.write(s);
}

/** Errors that escape an input (a promise nobody awaited) are shown, not fatal. */
function installUncaughtHandlers(session: Session, out: ReplIO["output"]): void {
  const report = (kind: string, e: unknown) => out.write(`${kind} ${session.formatError(e)}\n`);
  const g = globalThis as { Deno?: unknown; addEventListener?: typeof addEventListener };
  if (g.Deno && g.addEventListener) {
    addEventListener("unhandledrejection", (e) => {
      e.preventDefault();
      report("Uncaught (in promise)", (e as PromiseRejectionEvent).reason);
    });
    addEventListener("error", (e) => {
      e.preventDefault();
      report("Uncaught", (e as ErrorEvent).error);
    });
  } else {
    process.on("unhandledRejection", (e) => report("Uncaught (in promise)", e));
    process.on("uncaughtException", (e) => report("Uncaught", e));
  }
}

interface Loaded {
  session: Session;
  shutdown(): Promise<void>;
}

async function piped(
  loading: Promise<Loaded>,
  input: ReplIO["input"],
  output: ReplIO["output"],
): Promise<number> {
  const { session } = await loading;
  const needsMore = (session.constructor as typeof Session).needsMore;
  const rl = readline.createInterface({ input, terminal: false, crlfDelay: Infinity });
  const onSigint = () => {
    if (!session.interrupt()) process.exit(130);
  };
  process.on("SIGINT", onSigint);
  let failed = false;
  let buffer = "";
  try {
    for await (const line of rl) {
      buffer = buffer === "" ? line : buffer + "\n" + line;
      if (needsMore(buffer)) continue;
      const r = await session.run(buffer);
      buffer = "";
      print(output, r, false);
      failed ||= r.failed;
      if (r.exit) break;
    }
    if (buffer.trim() !== "") {
      const r = await session.run(buffer);
      print(output, r, false);
      failed ||= r.failed;
    }
  } finally {
    process.off("SIGINT", onSigint);
    rl.close();
  }
  return failed ? 1 : 0;
}

function interactive(
  loading: Promise<Loaded>,
  input: ReplIO["input"],
  output: ReplIO["output"],
  history: string | undefined,
  color: boolean,
): Promise<number> {
  const rl = readline.createInterface({
    input,
    output,
    terminal: true,
    prompt: "> ",
    history: loadHistory(history),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: (line: string) => complete(line, COMMAND_NAMES),
  } as readline.ReadLineOptions);
  let buffer = "";
  const queue: string[] = [];
  let running = false;
  let sigintArmed = false;
  let done: (code: number) => void;
  let fail: (e: unknown) => void;
  const finished = new Promise<number>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  let closed = false;
  let session: Session | undefined;
  loading.then((l) => (session = l.session), () => {});

  const prompt = () => {
    rl.setPrompt(buffer === "" ? "> " : "... ");
    // Keep the cursor where it is: text typed during the evaluation stays editable as typed.
    rl.prompt(true);
  };
  const pump = async () => {
    if (running) return;
    running = true;
    let session: Session;
    try {
      session = (await loading).session;
    } catch (e) {
      rl.close();
      fail(e);
      return;
    }
    const needsMore = (session.constructor as typeof Session).needsMore;
    while (queue.length > 0) {
      const line = queue.shift()!;
      buffer = buffer === "" ? line : buffer + "\n" + line;
      if (needsMore(buffer)) continue;
      const source = buffer;
      buffer = "";
      const r = await session.run(source);
      print(output, r, color);
      if (r.exit) {
        close();
        return;
      }
    }
    running = false;
    if (!closed) {
      prompt();
      redrawLater();
    }
  };
  // Deno clears the terminal line (its module-loading progress bar, on stderr) whenever a runtime
  // worker loads its modules, which erases the prompt; workers start a little after the input
  // that needed them, so the prompt line is drawn again once they have.
  const timers: ReturnType<typeof setTimeout>[] = [];
  const redrawLater = () => {
    if (!("Deno" in globalThis)) return;
    for (const t of timers.splice(0)) clearTimeout(t);
    for (const ms of [100, 200, 300, 450, 600, 800, 1000, 1300, 1600, 2000, 3000]) {
      const t = setTimeout(() => {
        if (running || closed) return;
        const r = rl as unknown as { _refreshLine?: () => void };
        if (typeof r._refreshLine === "function") r._refreshLine();
      }, ms);
      (t as { unref?: () => void }).unref?.();
      timers.push(t);
    }
  };
  const close = () => {
    if (closed) return;
    closed = true;
    rl.close();
    done(0);
  };
  rl.on("line", (line: string) => {
    sigintArmed = false;
    appendHistory(history, line);
    queue.push(line);
    void pump();
  });
  rl.on("SIGINT", () => {
    if (session?.busy) {
      output.write("^C\n");
      session.interrupt();
      return;
    }
    const line = (rl as unknown as { line: string }).line;
    if (buffer !== "" || line !== "") {
      buffer = "";
      sigintArmed = false;
      Object.assign(rl, { line: "", cursor: 0 });
      output.write("^C\n");
      prompt();
      return;
    }
    if (sigintArmed) {
      output.write("\n");
      close();
      return;
    }
    sigintArmed = true;
    output.write("\n(To exit, press Ctrl-C again or Ctrl-D or type .exit)\n");
    prompt();
  });
  rl.on("close", () => {
    if (!closed) {
      closed = true;
      output.write("\n");
      if (session?.busy) session.interrupt();
      done(0);
    }
  });
  prompt();
  return finished;
}
