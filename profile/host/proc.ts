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
