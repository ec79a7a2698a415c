#!/usr/bin/env node
// The npm package's `rayprof` command (npx rayprof, bunx rayprof, node_modules/.bin/rayprof).
// rayprof runs on Deno or Bun, not on Node: this starts the CLI in the runtime that runs this
// file when it is one of them (`bunx --bun`, `deno run`), else in the one named by
// RAYPROF_RUNTIME, else in Deno or Bun found on PATH (Deno first), with the arguments, the
// standard streams and the exit code passed through.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const RUNTIMES = ["deno", "bun"];

/** The executable `name` on PATH, or undefined. */
function onPath(name) {
  const exts = process.platform === "win32" ? [".exe", ".cmd", ""] : [""];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = join(dir, name + ext);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** [runtime, executable] to run the CLI with; exits with a message when there is none. */
function pick() {
  const wanted = process.env.RAYPROF_RUNTIME;
  if (wanted !== undefined && wanted !== "") {
    if (!RUNTIMES.includes(wanted)) {
      fail(`RAYPROF_RUNTIME must be "deno" or "bun", not ${JSON.stringify(wanted)}`);
    }
    const self = runningIn();
    if (self === wanted) return [wanted, process.execPath];
    const file = onPath(wanted);
    if (file === undefined) fail(`RAYPROF_RUNTIME=${wanted}, but there is no ${wanted} on PATH`);
    return [wanted, file];
  }
  const self = runningIn();
  if (self !== undefined) return [self, process.execPath];
  for (const name of RUNTIMES) {
    const file = onPath(name);
    if (file !== undefined) return [name, file];
  }
  fail(
    "rayprof runs on Deno or Bun, and neither is on PATH.\n" +
      "Install one (https://deno.com, https://bun.sh) or put it on PATH; " +
      "RAYPROF_RUNTIME=deno|bun picks one when both are there.",
  );
}

function runningIn() {
  if (process.versions.bun !== undefined) return "bun";
  if (process.versions.deno !== undefined) return "deno";
  return undefined;
}

function fail(message) {
  process.stderr.write(`rayprof: ${message}\n`);
  process.exit(2);
}

const [runtime, exe] = pick();
const args = runtime === "deno"
  ? ["run", "-A", CLI, ...process.argv.slice(2)]
  : [CLI, ...process.argv.slice(2)];
// RAYPROF_PROG: the CLI's help and usage errors then name this command.
const env = { ...process.env, RAYPROF_PROG: "rayprof" };
const child = spawn(exe, args, { stdio: "inherit", env });
// The terminal sends Ctrl-C to the whole group; a signal sent to this process alone is passed on.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("error", (error) => fail(`cannot start ${exe}: ${error.message}`));
child.on("exit", (code, signal) => {
  if (signal !== null) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
