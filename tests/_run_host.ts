/**
 * Runs the runtime that runs the tests (Deno or Bun, `process.execPath`) as a child, as a user would
 * from a shell: shared by the tests that profile scripts through `cli.ts`.
 *
 * @module
 */
import { execFile } from "node:child_process";
import process from "node:process";

const IS_BUN = "Bun" in globalThis;

/** What a child run printed, and its exit code. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A script and its arguments as the host's command line: `run -A` first under Deno. */
export function scriptArgs(args: string[]): string[] {
  return IS_BUN ? args : ["run", "-A", ...args];
}

/** Options of {@linkcode runHost}. */
export interface RunHostOptions {
  /** Kills the child after this many ms (its code is then non-zero); 0: never. @default 120000 */
  timeout?: number;
}

/**
 * Runs the host with `args` in `cwd`, without colour (unless `env` sets `NO_COLOR`), and with the
 * profiler's cache on unless `env` sets `RAYPROF_NO_CACHE` (the suite may run with it set).
 */
export function runHost(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  options: RunHostOptions = {},
): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...env };
  if (!("RAYPROF_NO_CACHE" in env)) delete childEnv.RAYPROF_NO_CACHE;
  return new Promise((resolve) => {
    execFile(process.execPath, args, {
      cwd,
      env: childEnv,
      maxBuffer: 1 << 24,
      timeout: options.timeout ?? 120_000,
    }, (
      error,
      stdout,
      stderr,
    ) => {
      const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
