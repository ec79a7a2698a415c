/**
 * The synchronous file operations the profiler needs while a profiled script starts and ends,
 * without `node:fs` under Deno: loading Deno's `node:fs` costs 15-20 ms of start-up (its Node
 * compatibility layer), while Deno's own file API is already there. Bun's `node:fs` is native and
 * costs nothing to load. Errors carry Node's codes (`ENOENT`, `EISDIR`, ...) in both runtimes.
 *
 * @module
 */

import { nodeProcess } from "./proc.ts";

interface DenoFs {
  readTextFileSync(path: string | URL): string;
  writeTextFileSync(path: string | URL, text: string): void;
  statSync(path: string | URL): { isDirectory: boolean; size: number; mtime: Date | null };
  mkdirSync(path: string, options: { recursive: boolean }): void;
  renameSync(from: string, to: string): void;
  removeSync(path: string): void;
  readDirSync(path: string): Iterable<{ name: string }>;
  stdout: { writeSync(bytes: Uint8Array): number };
  stderr: { writeSync(bytes: Uint8Array): number };
}

const deno = (globalThis as { Deno?: DenoFs }).Deno;
let nodeFs: typeof import("node:fs") | undefined;
function fs(): typeof import("node:fs") {
  return nodeFs ??= nodeProcess().getBuiltinModule("node:fs") as typeof import("node:fs");
}

/** What {@linkcode statSync} tells. */
export interface FileInfo {
  /** Whether it is a directory. */
  isDirectory: boolean;
  /** Size in bytes. */
  size: number;
  /** Last modification, in milliseconds since the epoch (0 if unknown). */
  mtimeMs: number;
}

/**
 * Reads a text file.
 *
 * @param path Path or file URL.
 * @returns Its text (UTF-8).
 * @throws {Error} The file system's error (`code` `ENOENT`, `EISDIR`, ...).
 */
export function readTextSync(path: string | URL): string {
  return deno ? deno.readTextFileSync(path) : fs().readFileSync(path, "utf8");
}

/**
 * Writes a text file, replacing it.
 *
 * @param path Path.
 * @param text Its new text.
 * @throws {Error} The file system's error.
 */
export function writeTextSync(path: string, text: string): void {
  if (deno) deno.writeTextFileSync(path, text);
  else fs().writeFileSync(path, text);
}

/**
 * Describes a file.
 *
 * @param path Path or file URL.
 * @returns Whether it is a directory, its size and modification time.
 * @throws {Error} The file system's error (`code` `ENOENT` when it does not exist).
 */
export function statSync(path: string | URL): FileInfo {
  if (deno) {
    const s = deno.statSync(path);
    return { isDirectory: s.isDirectory, size: s.size, mtimeMs: s.mtime?.getTime() ?? 0 };
  }
  const s = fs().statSync(path);
  return { isDirectory: s.isDirectory(), size: s.size, mtimeMs: s.mtimeMs };
}

/**
 * Creates a directory and its parents; nothing if it exists.
 *
 * @param path Path.
 * @throws {Error} The file system's error.
 */
export function mkdirpSync(path: string): void {
  if (deno) deno.mkdirSync(path, { recursive: true });
  else fs().mkdirSync(path, { recursive: true });
}

/**
 * Renames a file, replacing the target atomically.
 *
 * @param from Current path.
 * @param to New path.
 * @throws {Error} The file system's error.
 */
export function renameSync(from: string, to: string): void {
  if (deno) deno.renameSync(from, to);
  else fs().renameSync(from, to);
}

/**
 * The names of the entries of a directory, or none when it cannot be read.
 *
 * @param path Path.
 */
export function listDirSync(path: string): string[] {
  try {
    if (deno) return [...deno.readDirSync(path)].map((e) => e.name);
    return fs().readdirSync(path);
  } catch {
    return [];
  }
}

/**
 * Removes a file, or an empty directory, if it exists.
 *
 * @param path Path.
 */
export function removeIfExistsSync(path: string): void {
  try {
    if (deno) deno.removeSync(path);
    else {
      try {
        fs().rmSync(path, { force: true });
      } catch {
        fs().rmdirSync(path); // a directory
      }
    }
  } catch {
    // already gone
  }
}

/**
 * Writes all of `text` to stdout (1) or stderr (2) before returning, retrying while a
 * non-blocking pipe is full.
 *
 * @param fd 1 or 2.
 * @param text What to write.
 * @throws {Error} The file system's error, other than a full pipe.
 */
export function writeFdSync(fd: 1 | 2, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) {
    let n = 0;
    try {
      n = deno
        ? (fd === 1 ? deno.stdout : deno.stderr).writeSync(bytes)
        : fs().writeSync(fd, bytes);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error; // a full pipe: retry
    }
    bytes = bytes.subarray(n);
  }
}
