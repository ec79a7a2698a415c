/**
 * The `ray` namespace of the REPL: the API with a `remote` whose functions remember the refs their
 * `.remote()` calls return, so an interrupted input can cancel its tasks.
 *
 * The wrappers are compiled under a file name that is not a URL: the runtime skips such stack
 * frames when it looks for the user's call site, so `.remote()` call sites and the module a worker
 * loads a function from stay those of the user's input, not of this file.
 *
 * @module
 */
import vm from "node:vm";
import type { ObjectRef } from "../../runtime/object_ref.ts";

/** Refs submitted during the current input, and the namespace that records them. */
export interface Tracker {
  /** The API with the tracking `remote`. */
  ray: Record<string, unknown>;
  /** Where `.remote()` refs go while an input runs; `null` between inputs. */
  current: ObjectRef<unknown>[] | null;
}

const SOURCE = `(function (api) {
  const tracker = { current: null, ray: null };
  const isClass = (f) =>
    typeof f === "function" && /^class[\\s{]/.test(Function.prototype.toString.call(f));
  const custom = Symbol.for("nodejs.util.inspect.custom");
  const denoCustom = Symbol.for("Deno.customInspect");
  function wrap(rf) {
    return {
      remote(...args) {
        const r = rf.remote(...args);
        if (tracker.current) tracker.current.push(r);
        return r;
      },
      options(o) { return wrap(rf.options(o)); },
      get name() { return rf.name; },
      toString() { return rf.toString(); },
      [custom]() { return rf.toString(); },
      [denoCustom]() { return rf.toString(); },
    };
  }
  function remote(f, options) {
    const rf = api.remote(f, options);
    return isClass(f) ? rf : wrap(rf);
  }
  tracker.ray = Object.freeze({ ...api, remote });
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
