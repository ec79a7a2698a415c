/**
 * The line profiler's `profile` marker (kernprof's `@profile`), with no dependencies.
 *
 * `cli.ts profile` finds the marker in the source and instruments the function before it runs;
 * the marker itself never changes anything, so a marked script runs the same without the
 * profiler. Three spellings, all equivalent:
 *
 * ```ts ignore
 * import { profile } from "./mod.ts";
 *
 * // @profile
 * function ex1() {}
 *
 * const ex2 = profile(async () => {});
 *
 * class Driver {
 *   @profile
 *   run() {}
 * }
 * ```
 *
 * @module
 */

/**
 * Marks a function for the line profiler and returns it unchanged. Works as a call, as a TC39
 * method decorator (`@profile`) and as a legacy (`experimentalDecorators`) method decorator.
 *
 * @param fn The function (or, as a decorator, the method).
 * @returns `fn` itself; as a decorator, nothing that replaces the method.
 *
 * @example Same result with or without the profiler
 * ```ts
 * import { profile } from "./profile_marker.ts";
 * import assert from "node:assert/strict";
 * const double = profile((x: number) => 2 * x);
 * assert.deepEqual(double(21), 42);
 * ```
 */
export function profile<T>(fn: T): T;
/** TC39 decorator form: `@profile` on a class method. */
export function profile<T>(method: T, context: { kind: string; name: string | symbol }): void;
/** Legacy decorator form (`experimentalDecorators`). */
export function profile(
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor,
): PropertyDescriptor;
export function profile(fn: unknown, ...rest: unknown[]): unknown {
  if (rest.length === 0) return fn;
  if (rest.length === 1) return undefined; // TC39: keep the method
  return rest[1]; // legacy: keep the descriptor
}
