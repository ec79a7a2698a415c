/**
 * How a worker finds the function of a task: it imports the module that defined the remote
 * function (whose `remote()` call then registers the function here instead of making a remote
 * function), or evaluates the function's source when no module can give it.
 *
 * @module
 */
import { workerContext } from "./_context.ts";
import type { FnDef } from "./_protocol.ts";

const imported = new Map<string, Promise<unknown>>();
const fns = new Map<number, Promise<unknown>>();
const defs = new Map<number, FnDef>();

function importable(url: string): boolean {
  return /^(file|https?):/.test(url) && !url.includes("$deno$") && !url.includes("[eval");
}

async function importModule(url: string): Promise<unknown> {
  let p = imported.get(url);
  if (!p) {
    p = (async () => {
      const ctx = workerContext()!;
      ctx.importing.add(url);
      try {
        // Must stay dynamic: the user's module that defines a remote function or actor.
        return await import(url);
      } finally {
        ctx.importing.delete(url);
      }
    })();
    imported.set(url, p);
  }
  return await p;
}

function evaluate(def: FnDef): unknown {
  const src = def.src;
  const attempts = [`(${src})`, `({${src}})[${JSON.stringify(def.name)}]`, `(function ${src})`];
  let first: unknown;
  for (const code of attempts) {
    try {
      const v = new Function(`"use strict"; return ${code};`)();
      if (typeof v === "function") return v;
    } catch (e) {
      first ??= e;
    }
  }
  throw new TypeError(
    `Cannot ship remote function '${def.name}' to a worker: its module (${def.url}) does not define it at the top level, and its source cannot be evaluated on its own: ${
      (first as Error)?.message ?? "not a function"
    }`,
  );
}

/** Notes a definition the driver sent, so its tasks can find the function. */
export function learnFunction(def: FnDef): void {
  defs.set(def.fid, def);
}

/**
 * The function of a definition: the module that defined it registers it when imported (its
 * `remote()` call), or its source is evaluated when no module can give it. Once per definition.
 */
export function resolveFunction(fid: number): Promise<unknown> {
  let p = fns.get(fid);
  if (!p) {
    const def = defs.get(fid);
    if (!def) return Promise.reject(new Error(`Unknown function id ${fid}`));
    p = (async () => {
      let importError: unknown;
      if (importable(def.url)) {
        try {
          await importModule(def.url);
        } catch (e) {
          importError = e;
        }
        const found = workerContext()!.registry.get(`${def.url}#${def.key}`);
        if (found) return found;
      }
      try {
        return shipped(def, evaluate(def), importError);
      } catch (e) {
        if (importError) {
          throw new TypeError(
            `Cannot load remote function '${def.name}' in a worker: importing ${def.url} failed: ${
              (importError as Error)?.message ?? importError
            }`,
            { cause: importError },
          );
        }
        throw e;
      }
    })();
    fns.set(fid, p);
  }
  return p;
}

/** Wraps a function evaluated from source so a missing outer variable gets an explanation. */
function shipped(def: FnDef, fn: unknown, importError: unknown): unknown {
  if (def.cls) return fn;
  const f = fn as (...a: unknown[]) => unknown;
  const why = importError === undefined
    ? "it is not defined at the top level of a module file"
    : `importing its module ${def.url} failed (${(importError as Error)?.message ?? importError})`;
  const explain = (e: unknown): never => {
    if (e instanceof ReferenceError) {
      e.message +=
        ` (remote function '${def.name}' was sent as source text because ${why}, so it can only use its own parameters and globals)`;
    }
    throw e;
  };
  return function (this: unknown, ...args: unknown[]) {
    try {
      const r = f.apply(this, args);
      if (r && typeof (r as Promise<unknown>).then === "function") {
        return (r as Promise<unknown>).then(undefined, explain);
      }
      return r;
    } catch (e) {
      explain(e);
    }
  };
}
