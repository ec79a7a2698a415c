/**
 * What the profiler needs of its host (Deno or Bun), with no `node:` import under Deno: any
 * `node:` module there starts Deno's Node compatibility layer (≈30–50 ms of start-up), which a
 * plain run of a script without Node imports never pays. POSIX path and file-URL functions,
 * process facts, synchronous file operations, `util.parseArgs` and an `import()` Deno does not
 * load ahead of time.
 *
 * @example Join a path and turn it into a file URL
 * ```ts
 * import { join, pathToFileURL } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(pathToFileURL(join("/tmp", "a b.ts")).href, "file:///tmp/a%20b.ts");
 * ```
 *
 * @module
 */
export * from "./lazy_import.ts";
export * from "./parse_args.ts";
export * from "./path.ts";
export * from "./proc.ts";
export * from "./sync_fs.ts";
