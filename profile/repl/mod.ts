/**
 * The REPL (`repl.ts`): {@linkcode main} reads inputs from a terminal (editing, completion,
 * history) or a pipe, and a {@linkcode Session} evaluates each in the global scope, with the
 * runtime's API preloaded, then reports what it cost and what its tasks did.
 *
 * @example Evaluate inputs without a terminal
 * ```ts
 * import { Session } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const session = new Session();
 * assert.equal((await session.run("const x: number = 20")).failed, false);
 * assert.equal((await session.run("x * 2 + 2")).output, "42"); // declarations persist
 * assert.equal((await session.run(".exit")).exit, true);
 * ```
 *
 * @module
 */
export * from "./main.ts";
export * from "./session.ts";
