/**
 * The history file: one entered line per line, newest last, read at start and appended to as
 * lines are entered.
 *
 * @module
 */
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** Environment variable naming the history file; empty turns history off. */
export const HISTORY_ENV = "RAYPROF_REPL_HISTORY";

/** Lines kept in memory and read back. */
export const HISTORY_SIZE = 1000;

/**
 * Where the history lives.
 *
 * @param env The environment.
 * @returns The path, or undefined when history is off.
 */
export function historyPath(env: Record<string, string | undefined>): string | undefined {
  const v = env[HISTORY_ENV];
  if (v !== undefined) return v === "" ? undefined : v;
  return join(env.HOME ?? homedir(), ".rayprof_repl_history");
}

/**
 * Reads the history, newest first (readline's order).
 *
 * @param path The file.
 * @returns The lines; empty when the file does not exist.
 */
export function loadHistory(path: string | undefined): string[] {
  if (!path) return [];
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").filter((l) => l.trim() !== "").slice(-HISTORY_SIZE).reverse();
}

/**
 * Appends one line to the history file (errors are ignored: history is a convenience).
 *
 * @param path The file.
 * @param line The line entered.
 */
export function appendHistory(path: string | undefined, line: string): void {
  if (!path || line.trim() === "") return;
  try {
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, line.replace(/\n/g, " ") + "\n");
  } catch {
    // unwritable: keep going without
  }
}
