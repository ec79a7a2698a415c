/**
 * Requests that tasks send to the driver, which owns the scheduler: submitting a nested task, and
 * waiting on refs (`get`, `wait`) from inside a task.
 *
 * @module
 */
import { FLAG_REFS, type FromWorker } from "./_protocol.ts";
import { errorInfo, reviveRefs, scanValue } from "./_wire.ts";
import { RuntimeShutdownError } from "./errors.ts";
import { type Entry, ObjectRef, REF_TAG, SPEC, STATE, VALUE, whenSettled } from "./object_ref.ts";
import { addTaskId } from "./recorder.ts";
import type { PoolWorker } from "./_pool_worker.ts";
import type { Task, TaskOptions } from "./_task.ts";
import type { Pool } from "./pool.ts";

function resolveTags(pool: Pool, args: unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Record<string, unknown> | null;
    if (a !== null && typeof a === "object" && REF_TAG in a) {
      args[i] = pool.refFor(a[REF_TAG] as number);
    }
  }
}

/** A task submitted from inside a task: the driver submits it and exports its entry. */
export function submitForWorker(pool: Pool, m: Extract<FromWorker, { t: "submit" }>): void {
  resolveTags(pool, m.args);
  if (m.flags & FLAG_REFS) {
    m.args = m.args.map((a) =>
      reviveRefs(a, (rid) => pool.refFor(rid), (tag) => pool.actorHandleFor?.(tag))
    );
  }
  const scan = { bytes: 0, refs: (m.flags & FLAG_REFS) !== 0 };
  for (const a of m.args) if (!(a instanceof ObjectRef)) scanSafe(a, scan);
  const opts = m.opts as unknown as TaskOptions;
  let t: Task;
  if (m.actor !== undefined) {
    const a = pool.actor(m.actor);
    if (!a) return;
    t = pool.submit(a.def, m.args, opts, scan, a, m.method!, m.id, m.parent);
  } else {
    t = pool.submit(pool.def(m.def), m.args, opts, scan, null, null, m.id, m.parent);
  }
  pool.export(t);
}

/**
 * A `get` or `wait` from inside a task: answers when the entries settle (or the timeout passes),
 * and records the span the task was blocked for.
 */
export function answerGet(
  pool: Pool,
  w: PoolWorker,
  req: number,
  ids: number[],
  timeout: number | null,
  numReturns: number | null,
  task = 0,
): void {
  const entries: Entry[] = [];
  for (const id of ids) {
    const e = pool.exported(id);
    if (!e) {
      w.post({
        t: "reply",
        req,
        ok: false,
        value: errorInfo(
          new RuntimeShutdownError(`Cannot get ObjectRef(${id}): it is unknown to the driver`),
        ),
      });
      return;
    }
    pool.markAwaited(e);
    entries.push(e);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const need = numReturns ?? entries.length;
  let ready = 0;
  const start = pool.recorder.enabled ? performance.now() : 0;
  const reply = (ok: boolean, value: unknown) => {
    if (done) return;
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    if (pool.recorder.enabled) {
      const runs: number[] = [];
      for (const e of entries) if (e[SPEC].task) addTaskId(runs, e.id);
      const kind = numReturns === null ? "get" : "wait";
      pool.recorder.spans.push({
        kind,
        start,
        end: performance.now(),
        runs,
        worker: w.id,
        task,
      });
    }
    if (w.dead) return;
    try {
      w.post({ t: "reply", req, ok, value });
    } catch (e) {
      w.post({ t: "reply", req, ok: false, value: errorInfo(e) });
    }
  };
  const check = () => {
    if (done) return;
    if (numReturns !== null) {
      if (ready >= need) reply(true, entries.map((e) => e[STATE] !== 0));
      return;
    }
    for (const e of entries) {
      if (e[STATE] === 2) return reply(false, errorInfo(e[VALUE]));
    }
    if (ready === entries.length) {
      for (const e of entries) {
        exportValue(pool, e[VALUE]);
      }
      reply(true, entries.map((e) => e[VALUE]));
    }
  };
  for (const e of entries) {
    whenSettled(e, (s) => {
      ready++;
      if (s[STATE] === 2 && numReturns === null) return reply(false, errorInfo(s[VALUE]));
      check();
    });
  }
  if (!done && timeout !== null) {
    timer = setTimeout(() => {
      if (numReturns !== null) reply(true, entries.map((e) => e[STATE] !== 0));
      else {reply(false, {
          name: "GetTimeoutError",
          message: `Get timed out after ${timeout} ms`,
          stack: "",
        });}
    }, timeout);
  }
}

function exportValue(pool: Pool, v: unknown): void {
  if (typeof v === "object" && v !== null) pool.exportNested(v);
}

function scanSafe(v: unknown, out: { bytes: number; refs: boolean }): void {
  try {
    scanValue(v, "arg", out);
  } catch { /* already sent once by the worker, so it is cloneable */ }
}
