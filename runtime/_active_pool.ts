/**
 * The pool that a call of the API works with, started on first use.
 *
 * @module
 */
import { RayError, RuntimeShutdownError } from "./errors.ts";
import type { Backend } from "./backend.ts";
import { state } from "./_state.ts";
import { init } from "./init.ts";

/**
 * The running pool, started with default options if it is not (the first `.remote()` starts it).
 *
 * @param what What the caller is doing, for the error message.
 * @throws {RuntimeShutdownError} If the runtime was shut down and not started again.
 * @throws {RayError} If the runtime is still connecting to a cluster (`init` not awaited).
 */
export function activePool(what: string): Backend {
  const s = state();
  if (s.pool) return s.pool;
  if (s.connecting) throw connectingError(what);
  if (s.wasShutdown) {
    throw new RuntimeShutdownError(
      `Cannot ${what} as the runtime was shut down: call init() to start it again`,
    );
  }
  init();
  if (!s.pool) throw connectingError(what);
  return s.pool;
}

function connectingError(what: string): RayError {
  return new RayError(
    `Cannot ${what} while the runtime connects to its cluster: await init() before submitting`,
  );
}
