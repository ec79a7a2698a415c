/**
 * What every submission does before it reaches the scheduler: argument checks (what cannot cross
 * to a worker, refs of a shut-down runtime) and, inside a task, the request to the driver.
 *
 * @module
 */
import { callerFrame } from "./_platform.ts";
import { workerContext } from "./_context.ts";
import { FLAG_REFS, type FnDef } from "./_protocol.ts";
import { type Scan, scanValue } from "./_wire.ts";
import { RayError, RuntimeShutdownError } from "./errors.ts";
import { entryOf, ObjectRef, SPEC } from "./object_ref.ts";
import type { TaskOptions } from "./pool.ts";

/**
 * Checks the arguments of a submission: throws a TypeError naming what cannot be sent, or a
 * RuntimeShutdownError for a ref of an older runtime (`gen`, null inside a task).
 */
export function scanArgs(what: string, args: unknown[], gen: number | null): Scan {
  const scan: Scan = { bytes: 0, refs: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof ObjectRef) {
      scan.bytes += 16;
      if (gen !== null) {
        const e = entryOf(a);
        if (e && e[SPEC].gen !== gen) {
          throw new RuntimeShutdownError(
            `Cannot ${what} with ${a} (argument ${
              i + 1
            }) as it belongs to a runtime that was shut down`,
          );
        }
      }
      continue;
    }
    const t = typeof a;
    if (t === "number" || t === "string" || t === "boolean" || a == null) {
      scan.bytes += t === "string" ? (a as string).length : 8;
      continue;
    }
    try {
      scanValue(a, `argument ${i + 1}`, scan);
    } catch (e) {
      if (e instanceof TypeError) throw new TypeError(`Cannot ${what} as ${e.message}`);
      throw e;
    }
  }
  return scan;
}

/** Submits a task from inside a task: the driver owns the scheduler. */
export function submitFromWorker(
  what: string,
  wire: Omit<FnDef, "fid">,
  opts: TaskOptions,
  args: unknown[],
  actor?: number,
  method?: string,
): ObjectRef<unknown> {
  const ctx = workerContext()!;
  // A module that submits tasks from its top level while a worker imports it to find a function
  // would start its whole program again in every worker. Only the module's own top-level code is
  // refused: a running task may submit while the worker imports some other module.
  if (ctx.importing.size !== 0) {
    const url = callerFrame()?.url;
    if (url !== undefined && ctx.importing.has(url)) {
      throw new RayError(
        `Cannot ${what} while a worker imports ${url} to find a remote function: guard the script's entry point with \`if (import.meta.main) { ... }\``,
      );
    }
  }
  const scan = scanArgs(what, args, null);
  const id = ctx.nextId();
  ctx.post({
    t: "submit",
    id,
    def: wire,
    args,
    flags: scan.refs ? FLAG_REFS : 0,
    opts: opts as unknown as Record<string, unknown>,
    parent: ctx.currentTask,
    actor,
    method,
  });
  ctx.refsMade++;
  return new ObjectRef(id);
}
