/**
 * `kill`: ends an actor (its worker is terminated; its calls reject with ActorDiedError).
 *
 * @module
 */
import { workerContext } from "./_context.ts";
import { ACTOR_TAG } from "./_wire.ts";
import { RayError } from "./errors.ts";
import { state } from "./_state.ts";
import { describe } from "./_validate.ts";

/**
 * Ends an actor: its worker is terminated, pending and later calls reject with ActorDiedError.
 *
 * @param handle The actor's handle, from `ActorClass.remote()`.
 * @throws {TypeError} If `handle` is not an actor handle.
 *
 * @example Calls after kill reject
 * ```ts
 * import { ActorDiedError, get, init, kill, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const Echo = remote(class Echo {
 *   echo(x: string) {
 *     return x;
 *   }
 * });
 * init({ numCpus: 2 });
 * try {
 *   const echo = Echo.remote();
 *   assert.equal(await get(echo.echo.remote("hi")), "hi");
 *   kill(echo);
 *   await assert.rejects(get(echo.echo.remote("again")), ActorDiedError);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function kill(handle: unknown): void {
  const id = typeof handle === "object" && handle !== null
    ? (handle as Record<string, unknown>)[ACTOR_TAG]
    : undefined;
  if (typeof id !== "number") {
    throw new TypeError(
      `Cannot kill as 'handle' must be an actor handle: received ${describe(handle)}`,
    );
  }
  if (workerContext()) {
    throw new RayError("Cannot kill an actor inside a task: kill it on the driver");
  }
  const p = state().pool;
  const a = p?.actor(id);
  if (a) p!.kill(a, "was killed");
}
