/**
 * The pool that a call of the API works with, started on first use.
 *
 * @module
 */
import { RuntimeShutdownError } from "./errors.ts";
import type { Pool } from "./pool.ts";
import { state } from "./_state.ts";
import { init } from "./init.ts";

/**
 * The running pool, started with default options if it is not (the first `.remote()` starts it).
 *
 * @param what What the caller is doing, for the error message.
 * @throws {RuntimeShutdownError} If the runtime was shut down and not started again.
 */
export function activePool(what: string): Pool {
  const s = state();
  if (s.pool) return s.pool;
  if (s.wasShutdown) {
    throw new RuntimeShutdownError(
      `Cannot ${what} as the runtime was shut down: call init() to start it again`,
    );
  }
  init();
  return s.pool!;
}
