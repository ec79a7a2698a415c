/**
 * Export of a {@linkcode Recording} as Chrome Trace Event JSON, the format that
 * {@link https://ui.perfetto.dev | Perfetto}, Chrome's DevTools Performance panel (and
 * `chrome://tracing` in Chromes that still have it) and speedscope open.
 *
 * A pure function from records to events (Ray's `ray.timeline` does the same): process 1 is the
 * driver, with one thread for the spans where it was blocked in `get`/`wait` and async "queued"
 * slices from `.remote()` until a worker started the task; process 2 holds one thread per worker
 * with a `ph: "X"` slice per task. Every task slice is named after its function and carries its id,
 * status, bytes, error and callsite in `args`. Times are microseconds on the driver's
 * `performance.now()` clock; the file form records `timeOrigin` to map them to epoch time.
 *
 * @example Export a recording
 * ```ts
 * import { toChromeTrace } from "./chrome_trace.ts";
 * import assert from "node:assert/strict";
 * const events = toChromeTrace({
 *   timeOrigin: 0, numCpus: 1, spans: [], dropped: 0,
 *   workers: [{ id: 0, kind: "pool", label: "worker 0", started: 0, ended: NaN }],
 *   tasks: [{
 *     id: 1, name: "f", kind: "task", worker: 0, submitted: 0, ready: 0, dispatched: 1,
 *     started: 2, finished: 12, argBytes: 0, resultBytes: 8, status: "ok", awaited: true, retries: 0,
 *   }],
 * });
 * const slice = events.find((e) => e.ph === "X" && e.name === "f");
 * assert.equal(slice?.dur, 10_000);
 * assert.equal(slice?.args?.taskId, 1);
 * ```
 *
 * @module
 */

import type { BlockedSpan, Recording, TaskRecord, WorkerRecord } from "./recorder.ts";

/** One event of the Chrome Trace Event format. */
export interface TraceEvent {
  /** Slice or metadata name: the task's function name, "get", "process_name", ... */
  name: string;
  /**
   * Event type: "X" complete slice, "M" metadata, "b"/"e" async slice begin/end, "i" instant,
   * "C" counter.
   */
  ph: "X" | "M" | "b" | "e" | "i" | "C";
  /** Timestamp in microseconds. */
  ts: number;
  /** Duration in microseconds ("X" only). */
  dur?: number;
  /** Process id: 1 for the driver, 2 for the workers. */
  pid: number;
  /** Thread id within the process: a worker's lane, or the driver's thread. */
  tid: number;
  /** Comma-separated categories. */
  cat?: string;
  /** Id pairing "b" with "e". */
  id?: string;
  /** Scope of an instant event: "t" thread, "p" process, "g" global. */
  s?: "t" | "p" | "g";
  /** Reserved colour name of the trace viewer. */
  cname?: string;
  /** Details shown when the slice is selected: task id, status, bytes, error, callsite... */
  args?: Record<string, unknown>;
}

/** The JSON Object Format of a trace file. */
export interface TraceFile {
  /** The events. */
  traceEvents: TraceEvent[];
  /** Unit in which viewers display times. */
  displayTimeUnit: "ms" | "ns";
  /** Free-form metadata shown by the viewers. */
  otherData: Record<string, unknown>;
}

/** Process id of the driver in the trace. */
export const DRIVER_PID = 1;
/** Process id of the workers in the trace. */
export const WORKERS_PID = 2;
/** Thread id of the driver's main thread: equal to its pid, so viewers show it as the main thread. */
export const DRIVER_TID = 1;

/**
 * Colour of each kind of slice, as reserved colour names of the trace viewer (catapult's
 * `ColorScheme`); Perfetto colours by name and ignores them. Keys are task kinds, task statuses
 * (which win over kinds), "get", "wait" and "queued".
 */
export const TRACE_COLOURS: Readonly<Record<string, string>> = {
  task: "thread_state_running",
  actor_call: "rail_response",
  actor_create: "rail_load",
  get: "thread_state_iowait",
  wait: "thread_state_sleeping",
  queued: "thread_state_runnable",
  running: "yellow",
  error: "terrible",
  crashed: "bad",
  cancelled: "grey",
  startup: "startup",
};
/** Colour of a slice whose kind is not in {@linkcode TRACE_COLOURS}. */
export const FALLBACK_COLOUR = "generic_work";

/**
 * Returns the colour of a slice kind, falling back to {@linkcode FALLBACK_COLOUR}.
 *
 * @param key Task kind, task status, "get", "wait", "queued" or "startup".
 * @returns A reserved colour name.
 */
export function traceColour(key: string): string {
  return Object.hasOwn(TRACE_COLOURS, key) ? TRACE_COLOURS[key] : FALLBACK_COLOUR;
}

/**
 * Converts a recording to Chrome trace events.
 *
 * Tasks that have started but not finished (still running, or cut off by a crash) end at the
 * latest time in the recording. A worker that became ready after the first submission recorded
 * shows its start-up (spawned to ready) as a slice of category "worker" before its first task. Tasks that never started show only as queued. Task slices that
 * overlap on one worker (async tasks) go to extra lanes of that worker, so every thread's slices
 * nest properly as the format requires.
 *
 * @param rec A recording snapshot.
 * @returns Events: metadata first, then slices sorted by time.
 */
export function toChromeTrace(rec: Recording): TraceEvent[] {
  const end = latestTime(rec);
  const meta: TraceEvent[] = [];
  const events: TraceEvent[] = [];
  const name = (pid: number, value: string, sort: number): void => {
    meta.push({ name: "process_name", ph: "M", ts: 0, pid, tid: 0, args: { name: value } });
    meta.push({
      name: "process_sort_index",
      ph: "M",
      ts: 0,
      pid,
      tid: 0,
      args: { sort_index: sort },
    });
  };
  const thread = (pid: number, tid: number, value: string, sort: number): void => {
    meta.push({ name: "thread_name", ph: "M", ts: 0, pid, tid, args: { name: value } });
    meta.push({ name: "thread_sort_index", ph: "M", ts: 0, pid, tid, args: { sort_index: sort } });
  };
  name(DRIVER_PID, "driver", 0);
  thread(DRIVER_PID, DRIVER_TID, "driver", 0);
  // On a cluster each node is a process of its own (pids from 3, by node name); local workers
  // are all in WORKERS_PID.
  const nodePids = new Map<string, number>();
  const nodeSlots = new Map<string, number>();
  for (const w of rec.workers) {
    if (w.node !== undefined) nodeSlots.set(w.node, (nodeSlots.get(w.node) ?? 0) + 1);
  }
  for (const [i, n] of [...nodeSlots.keys()].sort().entries()) {
    nodePids.set(n, WORKERS_PID + 1 + i);
    name(WORKERS_PID + 1 + i, `node ${n} (${nodeSlots.get(n)} workers)`, 2 + i);
  }
  if (nodePids.size === 0 || rec.workers.some((w) => w.node === undefined)) {
    name(WORKERS_PID, `workers (${rec.numCpus} slots)`, 1);
  }

  // Workers appear in id order; tasks naming a worker missing from `workers` (its record was
  // dropped) still get a track.
  const workers = new Map<number, WorkerRecord>();
  for (const w of rec.workers) workers.set(w.id, w);
  for (const t of rec.tasks) {
    if (t.worker >= 0 && !workers.has(t.worker) && Number.isFinite(t.started)) {
      workers.set(t.worker, {
        id: t.worker,
        kind: t.kind === "task" ? "pool" : "actor",
        label: `worker ${t.worker}`,
        started: NaN,
        ended: NaN,
      });
    }
  }
  const pidOf = (worker: number): number => {
    const n = workers.get(worker)?.node;
    return n === undefined ? WORKERS_PID : nodePids.get(n)!;
  };
  const lanes = layOutLanes(rec.tasks, end);
  const workerIds = [...workers.keys()].sort((a, b) => a - b);
  // Thread ids: lane 0 of worker w is tid w + 1; extra lanes come after all workers.
  let nextTid = (workerIds.at(-1) ?? 0) + 2;
  const tidOf = new Map<string, number>();
  for (const [i, id] of workerIds.entries()) {
    const w = workers.get(id)!;
    const count = lanes.get(id)?.length ?? 1;
    for (let lane = 0; lane < count; lane++) {
      const tid = lane === 0 ? id + 1 : nextTid++;
      tidOf.set(`${id}:${lane}`, tid);
      thread(
        pidOf(id),
        tid,
        lane === 0 ? w.label : `${w.label} (lane ${lane + 1})`,
        i * 1000 + lane,
      );
    }
    if (w.exit && Number.isFinite(w.ended)) {
      events.push({
        name: `worker exited: ${w.exit}`,
        ph: "i",
        s: "t",
        ts: us(w.ended),
        pid: pidOf(id),
        tid: id + 1,
        cat: "worker",
        cname: traceColour("crashed"),
        args: { worker: id, exit: w.exit },
      });
    }
  }

  // Each worker's start-up (spawned to ready: its runtime and modules loading), on its own track
  // before its first task, when it ended after the first submission recorded: it explains why
  // the first tasks waited. Cut at its first task, which a worker clock may place a little early.
  for (const { worker: id, started, ready } of workerStartups(rec)) {
    const first = lanes.get(id)?.[0]?.[0]?.start ?? Infinity;
    const ts = us(started);
    const dur = us(Math.min(ready, first)) - ts;
    if (dur <= 0) continue;
    events.push({
      name: "worker start-up",
      ph: "X",
      ts,
      dur,
      pid: pidOf(id),
      tid: id + 1,
      cat: "worker",
      cname: traceColour("startup"),
      args: { worker: id, startupMs: ms3(ready - started) },
    });
  }

  const slices = new Map<number, { ts: number; end: number; tid: number }>();
  for (const [workerId, workerLanes] of lanes) {
    for (const [lane, tasks] of workerLanes.entries()) {
      const tid = tidOf.get(`${workerId}:${lane}`)!;
      for (const { task: t, start, stop } of tasks) {
        const ts = us(start);
        const dur = Math.max(0, us(stop) - ts);
        slices.set(t.id, { ts, end: ts + dur, tid });
        events.push({
          name: t.name,
          ph: "X",
          ts,
          dur,
          pid: pidOf(workerId),
          tid,
          cat: t.kind,
          cname: traceColour(t.status === "ok" ? t.kind : t.status),
          args: taskArgs(t),
        });
      }
    }
  }

  for (const t of rec.tasks) {
    if (!Number.isFinite(t.submitted)) continue;
    const until = Number.isFinite(t.started)
      ? t.started
      : Number.isFinite(t.finished)
      ? t.finished
      : end;
    if (!(until >= t.submitted)) continue;
    const args = { taskId: t.id, ...queueArgs(t) };
    // A hex string: Perfetto hashes async ids but parses flow ids as hex, so this suits both.
    const id = `0x${t.id.toString(16)}`;
    const common = { cat: "queued", id, pid: DRIVER_PID, tid: DRIVER_TID };
    events.push({
      name: `queued ${t.name}`,
      ph: "b",
      ts: us(t.submitted),
      ...common,
      cname: traceColour("queued"),
      args,
    });
    events.push({ name: `queued ${t.name}`, ph: "e", ts: us(until), ...common });
  }

  // A counter of the tasks waiting for a slot (ready, not yet dispatched): one track that shows
  // at a glance when more tasks were queued than the pool has slots.
  const changes: [number, number][] = [];
  for (const t of rec.tasks) {
    if (!Number.isFinite(t.ready)) continue;
    const out = Number.isFinite(t.dispatched) ? t.dispatched : t.status === "pending" ? end : NaN;
    if (out > t.ready) changes.push([us(t.ready), 1], [us(out), -1]);
  }
  changes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let queued = 0;
  for (let i = 0; i < changes.length; i++) {
    queued += changes[i][1];
    // One sample per instant, after all its changes.
    if (i + 1 < changes.length && changes[i + 1][0] === changes[i][0]) continue;
    events.push({
      name: "tasks queued",
      ph: "C",
      ts: changes[i][0],
      pid: DRIVER_PID,
      tid: DRIVER_TID,
      args: { queued },
    });
  }

  const byId = new Map<number, TaskRecord>();
  for (const t of rec.tasks) byId.set(t.id, t);
  const byWorker = new Map<number, TaskRecord[]>();
  for (const t of rec.tasks) {
    if (t.worker < 0) continue;
    let list = byWorker.get(t.worker);
    if (!list) byWorker.set(t.worker, list = []);
    list.push(t);
  }
  for (const span of rec.spans) {
    if (!Number.isFinite(span.start)) continue;
    let ts = us(span.start);
    let stop = us(Number.isFinite(span.end) ? span.end : end);
    let tid = DRIVER_TID;
    let pid = DRIVER_PID;
    if (span.worker !== undefined) {
      // A task blocked inside a worker: clamp into the slice of the task it ran in, because worker
      // times are mapped onto the driver clock and may stick out by a few microseconds.
      const own = span.task !== undefined ? slices.get(span.task) : undefined;
      const host = own ?? hostSlice(span, byWorker.get(span.worker) ?? [], slices);
      if (host) {
        ts = Math.min(Math.max(ts, host.ts), host.end);
        stop = Math.min(Math.max(stop, ts), host.end);
        tid = host.tid;
      } else tid = span.worker + 1;
      pid = pidOf(span.worker);
    }
    events.push({
      name: span.kind,
      ph: "X",
      ts,
      dur: Math.max(0, stop - ts),
      pid,
      tid,
      cat: `blocked,${span.kind}`,
      cname: traceColour(span.kind),
      args: spanArgs(span, byId),
    });
  }

  events.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  return [...meta, ...events];
}

/**
 * Wraps events in the JSON Object Format that trace files use.
 *
 * @param rec The recording the events came from (for its metadata).
 * @param events Events from {@linkcode toChromeTrace}; computed from `rec` when omitted.
 * @returns The object to serialise.
 */
export function toTraceFile(rec: Recording, events: TraceEvent[] = toChromeTrace(rec)): TraceFile {
  return {
    traceEvents: events,
    displayTimeUnit: "ms",
    otherData: {
      producer: "rayprof",
      clock: "driver performance.now(), microseconds",
      timeOrigin: rec.timeOrigin,
      numCpus: rec.numCpus,
      tasks: rec.tasks.length,
      droppedTasks: rec.dropped,
      ...(rec.clock ? { clusterClock: rec.clock } : {}),
    },
  };
}

/** Latest finite time in a recording, in ms; where unfinished work is cut off. */
export function latestTime(rec: Recording): number {
  let end = -Infinity;
  const see = (v: number) => {
    if (Number.isFinite(v) && v > end) end = v;
  };
  for (const t of rec.tasks) {
    see(t.submitted);
    see(t.ready);
    see(t.dispatched);
    see(t.started);
    see(t.finished);
  }
  for (const s of rec.spans) {
    see(s.start);
    see(s.end);
  }
  for (const w of rec.workers) {
    see(w.started);
    see(w.ended);
  }
  return Number.isFinite(end) ? end : 0;
}

/** A worker's start-up, spawned to ready, in ms on the driver's clock. */
export interface WorkerStartup {
  worker: number;
  started: number;
  ready: number;
}

/**
 * The workers still starting (spawned, not yet ready) at the first submission recorded, with their
 * start-up: what the first tasks may have waited for. Workers ready before it are left out, and
 * so is everything when no task was recorded. Shared by the trace, `--gantt`, the HTML report and
 * the diagnostics, so that all show the same workers.
 */
export function workerStartups(rec: Recording): WorkerStartup[] {
  let first = Infinity;
  for (const t of rec.tasks) if (t.submitted < first) first = t.submitted;
  const out: WorkerStartup[] = [];
  for (const w of rec.workers) {
    const ready = w.ready ?? NaN;
    if (ready > w.started && ready >= first) out.push({ worker: w.id, started: w.started, ready });
  }
  return out;
}

/** A task placed on a worker lane, with the times it is drawn with. */
export interface PlacedTask {
  task: TaskRecord;
  /** Start in ms (the task's `started`, nudged past a sub-overlap with the previous task). */
  start: number;
  /** End in ms (`finished`, or the end of the recording while running). */
  stop: number;
}

/**
 * Places each started task on a lane of its worker such that slices on one lane never overlap.
 * Overlaps of less than 0.1 ms come from mapping worker clocks and are trimmed, not laned.
 *
 * @param tasks Task records.
 * @param end Where unfinished tasks end, in ms.
 * @returns Lanes per worker id, each a list of placed tasks sorted by start.
 */
export function layOutLanes(tasks: TaskRecord[], end: number): Map<number, PlacedTask[][]> {
  const byWorker = new Map<number, PlacedTask[]>();
  for (const t of tasks) {
    if (t.worker < 0 || !Number.isFinite(t.started)) continue;
    const stop = Number.isFinite(t.finished)
      ? Math.max(t.finished, t.started)
      : Math.max(end, t.started);
    let list = byWorker.get(t.worker);
    if (!list) byWorker.set(t.worker, list = []);
    list.push({ task: t, start: t.started, stop });
  }
  const out = new Map<number, PlacedTask[][]>();
  for (const [worker, list] of byWorker) {
    list.sort((a, b) => a.start - b.start || a.task.id - b.task.id);
    const lanes: PlacedTask[][] = [];
    for (const p of list) {
      let placed = false;
      for (const lane of lanes) {
        const last = lane[lane.length - 1];
        if (last.stop <= p.start) {
          lane.push(p);
          placed = true;
        } else if (last.stop - p.start < 0.1 && p.stop >= last.stop) {
          lane.push({ ...p, start: last.stop });
          placed = true;
        }
        if (placed) break;
      }
      if (!placed) lanes.push([p]);
    }
    out.set(worker, lanes);
  }
  return out;
}

function us(ms: number): number {
  return Math.round(ms * 1000 * 1000) / 1000;
}

function ms3(v: number): number | undefined {
  return Number.isFinite(v) ? Math.round(v * 1000) / 1000 : undefined;
}

function queueArgs(t: TaskRecord): Record<string, unknown> {
  return dropUndefined({
    argsWaitMs: ms3(t.ready - t.submitted),
    queueWaitMs: ms3(t.dispatched - t.ready),
    dispatchMs: ms3(t.started - t.dispatched),
  });
}

function taskArgs(t: TaskRecord): Record<string, unknown> {
  return dropUndefined({
    taskId: t.id,
    kind: t.kind,
    status: t.status,
    worker: t.worker,
    actor: t.actor,
    argBytes: t.argBytes,
    resultBytes: t.resultBytes,
    error: t.error,
    callsite: t.callsite,
    parent: t.parent,
    awaited: t.awaited,
    retries: t.retries,
    runMs: ms3(t.finished - t.started),
    ...queueArgs(t),
  });
}

function spanArgs(span: BlockedSpan, byId: Map<number, TaskRecord>): Record<string, unknown> {
  const names = new Map<string, number>();
  for (const id of span.taskIds) {
    const t = byId.get(id);
    if (t) names.set(t.name, (names.get(t.name) ?? 0) + 1);
  }
  return dropUndefined({
    taskIds: span.taskIds,
    tasks: [...names].map(([n, c]) => (c > 1 ? `${n} ×${c}` : n)).join(", ") || undefined,
    callsite: span.callsite,
    worker: span.worker,
    blockedMs: ms3(span.end - span.start),
  });
}

function hostSlice(
  span: BlockedSpan,
  tasks: TaskRecord[], // the tasks of span.worker
  slices: Map<number, { ts: number; end: number; tid: number }>,
): { ts: number; end: number; tid: number } | undefined {
  let best: { ts: number; end: number; tid: number } | undefined;
  let bestOverlap = 0;
  const a = us(span.start), b = us(Number.isFinite(span.end) ? span.end : span.start);
  for (const t of tasks) {
    if (t.worker !== span.worker) continue;
    const s = slices.get(t.id);
    if (!s) continue;
    const overlap = Math.min(b, s.end) - Math.max(a, s.ts);
    if (overlap >= bestOverlap && a <= s.end && b >= s.ts) {
      best = s;
      bestOverlap = overlap;
    }
  }
  return best;
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  // Copies instead of deleting keys, which would turn the object into a slow dictionary.
  const out: Record<string, unknown> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
