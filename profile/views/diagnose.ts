/**
 * Parallelism diagnostics of a recorded run: how much of the pool the work used, where it waited,
 * and the anti-patterns that cost parallelism, each named at the user's source line.
 *
 * {@linkcode diagnose} turns a {@linkcode Recording} into plain data (for the REPL and the HTML
 * report); {@linkcode formatDiagnosis} renders it as text for the CLI.
 *
 * @example Diagnose a recording
 * ```ts ignore
 * import { diagnose, formatDiagnosis } from "./diagnose.ts";
 * import { recording } from "../../runtime/mod.ts";
 * console.log(formatDiagnosis(diagnose(recording())));
 * ```
 *
 * @module
 */

import type { BlockedSpan, Recording, TaskRecord } from "../../runtime/recorder.ts";
import { workerStartups } from "../../runtime/chrome_trace.ts";
import {
  formatBytes,
  formatDuration,
  median,
  parseCallsite,
  recordingWindow,
  showLocation,
  type SourceLocation,
} from "./_tasks.ts";

export type { SourceLocation } from "./_tasks.ts";

/** Kinds of finding. */
export type FindingCode =
  | "get-in-loop"
  | "never-awaited"
  | "tiny-tasks"
  | "queue-backlog"
  | "failed-tasks"
  | "dropped-records";

/** One diagnosis: what happened, where, and what to do instead. */
export interface Finding {
  code: FindingCode;
  severity: "error" | "warning" | "info";
  /** Where in the user's code, when callsites were captured. */
  location?: SourceLocation;
  /** A related location (e.g. the `.remote()` of a `get-in-loop`, whose location is the `get`). */
  related?: SourceLocation;
  /** Function name the finding is about, when there is one. */
  name?: string;
  /** One line: what happened, with figures. */
  message: string;
  /** One line: what to do instead. */
  advice: string;
  /** Tasks concerned (at most 100). */
  taskIds: number[];
}

/** Use of one worker over the run. */
export interface WorkerUsage {
  id: number;
  label: string;
  kind: "pool" | "actor";
  tasks: number;
  /** Time spent running tasks, in ms. */
  busyMs: number;
  /** `busyMs` over the wall time, 0..1. */
  utilization: number;
  /** On a cluster: the node it ran on. */
  node?: string;
}

/**
 * One node of a cluster: how much of its slots the work used, and where its tasks' time went
 * between `.remote()` and the result.
 */
export interface NodeUsage {
  /** The node's name (`cli.ts node --name`). */
  name: string;
  /** "deno 2.9.6", "bun 1.4.5" (empty when the recording does not say). */
  runtime: string;
  /** Slots it offered (or, when the recording does not say, its workers that ran tasks). */
  slots: number;
  tasks: number;
  /** Time its workers spent running tasks, in ms. */
  busyMs: number;
  /** `busyMs` over its slots times the wall time, 0..1. */
  utilization: number;
  /** Mean time from ready (arguments resolved) to taken off the queue by this node, in ms. */
  meanQueueMs: number;
  /** Mean time from taken by the node to started in one of its workers, in ms. */
  meanStartMs: number;
  /** Mean run time, in ms. */
  meanRunMs: number;
}

/** Figures of the tasks of one function (grouped by name and `.remote()` callsite). */
export interface FunctionUsage {
  name: string;
  location?: SourceLocation;
  count: number;
  failed: number;
  totalMs: number;
  meanMs: number;
  medianMs: number;
  maxMs: number;
  /** Mean time from entering the queue to being dispatched, in ms. */
  meanQueueMs: number;
}

/** Everything {@linkcode diagnose} finds, as plain data. */
export interface Diagnosis {
  /** From the first `.remote()` or blocked span to the last result, in ms. */
  wallMs: number;
  /** Sum of the run times of the tasks, in ms. */
  taskMs: number;
  /** `taskMs / wallMs`: how many tasks ran at once on average. */
  parallelism: number;
  /** Slots of the pool. */
  slots: number;
  tasks: { total: number; finished: number; failed: number; unfinished: number; dropped: number };
  workers: WorkerUsage[];
  /** On a cluster: one entry per node that ran tasks or was seen (empty on one machine). */
  nodes: NodeUsage[];
  queue: {
    /** Mean and max time from ready to dispatched, in ms. */
    meanWaitMs: number;
    maxWaitMs: number;
    totalWaitMs: number;
    /** Most tasks waiting for a slot at one time. */
    peakQueued: number;
    /** Bytes of the arguments of the tasks queued at that time. */
    peakQueuedBytes: number;
  };
  /** Time the driver was blocked in `get`/`wait`, in ms, and how many calls. */
  blocked: { getMs: number; waitMs: number; gets: number; waits: number };
  /**
   * Workers that were still starting (spawned, not yet ready) after the first submission, and the
   * shortest and longest of their start-ups in ms: time the first tasks may have waited for them.
   */
  startup: { workers: number; minMs: number; maxMs: number };
  functions: FunctionUsage[];
  /** Most severe first. */
  findings: Finding[];
}

/** Options for {@linkcode diagnose}. */
export interface DiagnoseOptions {
  /**
   * Tasks with a median run time below this many ms are "tiny".
   * @default {10}
   */
  tinyMs?: number;
  /**
   * Fewest tasks of one function before tiny tasks are worth a finding.
   * @default {10}
   */
  tinyMinCount?: number;
  /**
   * Fewest consecutive get-after-remote rounds before they count as a serialising loop.
   * @default {3}
   */
  loopMinRounds?: number;
  /**
   * A backlog is flagged when more than this many tasks per slot (and more than 16) wait at once.
   * @default {4}
   */
  backlogPerSlot?: number;
  /**
   * The run is over: tasks still pending or running were never awaited either. Set to `false` for
   * a snapshot of a live session, where they may still be.
   * @default {true}
   */
  complete?: boolean;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

/**
 * Computes the parallelism diagnostics of a recording.
 *
 * @param rec A recording snapshot.
 * @param options Thresholds.
 * @returns The figures and the findings.
 *
 * @example ex2 of the document: no finding
 * ```ts
 * import { diagnose } from "./diagnose.ts";
 * import assert from "node:assert/strict";
 * const t = (id: number) => ({
 *   id, name: "func", kind: "task" as const, worker: id - 1, submitted: 0, ready: 0, dispatched: 0,
 *   started: 0, finished: 500, argBytes: 0, resultBytes: 0, status: "ok" as const, awaited: true, retries: 0,
 * });
 * const d = diagnose({
 *   timeOrigin: 0, numCpus: 5, workers: [], dropped: 0, tasks: [1, 2, 3, 4, 5].map(t),
 *   spans: [{ kind: "get", start: 0, end: 500, taskIds: [1, 2, 3, 4, 5] }],
 * });
 * assert.equal(d.parallelism, 5);
 * assert.deepEqual(d.findings, []);
 * ```
 */
export function diagnose(rec: Recording, options: DiagnoseOptions = {}): Diagnosis {
  const tinyMs = options.tinyMs ?? 10;
  const tinyMinCount = options.tinyMinCount ?? 10;
  const loopMinRounds = options.loopMinRounds ?? 3;
  const backlogPerSlot = options.backlogPerSlot ?? 4;
  const complete = options.complete ?? true;

  const window = recordingWindow(rec);
  const wallMs = window.end - window.start;
  const byId = new Map<number, TaskRecord>();
  for (const t of rec.tasks) byId.set(t.id, t);
  const ran = (t: TaskRecord) => Number.isFinite(t.started) && Number.isFinite(t.finished);
  const runMs = (t: TaskRecord) => (ran(t) ? Math.max(0, t.finished - t.started) : 0);

  let taskMs = 0;
  let finished = 0, failed = 0, unfinished = 0;
  for (const t of rec.tasks) {
    taskMs += runMs(t);
    if (t.status === "pending" || t.status === "running") unfinished++;
    else finished++;
    if (t.status === "error" || t.status === "crashed") failed++;
  }

  const workerMap = new Map<number, WorkerUsage>();
  for (const w of rec.workers) {
    workerMap.set(w.id, {
      id: w.id,
      label: w.label,
      kind: w.kind,
      tasks: 0,
      busyMs: 0,
      utilization: 0,
      ...(w.node !== undefined ? { node: w.node } : {}),
    });
  }
  for (const t of rec.tasks) {
    if (t.worker < 0 || !Number.isFinite(t.started)) continue;
    let w = workerMap.get(t.worker);
    if (!w) {
      w = {
        id: t.worker,
        label: `worker ${t.worker}`,
        kind: t.kind === "task" ? "pool" : "actor",
        tasks: 0,
        busyMs: 0,
        utilization: 0,
      };
      workerMap.set(t.worker, w);
    }
    w.tasks++;
    w.busyMs += runMs(t);
  }
  const workers = [...workerMap.values()].sort((a, b) => a.id - b.id);
  for (const w of workers) w.utilization = wallMs > 0 ? Math.min(1, w.busyMs / wallMs) : 0;

  const nodes = nodeFigures(rec, workers, wallMs);
  const queue = queueFigures(rec.tasks);
  const startup = startupFigures(rec);

  const blocked = { getMs: 0, waitMs: 0, gets: 0, waits: 0 };
  for (const s of rec.spans) {
    if (s.worker !== undefined || !Number.isFinite(s.end)) continue;
    if (s.kind === "get") {
      blocked.gets++;
      blocked.getMs += s.end - s.start;
    } else {
      blocked.waits++;
      blocked.waitMs += s.end - s.start;
    }
  }

  const groups = groupTasks(rec.tasks);
  const functions: FunctionUsage[] = [];
  for (const g of groups.values()) {
    const runs = g.tasks.filter(ran).map(runMs);
    const waits = g.tasks
      .filter((t) => Number.isFinite(t.dispatched) && Number.isFinite(t.ready))
      .map((t) => t.dispatched - t.ready);
    const total = runs.reduce((a, b) => a + b, 0);
    functions.push({
      name: g.name,
      location: g.location,
      count: g.tasks.length,
      failed: g.tasks.filter((t) => t.status === "error" || t.status === "crashed").length,
      totalMs: total,
      meanMs: runs.length ? total / runs.length : NaN,
      medianMs: median(runs),
      maxMs: runs.length ? Math.max(...runs) : NaN,
      meanQueueMs: waits.length ? waits.reduce((a, b) => a + b, 0) / waits.length : NaN,
    });
  }
  functions.sort((a, b) => b.totalMs - a.totalMs || a.name.localeCompare(b.name));

  const slots = rec.numCpus;
  const findings: Finding[] = [
    ...findGetInLoop(rec, byId, slots, loopMinRounds),
    ...findNeverAwaited(groups, complete),
    ...findTinyTasks(groups, tinyMs, tinyMinCount),
    ...findBacklog(queue, slots, backlogPerSlot, groups),
    ...findFailures(groups),
  ];
  if (rec.dropped > 0) {
    findings.push({
      code: "dropped-records",
      severity: "info",
      message:
        `${rec.dropped} task records were dropped because the recording ring was full: figures cover the last ${rec.tasks.length} tasks only`,
      advice: "Raise init({ recording: { capacity } }) to keep them all",
      taskIds: [],
    });
  }
  findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);

  return {
    wallMs,
    taskMs,
    parallelism: wallMs > 0 ? taskMs / wallMs : 0,
    slots,
    tasks: { total: rec.tasks.length, finished, failed, unfinished, dropped: rec.dropped },
    workers,
    nodes,
    queue,
    blocked,
    startup,
    functions,
    findings,
  };
}

function nodeFigures(rec: Recording, workers: WorkerUsage[], wallMs: number): NodeUsage[] {
  const nodeOf = new Map<number, string>();
  for (const w of workers) if (w.node !== undefined) nodeOf.set(w.id, w.node);
  const names = new Set([...nodeOf.values(), ...Object.keys(rec.nodes ?? {})]);
  if (names.size === 0) return [];
  const acc = new Map<string, { u: NodeUsage; queue: number[]; start: number[]; run: number[] }>();
  for (const name of [...names].sort()) {
    const info = rec.nodes?.[name];
    const seen = workers.filter((w) => w.node === name && w.kind === "pool").length;
    acc.set(name, {
      u: {
        name,
        runtime: info?.runtime ?? "",
        slots: info?.slots ?? seen,
        tasks: 0,
        busyMs: 0,
        utilization: 0,
        meanQueueMs: NaN,
        meanStartMs: NaN,
        meanRunMs: NaN,
      },
      queue: [],
      start: [],
      run: [],
    });
  }
  for (const t of rec.tasks) {
    const a = acc.get(nodeOf.get(t.worker) ?? "");
    if (!a) continue;
    if (Number.isFinite(t.dispatched) && Number.isFinite(t.ready)) {
      a.queue.push(Math.max(0, t.dispatched - t.ready));
    }
    if (Number.isFinite(t.started) && Number.isFinite(t.dispatched)) {
      a.start.push(Math.max(0, t.started - t.dispatched));
    }
    if (Number.isFinite(t.started) && Number.isFinite(t.finished)) {
      const ms = Math.max(0, t.finished - t.started);
      a.run.push(ms);
      a.u.tasks++;
      a.u.busyMs += ms;
    }
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : NaN);
  return [...acc.values()].map(({ u, queue, start, run }) => {
    u.utilization = wallMs > 0 && u.slots > 0 ? Math.min(1, u.busyMs / (wallMs * u.slots)) : 0;
    u.meanQueueMs = mean(queue);
    u.meanStartMs = mean(start);
    u.meanRunMs = mean(run);
    return u;
  });
}

function startupFigures(rec: Recording): Diagnosis["startup"] {
  const ms = workerStartups(rec).map((s) => s.ready - s.started);
  return {
    workers: ms.length,
    minMs: ms.length ? Math.min(...ms) : NaN,
    maxMs: ms.length ? Math.max(...ms) : NaN,
  };
}

interface TaskGroup {
  name: string;
  location?: SourceLocation;
  tasks: TaskRecord[];
}

function groupTasks(tasks: TaskRecord[]): Map<string, TaskGroup> {
  const groups = new Map<string, TaskGroup>();
  for (const t of tasks) {
    const loc = parseCallsite(t.callsite);
    const key = `${t.name}\0${loc ? `${loc.url}:${loc.line}` : ""}`;
    let g = groups.get(key);
    if (!g) groups.set(key, g = { name: t.name, location: loc, tasks: [] });
    g.tasks.push(t);
  }
  return groups;
}

function queueFigures(tasks: TaskRecord[]): Diagnosis["queue"] {
  const points: { at: number; delta: number; bytes: number }[] = [];
  let total = 0, max = 0, n = 0;
  for (const t of tasks) {
    if (!Number.isFinite(t.ready)) continue;
    const out = Number.isFinite(t.dispatched) ? t.dispatched : NaN;
    if (Number.isFinite(out)) {
      const w = Math.max(0, out - t.ready);
      total += w;
      max = Math.max(max, w);
      n++;
      if (w > 0) {
        points.push({ at: t.ready, delta: 1, bytes: t.argBytes });
        points.push({ at: out, delta: -1, bytes: -t.argBytes });
      }
    } else if (t.status === "pending") {
      points.push({ at: t.ready, delta: 1, bytes: t.argBytes });
    }
  }
  // Leaving before entering at the same instant, so back-to-back tasks do not count twice.
  points.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let queued = 0, bytes = 0, peak = 0, peakBytes = 0;
  for (const p of points) {
    queued += p.delta;
    bytes += p.bytes;
    if (queued > peak) {
      peak = queued;
      peakBytes = bytes;
    }
  }
  return {
    meanWaitMs: n ? total / n : 0,
    maxWaitMs: max,
    totalWaitMs: total,
    peakQueued: peak,
    peakQueuedBytes: peakBytes,
  };
}

/**
 * ex1: `get(f.remote())` in a loop. Per blocking callsite, a round is a span that waits only on
 * tasks submitted since the previous span of that callsite ended, fewer than the slots; a run of
 * `minRounds` such rounds serialised work that could have run side by side.
 */
function findGetInLoop(
  rec: Recording,
  byId: Map<number, TaskRecord>,
  slots: number,
  minRounds: number,
): Finding[] {
  if (slots < 2) return [];
  const bySite = new Map<string, BlockedSpan[]>();
  for (const s of rec.spans) {
    if (!Number.isFinite(s.end) || s.taskIds.length === 0) continue;
    const names = s.taskIds.map((id) => byId.get(id)?.name ?? "?").join(",");
    const key = `${s.worker ?? "driver"}\0${s.kind}\0${s.callsite ?? names}`;
    let list = bySite.get(key);
    if (!list) bySite.set(key, list = []);
    list.push(s);
  }
  const findings: Finding[] = [];
  for (const spans of bySite.values()) {
    spans.sort((a, b) => a.start - b.start);
    let run: { span: BlockedSpan; tasks: TaskRecord[] }[] = [];
    const flush = () => {
      if (run.length >= minRounds) findings.push(loopFinding(run, slots));
      run = [];
    };
    let prevEnd = -Infinity;
    for (const span of spans) {
      const tasks = span.taskIds.map((id) => byId.get(id)).filter((t) => t !== undefined);
      const fresh = tasks.length === span.taskIds.length &&
        tasks.every((t) => t.submitted >= prevEnd && t.submitted <= span.start) &&
        tasks.length < slots;
      if (fresh) run.push({ span, tasks });
      else {
        flush();
      }
      prevEnd = span.end;
    }
    flush();
  }
  return findings;
}

function loopFinding(run: { span: BlockedSpan; tasks: TaskRecord[] }[], slots: number): Finding {
  const tasks = run.flatMap((r) => r.tasks);
  const names = [...new Set(tasks.map((t) => t.name))];
  const first = run[0].span, last = run[run.length - 1].span;
  const elapsed = last.end - Math.min(first.start, ...tasks.map((t) => t.submitted));
  const work = tasks.reduce(
    (a, t) => a + (Number.isFinite(t.finished - t.started) ? t.finished - t.started : 0),
    0,
  );
  const perRound = tasks.length / run.length;
  const mean = work / tasks.length;
  const ideal = Math.ceil(tasks.length / slots) * mean;
  const kind = first.kind;
  const remoteSite = mostCommon(tasks.map((t) => t.callsite));
  const what = names.map((n) => `\`${n}\``).join(", ");
  return {
    code: "get-in-loop",
    severity: "warning",
    location: parseCallsite(first.callsite) ?? parseCallsite(remoteSite),
    related: sameLine(first.callsite, remoteSite) ? undefined : parseCallsite(remoteSite),
    name: names.join(", "),
    message: `${kind}() right after .remote() in a loop: ${tasks.length} ${what} tasks ran ${
      perRound === 1 ? "one at a time" : `${perRound.toFixed(perRound % 1 ? 1 : 0)} at a time`
    } (${formatDuration(elapsed)}, parallelism ${(work / elapsed).toFixed(1)} of ${slots} slots)`,
    advice:
      `Submit them all, then ${kind} once: refs.push(f.remote()) in the loop, ${kind}(refs) after it` +
      (ideal < elapsed * 0.9
        ? ` (≈${formatDuration(ideal)} instead of ${formatDuration(elapsed)})`
        : ""),
    taskIds: tasks.slice(0, 100).map((t) => t.id),
  };
}

function findNeverAwaited(groups: Map<string, TaskGroup>, complete: boolean): Finding[] {
  const findings: Finding[] = [];
  for (const g of groups.values()) {
    const lost = g.tasks.filter((t) =>
      !t.awaited && t.kind !== "actor_create" &&
      (complete || (t.status !== "pending" && t.status !== "running"))
    );
    if (lost.length === 0) continue;
    const errors = lost.filter((t) => t.status === "error" || t.status === "crashed").length;
    const unfinished = lost.filter((t) => t.status === "pending" || t.status === "running").length;
    const tail = [
      errors ? `${errors} failed unseen` : "",
      unfinished ? `${unfinished} had not finished when the run ended` : "",
    ].filter(Boolean).join("; ");
    findings.push({
      code: "never-awaited",
      severity: "warning",
      location: g.location,
      name: g.name,
      message:
        `${lost.length} \`${g.name}\` task${lost.length > 1 ? "s were" : " was"} never awaited: ` +
        `no get/wait asked for the result, so results and errors are lost${
          tail ? ` (${tail})` : ""
        }`,
      advice: "get() or wait() on these refs if the work matters; otherwise do not submit it",
      taskIds: lost.slice(0, 100).map((t) => t.id),
    });
  }
  return findings;
}

function findTinyTasks(
  groups: Map<string, TaskGroup>,
  tinyMs: number,
  minCount: number,
): Finding[] {
  const findings: Finding[] = [];
  for (const g of groups.values()) {
    const done = g.tasks.filter((t) => Number.isFinite(t.started) && Number.isFinite(t.finished));
    if (done.length < minCount) continue;
    const run = median(done.map((t) => t.finished - t.started));
    if (!(run < tinyMs)) continue;
    const overhead = median(
      done.filter((t) => Number.isFinite(t.dispatched)).map((t) => t.started - t.dispatched),
    );
    const span = Math.max(...done.map((t) => t.finished)) -
      Math.min(...done.map((t) => t.submitted));
    const rate = span > 0 ? (done.length / span) * 1000 : NaN;
    findings.push({
      code: "tiny-tasks",
      severity: "warning",
      location: g.location,
      name: g.name,
      message: `${done.length} \`${g.name}\` tasks ran ${formatDuration(run)} each (median)` +
        (Number.isFinite(overhead)
          ? `, against ${formatDuration(overhead)} to dispatch each`
          : "") +
        (Number.isFinite(rate) ? ` (${Math.round(rate)} tasks/s)` : "") +
        `: below ≈${tinyMs} ms per task, scheduling overhead dominates`,
      advice:
        `Batch the work so that each task runs ≥ ${tinyMs} ms (e.g. one task per chunk of items)`,
      taskIds: done.slice(0, 100).map((t) => t.id),
    });
  }
  return findings;
}

function findBacklog(
  queue: Diagnosis["queue"],
  slots: number,
  perSlot: number,
  groups: Map<string, TaskGroup>,
): Finding[] {
  if (slots < 1 || queue.peakQueued <= Math.max(16, perSlot * slots)) return [];
  // Named at the function that spent the most time queued: the likeliest submitting loop.
  let worst: TaskGroup | undefined, worstWait = -1;
  for (const g of groups.values()) {
    let w = 0;
    for (const t of g.tasks) {
      if (Number.isFinite(t.dispatched - t.ready)) w += t.dispatched - t.ready;
    }
    if (w > worstWait) {
      worst = g;
      worstWait = w;
    }
  }
  return [{
    code: "queue-backlog",
    severity: queue.peakQueuedBytes > 64e6 ? "warning" : "info",
    location: worst?.location,
    name: worst?.name,
    message:
      `More tasks queued than slots: up to ${queue.peakQueued} tasks waited for ${slots} slots ` +
      `(holding ${formatBytes(queue.peakQueuedBytes)} of arguments); mean queue wait ${
        formatDuration(queue.meanWaitMs)
      }`,
    advice: `Throughput cannot exceed ${slots} tasks at once: to bound memory, keep ≈${
      2 * slots
    } in flight with wait(), or raise numCpus if the machine has more cores`,
    taskIds: [],
  }];
}

function findFailures(groups: Map<string, TaskGroup>): Finding[] {
  const findings: Finding[] = [];
  for (const g of groups.values()) {
    const bad = g.tasks.filter((t) => t.status === "error" || t.status === "crashed");
    if (bad.length === 0) continue;
    const first = bad[0];
    findings.push({
      code: "failed-tasks",
      severity: "error",
      location: g.location,
      name: g.name,
      message: `${bad.length} of ${g.tasks.length} \`${g.name}\` tasks failed; first: ${
        first.status === "crashed" ? "worker crashed" : first.error ?? "error"
      }`,
      advice:
        "See the error of each task in the timeline (args.error) or get() the refs to raise it",
      taskIds: bad.slice(0, 100).map((t) => t.id),
    });
  }
  return findings;
}

/** Splits text into lines of at most `width` characters at spaces (longer words stay whole). */
function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  // A number and its unit ("2.50 s") stay on one line.
  const words: string[] = [];
  for (const w of text.split(" ")) {
    if (
      words.length && /\d$/.test(words[words.length - 1]) && /^(s|ms|µs|B|kB|MB|GB|TB)\b/.test(w)
    ) {
      words[words.length - 1] += " " + w;
    } else words.push(w);
  }
  for (const word of words) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

function sameLine(a: string | undefined, b: string | undefined): boolean {
  const x = parseCallsite(a), y = parseCallsite(b);
  return !x || !y || (x.url === y.url && x.line === y.line);
}

function mostCommon(values: (string | undefined)[]): string | undefined {
  const counts = new Map<string, number>();
  let best: string | undefined, bestN = 0;
  for (const v of values) {
    if (v === undefined) continue;
    const n = (counts.get(v) ?? 0) + 1;
    counts.set(v, n);
    if (n > bestN) {
      best = v;
      bestN = n;
    }
  }
  return best;
}

/** Options for {@linkcode formatDiagnosis}. */
export interface FormatDiagnosisOptions {
  /**
   * Show file paths relative to this directory.
   * @default {undefined}
   */
  cwd?: string;
  /**
   * Use ANSI colours.
   * @default {false}
   */
  color?: boolean;
  /**
   * Wrap findings to this many columns.
   * @default {100}
   */
  width?: number;
}

/**
 * Appends an indented table to `out`: the first two columns left-aligned, the others right-aligned,
 * each as wide as its widest cell; the header line passes through `styleHead`.
 */
function pushTable(
  out: string[],
  head: string[],
  rows: string[][],
  styleHead: (line: string) => string,
): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    "  " + r.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  out.push(styleHead(line(head)));
  for (const r of rows) out.push(line(r));
}

/**
 * Renders a diagnosis as text for a terminal.
 *
 * @param d A diagnosis from {@linkcode diagnose}.
 * @param options Paths and colours.
 * @returns Lines of text, ending in a newline.
 */
export function formatDiagnosis(d: Diagnosis, options: FormatDiagnosisOptions = {}): string {
  const c = (code: string, s: string) => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const width = Math.max(40, options.width ?? 100);
  const out: string[] = [];
  const keyW = Math.max(16, ...d.workers.map((w) => w.label.length));
  const row = (k: string, v: string) => out.push(`  ${k.padEnd(keyW)} ${v}`);
  out.push(c("1", "Parallelism"));
  row("wall time", `${formatDuration(d.wallMs)}  (first .remote() to last result)`);
  row(
    "task time",
    `${formatDuration(d.taskMs)}  in ${d.tasks.total} task${d.tasks.total === 1 ? "" : "s"}` +
      (d.tasks.failed ? `, ${d.tasks.failed} failed` : "") +
      (d.tasks.unfinished ? `, ${d.tasks.unfinished} unfinished` : ""),
  );
  row(
    "parallelism",
    `${d.parallelism.toFixed(2)} of ${d.slots} slot${d.slots === 1 ? "" : "s"}` +
      (d.slots > 0 ? `  (${Math.round((100 * d.parallelism) / d.slots)}% of the pool)` : ""),
  );
  row(
    "driver blocked",
    `${
      formatDuration(d.blocked.getMs + d.blocked.waitMs)
    }  in ${d.blocked.gets} get, ${d.blocked.waits} wait`,
  );
  row(
    "queue wait",
    `mean ${formatDuration(d.queue.meanWaitMs)}, max ${formatDuration(d.queue.maxWaitMs)}; ` +
      `peak ${d.queue.peakQueued} task${d.queue.peakQueued === 1 ? "" : "s"} waiting for a slot`,
  );
  if (d.startup?.workers) {
    const { workers: n, minMs, maxMs } = d.startup;
    row(
      "worker start-up",
      `${n} worker${n === 1 ? "" : "s"} still starting at the first .remote(), ready after ${
        n === 1 || formatDuration(minMs) === formatDuration(maxMs)
          ? formatDuration(maxMs)
          : `${formatDuration(minMs)}–${formatDuration(maxMs)}`
      }${n === 1 ? "" : " each"}`,
    );
  }
  for (const w of d.workers) {
    const pct = Math.round(100 * w.utilization);
    const bar = "█".repeat(Math.round(w.utilization * 20)).padEnd(20, "·");
    row(
      w.label,
      `${String(pct).padStart(3)}% ${c("32", bar)}  ${w.tasks} task${w.tasks === 1 ? "" : "s"}`,
    );
  }
  if (d.nodes?.length) {
    out.push("");
    out.push(
      c("1", "Nodes") + c("2", "  (queued: ready to taken by the node; start: taken to running)"),
    );
    const rows = d.nodes.map((n) => [
      n.name,
      n.runtime,
      String(n.slots),
      `${Math.round(100 * n.utilization)}%`,
      String(n.tasks),
      formatDuration(n.busyMs),
      formatDuration(n.meanQueueMs),
      formatDuration(n.meanStartMs),
      formatDuration(n.meanRunMs),
    ]);
    const head = ["node", "runtime", "slots", "used", "tasks", "busy", "queued", "start", "run"];
    pushTable(out, head, rows, (h) => c("2", h));
  }
  if (d.functions.length) {
    out.push("");
    out.push(c("1", "Tasks by function"));
    const rows = d.functions.map((f) => [
      f.name,
      f.location ? showLocation(f.location, options.cwd) : "",
      String(f.count),
      formatDuration(f.totalMs),
      formatDuration(f.meanMs),
      formatDuration(f.meanQueueMs),
    ]);
    const head = ["function", "submitted at", "tasks", "total", "mean", "queue"];
    pushTable(out, head, rows, (h) => c("2", h));
  }
  out.push("");
  if (d.findings.length === 0) {
    out.push(c("1", "Findings") + ": none");
  } else {
    out.push(c("1", "Findings"));
    for (const f of d.findings) {
      const mark = f.severity === "error"
        ? c("31", "✖")
        : f.severity === "warning"
        ? c("33", "▲")
        : c("36", "ℹ");
      const where = f.location ? showLocation(f.location, options.cwd) + "  " : "";
      const [head, ...rest] = wrapText(`${where}${f.message}`, width - 4);
      out.push(
        `  ${mark} ${
          where ? c("1", head.slice(0, where.length - 2)) + head.slice(where.length - 2) : head
        }`,
      );
      for (const l of rest) out.push(`    ${l}`);
      if (f.related) out.push(`      (.remote() at ${showLocation(f.related, options.cwd)})`);
      const [first, ...more] = wrapText(f.advice, width - 8);
      out.push(`      → ${first}`);
      for (const l of more) out.push(`        ${l}`);
    }
  }
  return out.join("\n") + "\n";
}
