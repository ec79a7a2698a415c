/**
 * Remembers the refs that `.remote()` calls return while an input runs, so an interrupted input
 * can cancel its tasks: those of remote functions typed in the REPL and of imported modules alike
 * (all remote functions of the runtime share one prototype, whose `remote` is wrapped).
 *
 * The wrapper is compiled under a file name that is not a URL: the runtime skips such stack frames
 * when it looks for the user's call site, so the `.remote()` call sites recorded for timelines and
 * hints stay those of the user's code, not of this file.
 *
 * @module
 */
import vm from "node:vm";
import type { ObjectRef } from "../../runtime/object_ref.ts";

/** Refs submitted during the current input, and the namespace that records them. */
export interface Tracker {
  /** The API, as the `ray` global. */
  ray: Record<string, unknown>;
  /** Where `.remote()` refs go while an input runs; `null` between inputs. */
  current: ObjectRef<unknown>[] | null;
}

const SOURCE = `(function (api) {
  const tracker = { current: null, ray: Object.freeze({ ...api }) };
  // Every remote function shares one prototype: those of imported modules too.
  const proto = Object.getPrototypeOf(api.remote(function rayprofReplProbe() {}));
  const submit = proto.remote;
  Object.defineProperty(proto, "remote", {
    configurable: true,
    writable: true,
    value: function remote(...args) {
      const ref = submit.apply(this, args);
      if (tracker.current) tracker.current.push(ref);
      return ref;
    },
  });
  return tracker;
})`;

/**
 * Builds the tracking namespace over `api`.
 *
 * @param api The runtime's API (mod.ts).
 * @returns The tracker.
 */
export function installTracking(api: Record<string, unknown>): Tracker {
  const make = vm.runInThisContext(SOURCE, { filename: "rayprof-repl-internal" }) as (
    api: Record<string, unknown>,
  ) => Tracker;
  return make(api);
}
