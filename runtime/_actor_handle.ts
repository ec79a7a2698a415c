/**
 * Actor handles: the object `.remote()` of an actor class returns, whose methods submit calls to
 * the actor's worker. Also rebuilt from the tag a handle carries when it is sent into a task.
 *
 * @module
 */
import { workerContext } from "./_context.ts";
import { ACTOR_TAG } from "./_wire.ts";
import { RuntimeShutdownError } from "./errors.ts";
import type { ObjectRef } from "./object_ref.ts";
import type { TaskOptions } from "./pool.ts";
import { runningPool } from "./_state.ts";
import { scanArgs, submitFromWorker } from "./_submit.ts";

/** Options of an actor method call: no slots (the actor holds its own), no retries. */
export const ACTOR_CALL: TaskOptions = {
  numCpus: 0,
  maxRetries: 0,
  retryExceptions: false,
  name: "",
};

/** Builds the handle of actor `id`, with a `.remote()` stub per method. */
export function actorHandle(id: number, name: string, methods: string[]): Record<string, unknown> {
  const h: Record<string, unknown> = {};
  Object.defineProperty(h, ACTOR_TAG, { value: id, enumerable: true });
  Object.defineProperty(h, "methods", { value: methods, enumerable: true });
  Object.defineProperty(h, "name", { value: name, enumerable: true });
  for (const m of methods) {
    const what = `call '${name}.${m}'`;
    const stub = {
      remote: (...args: unknown[]): ObjectRef<unknown> => {
        if (workerContext()) {
          return submitFromWorker(
            what,
            { url: "", key: "", name: m, src: "", cls: false },
            ACTOR_CALL,
            args,
            id,
            m,
          );
        }
        const p = runningPool(what);
        const a = p?.actor(id);
        if (!a) throw new RuntimeShutdownError(`Cannot ${what} as its runtime was shut down`);
        const scan = scanArgs(what, args, p!.gen);
        return p!.submit(a.def, args, ACTOR_CALL, scan, a, m);
      },
    };
    Object.defineProperty(h, m, { value: stub, enumerable: false });
  }
  const label = `ActorHandle(${name}#${id})`;
  Object.defineProperty(h, Symbol.for("Deno.customInspect"), { value: () => label });
  Object.defineProperty(h, Symbol.for("nodejs.util.inspect.custom"), { value: () => label });
  return h;
}

// Lets the worker entry rebuild handles that were sent into a task.
(globalThis as Record<symbol, unknown>)[Symbol.for("rayprof.actorHandle")] = (
  tag: Record<string, unknown>,
) => actorHandle(tag[ACTOR_TAG] as number, tag.name as string, tag.methods as string[]);
