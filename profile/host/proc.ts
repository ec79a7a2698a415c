/**
 * What the profiler's start-up path needs of its process, without `node:process` under Deno:
 * loading any `node:` module there starts Deno's Node compatibility layer, ≈30 ms of every start
 * for `node:process` (measured in `bench/line_startup.ts`), while `Deno` already has all of it.
 * Under Bun, `process` is a global that costs nothing.
 *
 * @module
 */

interface DenoProcess {
  args: string[];
  exitCode: number;
  pid: number;
  env: { get(name: string): string | undefined };
  cwd(): string;
  exit(code?: number): never;
  stdout: { isTerminal(): boolean };
  consoleSize(): { columns: number; rows: number };
}

type NodeProcess = typeof import("node:process");

const deno = (globalThis as { Deno?: DenoProcess }).Deno;

/** Bun's (or, once loaded, Deno's) Node `process`. */
export function nodeProcess(): NodeProcess {
  return (globalThis as unknown as { process: NodeProcess }).process;
}

/** An environment variable, or `undefined`. */
export function env(name: string): string | undefined {
  return deno ? deno.env.get(name) : nodeProcess().env[name];
}

/** The current directory. */
export function cwd(): string {
  return deno ? deno.cwd() : nodeProcess().cwd();
}

/** This process's id. */
export function pid(): number {
  return deno ? deno.pid : nodeProcess().pid;
}

/** The arguments after the script's name (`deno run -A cli.ts ARGS` / `bun cli.ts ARGS`). */
export function args(): string[] {
  return deno ? deno.args.slice() : nodeProcess().argv.slice(2);
}

/**
 * The exit code the process will end with. Under Deno, `process.exitCode` and `Deno.exitCode`
 * are one value.
 */
export function exitCode(): number {
  return deno ? deno.exitCode : Number(nodeProcess().exitCode ?? 0) || 0;
}

/** Sets the code the process ends with when it ends by itself. */
export function setExitCode(code: number): void {
  if (deno) deno.exitCode = code;
  else nodeProcess().exitCode = code;
}

/** Ends the process now. */
export function exit(code: number): never {
  return deno ? deno.exit(code) : nodeProcess().exit(code);
}

/** Whether standard output is a terminal. */
export function stdoutIsTerminal(): boolean {
  return deno ? deno.stdout.isTerminal() : Boolean(nodeProcess().stdout.isTTY);
}

/** Columns of the terminal on standard output, or `undefined` when it is not one. */
export function stdoutColumns(): number | undefined {
  if (!deno) return nodeProcess().stdout.columns;
  try {
    return deno.consoleSize().columns;
  } catch {
    return undefined;
  }
}

/** Whether standard error is a terminal (the profiler's reports go there). */
export function stderrIsTerminal(): boolean {
  return deno
    ? (deno as unknown as { stderr: { isTerminal(): boolean } }).stderr.isTerminal()
    : Boolean(nodeProcess().stderr.isTTY);
}

/** The path of the runtime's executable (`deno` or `bun`). */
export function execPath(): string {
  return deno ? (deno as unknown as { execPath(): string }).execPath() : nodeProcess().execPath;
}

/** A child process started by {@linkcode spawnInherited}. */
export interface Child {
  /** Resolves with its exit code (128 + the signal's number when a signal ended it). */
  exited: Promise<number>;
  /** Sends it a signal. */
  kill(signal: "SIGINT" | "SIGTERM"): void;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Starts the runtime's executable with `args`, sharing this process's standard streams, so what
 * the child prints reaches the terminal or pipe byte for byte.
 *
 * @param args Arguments after the executable.
 * @param extraEnv Variables added to this process's environment.
 * @returns The running child.
 */
export function spawnInherited(args: string[], extraEnv: Record<string, string>): Child {
  if (deno) {
    const D = deno as unknown as {
      Command: new (cmd: string, o: Record<string, unknown>) => {
        spawn(): {
          status: Promise<{ code: number; signal: string | null }>;
          kill(s: string): void;
        };
      };
    };
    const child = new D.Command(execPath(), {
      args,
      env: extraEnv,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return {
      exited: child.status.then((s) => s.signal ? 128 + (SIGNALS[s.signal] ?? 0) : s.code),
      kill: (s) => {
        try {
          child.kill(s);
        } catch { /* already gone */ }
      },
    };
  }
  const Bun = (globalThis as unknown as {
    Bun: {
      spawn(o: Record<string, unknown>): {
        exited: Promise<number>;
        signalCode: string | null;
        kill(s: string): void;
      };
    };
  }).Bun;
  const child = Bun.spawn({
    cmd: [execPath(), ...args],
    env: { ...nodeProcess().env, ...extraEnv },
    stdio: ["inherit", "inherit", "inherit"],
  });
  return {
    exited: child.exited.then((code) =>
      child.signalCode ? 128 + (SIGNALS[child.signalCode] ?? 0) : code
    ),
    kill: (s) => {
      try {
        child.kill(s);
      } catch { /* already gone */ }
    },
  };
}

/**
 * Calls `handler` when this process gets `signal`, instead of ending it.
 *
 * @returns A function that removes the handler.
 */
export function onSignal(signal: "SIGINT" | "SIGTERM", handler: () => void): () => void {
  if (deno) {
    const D = deno as unknown as {
      addSignalListener(s: string, f: () => void): void;
      removeSignalListener(s: string, f: () => void): void;
    };
    D.addSignalListener(signal, handler);
    return () => D.removeSignalListener(signal, handler);
  }
  nodeProcess().on(signal, handler);
  return () => nodeProcess().off(signal, handler);
}
