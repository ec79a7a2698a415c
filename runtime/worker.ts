/**
 * Worker entry, started by `spawnWorker` in `_platform.ts`: runs tasks (or one actor) sent by the
 * driver, finding each task's function with `_worker_functions.ts`, and takes messages from the
 * driver's channel (polling it briefly, then sleeping until woken).
 *
 * @module
 */
import { parentPort, workerData as rawData } from "node:worker_threads";
import { setWorkerContext, type WorkerContext } from "./_context.ts";
import {
  DONE_CANCELLED,
  DONE_ERROR,
  DONE_OK,
  DONE_UNDEFINED,
  FLAG_REFS,
  type FnDef,
  type FromWorker,
  ID_SPAN,
  jsonExact,
  RUN_STRIDE,
  type ToWorker,
  type WorkerInit,
} from "./_protocol.ts";
import { ChannelReader, ChannelWriter, type PortEnvelope, waitAsync } from "./_channel.ts";
import { ACTOR_TAG, errorInfo, estimateBytes, reviveRefs } from "./_wire.ts";
import { _setWorkerData, workerCollectors } from "./hooks.ts";
import { runtimeName } from "./_platform.ts";
import { ObjectRef } from "./object_ref.ts";
import { type RemoteErrorInfo, reviveError } from "./errors.ts";
import { learnFunction, resolveFunction } from "./_worker_functions.ts";

const init = rawData as WorkerInit;
const port = parentPort!;
const counter = new Int32Array(init.counter);
const awake = new Int32Array(init.awake);
const awakeSlot = init.awakeSlot;
/** Threads that may be awake at once without one taking a core from another: all but the driver's. */
const SPARE = (globalThis.navigator?.hardwareConcurrency ?? 2) - 1;

/** Tells the other workers whether this one is awake. */
function setAwake(on: 0 | 1): void {
  if (awakeSlot !== 0) Atomics.store(awake, awakeSlot, on);
}

/** Whether a core is to spare: the awake workers, this one included, and the driver fit. */
function coreToSpare(): boolean {
  if (awakeSlot === 0) return false;
  let n = 0;
  for (let i = Atomics.load(awake, 0); i > 0; i--) n += Atomics.load(awake, i);
  return n <= SPARE;
}

const writer = new ChannelWriter(init.fromWorker, (env) => port.postMessage(env));

function post(msg: FromWorker | string): void {
  writer.send(msg);
}

let nextLocal = 1;
let nextReq = 1;
const replies = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
let blocked = 0;

const ctx: WorkerContext = {
  id: init.id,
  kind: init.kind,
  post,
  registry: new Map(),
  importing: new Set(),
  nextId: () => init.id * ID_SPAN + nextLocal++,
  request(ids, timeout, numReturns) {
    const req = nextReq++;
    blocked++;
    post({ t: "block" });
    return new Promise((resolve, reject) => {
      replies.set(req, {
        resolve: (v) => {
          resume();
          resolve(v);
        },
        reject: (e) => {
          resume();
          reject(e);
        },
      });
      post({ t: "get", req, ids, timeout, numReturns, task: ctx.currentTask });
    });
  },
  currentTask: 0,
  refsMade: 0,
};
setWorkerContext(ctx);
_setWorkerData(init.data);

function resume(): void {
  blocked--;
  post({ t: "unblock" });
}

// Errors that escape tasks (a timer throwing, a rejected promise nobody awaits) would kill the
// process in Deno: report them so the driver replaces this worker and fails its task.
globalThis.addEventListener("error", (e: Event) => {
  e.preventDefault();
  fault((e as ErrorEvent).error ?? new Error((e as ErrorEvent).message));
});
globalThis.addEventListener("unhandledrejection", (e: Event) => {
  e.preventDefault();
  fault((e as PromiseRejectionEvent).reason);
});

let faulted = false;
function fault(err: unknown): void {
  if (faulted) return;
  faulted = true;
  flush();
  post({ t: "fault", error: errorInfo(err) });
}

// ---- running tasks -------------------------------------------------------------------------

interface Job {
  id: number;
  fid: number | string;
  args: unknown[];
  flags: number;
}

const queue: Job[] = [];
let qHead = 0;
let running = 0;
const cancelled = new Set<number>();
let out: unknown[] = [];
let instance: Record<string, (...a: unknown[]) => unknown> | null = null;
let actorError: ReturnType<typeof errorInfo> | null = null;
let constructing: Promise<void> | null = null;
const concurrency = init.concurrency;

function makeRef(id: number): ObjectRef<unknown> {
  ctx.refsMade++;
  return new ObjectRef(id);
}

function makeActor(tag: Record<string, unknown>): unknown {
  const make = (globalThis as Record<symbol, unknown>)[Symbol.for("rayprof.actorHandle")] as
    | ((tag: Record<string, unknown>) => unknown)
    | undefined;
  return make ? make(tag) : tag;
}

function hasRefs(v: unknown, depth = 0): boolean {
  if (typeof v !== "object" || v === null || depth > 64) return false;
  if (v instanceof ObjectRef || ACTOR_TAG in v) return true;
  if (Array.isArray(v)) return v.some((x) => hasRefs(x, depth + 1));
  if (v instanceof Map) return [...v.values()].some((x) => hasRefs(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.values(v).some((x) => hasRefs(x, depth + 1));
}

function finish(
  job: Job,
  status: number,
  value: unknown,
  started: number,
  refsBefore: number,
): void {
  const finished = performance.now();
  clock = finished;
  finishes++;
  let bytes = 0;
  if (status === DONE_OK) {
    bytes = estimateBytes(value);
    if ((ctx.refsMade !== refsBefore || (job.flags & FLAG_REFS)) && hasRefs(value)) {
      bytes = -bytes - 1;
    }
  }
  out.push(job.id, status, value, started, finished, bytes);
}

/**
 * The last finish time taken and how many tasks finished: a task that ends synchronously gives the
 * next its start time (performance.now() costs ≈ 0.2 µs in Deno, more than a no-op task).
 */
let clock = 0;
let finishes = 0;

function pump(): void {
  let now = performance.now();
  const t0 = now;
  while (qHead < queue.length && running - blocked < concurrency) {
    const job = queue[qHead];
    queue[qHead++] = undefined as unknown as Job;
    Atomics.add(counter, 0, 1);
    if (cancelled.delete(job.id)) {
      out.push(job.id, DONE_CANCELLED, undefined, NaN, NaN, 0);
      continue;
    }
    const before = finishes;
    start(job, now);
    now = finishes !== before ? clock : performance.now();
    if (out.length >= 6 * 64 || now - t0 > 2) flush();
  }
  if (qHead === queue.length) {
    queue.length = 0;
    qHead = 0;
  }
  flush();
}

function start(job: Job, started: number): void {
  const refsBefore = ctx.refsMade;
  running++;
  ctx.currentTask = job.id;
  let r: unknown;
  try {
    if (job.flags & FLAG_REFS) job.args = job.args.map((a) => reviveRefs(a, makeRef, makeActor));
    r = call(job);
  } catch (e) {
    running--;
    finish(job, DONE_ERROR, errorInfo(e), started, refsBefore);
    return;
  }
  if (r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function") {
    (r as Promise<unknown>).then(
      (v) => {
        running--;
        finish(job, DONE_OK, v, started, refsBefore);
      },
      (e) => {
        running--;
        finish(job, DONE_ERROR, errorInfo(e), started, refsBefore);
      },
    ).then(afterAsync);
  } else {
    running--;
    finish(job, DONE_OK, r, started, refsBefore);
  }
}

function call(job: Job): unknown {
  if (typeof job.fid === "string") {
    // An actor method.
    if (actorError) throw Object.assign(new Error(actorError.message), { name: "__ActorDead__" });
    // Calls may arrive while the constructor's module is still loading.
    if (!instance && constructing) return constructing.then(() => call(job));
    if (!instance) throw new Error("The actor was not constructed");
    const m = instance[job.fid];
    if (typeof m !== "function") {
      throw new TypeError(`Cannot call '${job.fid}' on the actor: it is not a method`);
    }
    return m.apply(instance, job.args);
  }
  const fnP = resolved.get(job.fid);
  if (fnP === undefined) {
    const p = resolveFunction(job.fid).then((fn) => {
      resolved.set(job.fid as number, fn);
      setAwake(1);
      try {
        return invoke(fn, job);
      } finally {
        setAwake(0);
      }
    });
    if (init.kind === "actor") constructing = p.then(() => {}, () => {});
    return p;
  }
  return invoke(fnP, job);
}

const resolved = new Map<number, unknown>();

function invoke(fn: unknown, job: Job): unknown {
  if (init.kind === "actor") {
    const Cls = fn as new (...a: unknown[]) => Record<string, (...a: unknown[]) => unknown>;
    try {
      instance = new Cls(...job.args);
    } catch (e) {
      actorError = errorInfo(e);
      throw e;
    }
    return undefined;
  }
  return (fn as (...a: unknown[]) => unknown)(...job.args);
}

function flush(): void {
  if (out.length === 0) return;
  const r = out;
  out = [];
  if (asText(r)) {
    post(JSON.stringify(r));
    return;
  }
  try {
    post({ t: "done", r });
  } catch {
    // A result that cannot be cloned: send the others, and an error for it.
    for (let i = 0; i < r.length; i += 6) {
      const one = r.slice(i, i + 6);
      try {
        post({ t: "done", r: one });
      } catch (e) {
        post({
          t: "done",
          r: [
            one[0],
            DONE_ERROR,
            errorInfo(
              new TypeError(
                `Cannot send the task's result back to the driver: ${(e as Error).message}`,
              ),
            ),
            one[3],
            one[4],
            0,
          ],
        });
      }
    }
  }
}

/** Says whether a done batch can travel as JSON text, and then marks its undefined values. */
function asText(r: unknown[]): boolean {
  for (let i = 0; i < r.length; i += 6) {
    if (!Number.isFinite(r[i + 3]) || !Number.isFinite(r[i + 4])) return false;
    const v = r[i + 2];
    if (v !== undefined && (r[i + 1] !== DONE_OK || !jsonExact(v))) return false;
  }
  for (let i = 0; i < r.length; i += 6) {
    if (r[i + 2] === undefined) r[i + 1] = (r[i + 1] as number) | DONE_UNDEFINED;
  }
  return true;
}

/** Notes a definition and, in a pool worker, loads it now (a failure surfaces in its tasks). */
function learnDef(d: FnDef): void {
  learnFunction(d);
  if (init.kind === "pool") {
    loading++;
    resolveFunction(d.fid).catch(() => {}).finally(() => loading--);
  }
}

async function collect(names: string[]): Promise<void> {
  const data: Record<string, unknown> = {};
  const cs = workerCollectors();
  for (const n of names) {
    const c = cs.get(n);
    if (c) {
      try {
        data[n] = await c();
      } catch (e) {
        data[n] = { error: errorInfo(e) };
      }
    }
  }
  post({ t: "collected", data });
}

function onMessage(msg: ToWorker | string): void {
  let m: ToWorker;
  if (typeof msg === "string") {
    // A text batch (see jsonExact in _protocol.ts): definitions first when there are any.
    const tasks = JSON.parse(msg) as unknown[];
    const defs = Array.isArray(tasks[0]) ? tasks.shift() as FnDef[] : null;
    m = { t: "run", defs, tasks };
  } else m = msg;
  switch (m.t) {
    case "run": {
      if (m.defs) { for (const d of m.defs) learnDef(d); }
      const tasks = m.tasks;
      for (let i = 0; i < tasks.length; i += RUN_STRIDE) {
        queue.push({
          id: tasks[i] as number,
          fid: tasks[i + 1] as number | string,
          args: tasks[i + 2] as unknown[],
          flags: tasks[i + 3] as number,
        });
      }
      pump();
      return;
    }
    case "cancel": {
      let queued = false;
      for (let i = qHead; i < queue.length; i++) if (queue[i].id === m.id) queued = true;
      if (queued) cancelled.add(m.id);
      else post({ t: "cancelmiss", id: m.id });
      return;
    }
    case "reply": {
      const r = replies.get(m.req);
      if (!r) return;
      replies.delete(m.req);
      if (m.ok) r.resolve(reviveRefs(m.value, makeRef, makeActor));
      else r.reject(reviveError(m.value as RemoteErrorInfo));
      return;
    }
    case "collect":
      collect(m.names);
      return;
  }
}

// ---- taking messages ------------------------------------------------------------------------

const reader = new ChannelReader(init.toWorker, (m) => onMessage(m as ToWorker | string));
const [bellArr, bellIndex] = reader.waitTarget;

/**
 * How long an idle worker waits in `Atomics.wait` for its next message before it goes back to its
 * event loop (and waits there with `Atomics.waitAsync`). bench/wake.mjs times a ping-pong whose far
 * end sleeps each way (medians on 2 cores). Deno: ≈ 25 µs through `Atomics.wait`, 30–33 µs
 * through `Atomics.waitAsync` on a quiet machine; 9.5–9.7 against 26–31 µs with other processes
 * busy. Bun: 19.6–19.7 against 21.3–22.7 µs quiet, but 26.7–28.4 against 18.0–18.9 µs busy. So a
 * Deno worker blocks for up to this long first, and only its own timers wait meanwhile (by at
 * most this long, and only while it has no task running); a Bun worker goes back to its event
 * loop at once: ≈ 2 µs slower when quiet, and only when its poll missed the next task, ≈ 9 µs
 * quicker when the cores are busy, and its timers run on time. (A postMessage ping-pong was the
 * quickest in Bun under load, but waking both sides with postMessage "bells" made our own round
 * trip slower: ≈ 1.12x of the raw ping-pong against ≈ 0.91x. Not kept.)
 */
const BLOCK_MS = runtimeName === "bun" ? 0 : 1;
let serving = false;
let armed = false;
/** Definitions being loaded ahead of their tasks. */
let loading = 0;

function idle(): boolean {
  return running === 0 && qHead === queue.length && loading === 0 && !faulted;
}

/**
 * An idle worker polls the bell before it sleeps: a task submitted right after the last result
 * (`await get(f.remote())` in a loop: the driver turns round in ≈ 10–50 µs) is then seen at once,
 * and the driver need not pay for waking this thread (5–25 µs per Atomics.notify here). It polls
 * for three times the usual gap between going idle and the next message (at least SPIN_PROBE_MS),
 * and only SPIN_PROBE_MS when that would exceed SPIN_MAX_MS: a worker whose tasks come seldom, or
 * whose driver is slow to answer, wastes little CPU (the short probe still sees quick answers, so
 * the usual gap can come down again). Polling longer than needed costs more than CPU: while
 * this thread holds a core, another thread of the process (in Bun, the garbage collector's or the
 * compiler's) may take the driver's, and the driver stalls until the poll ends. With a fixed
 * 200 µs poll, every ≈ 10th round trip in Bun took ≈ 250 µs, even on a quiet machine, and on a
 * loaded one a tenth of all. For the same reason it polls only while the awake workers and the
 * driver leave a core to spare (2 workers with tasks on 2 cores: neither polls), and stops once it
 * notices that it lost its core for a while.
 */
const SPIN_MAX_MS = 0.2;
const SPIN_PROBE_MS = 0.02;
/** A pause this long between two looks at the clock while polling: another thread had the core. */
const PREEMPTED_MS = 0.05;
/** When this worker last went idle (-1: it is not), and the usual (smoothed) idle gap, in ms. */
let idleSince = -1;
let usualGap = SPIN_PROBE_MS;

/** Takes the messages that came, then waits for more: briefly in place when idle, else armed. */
function serve(): void {
  if (serving) return;
  serving = true;
  setAwake(1);
  let deadline = -1;
  try {
    for (;;) {
      const bell = Atomics.load(bellArr, bellIndex);
      if (reader.drain() !== 0) {
        if (idleSince >= 0) {
          const gap = performance.now() - idleSince;
          idleSince = -1;
          usualGap += (Math.min(gap, 1) - usualGap) / 8;
        }
        deadline = -1;
        continue;
      }
      // A message that came by postMessage needs the event loop; so do running async tasks.
      if (!reader.behind && idle()) {
        let now = performance.now();
        if (deadline < 0) {
          deadline = now + BLOCK_MS;
          if (idleSince < 0) idleSince = now;
          // Polling: writers need not notify (a wait armed earlier is told again at the end).
          reader.sleeping = false;
          const spin = 3 * usualGap;
          const spinEnd = !coreToSpare()
            ? now
            : now + (spin > SPIN_MAX_MS ? SPIN_PROBE_MS : Math.max(SPIN_PROBE_MS, spin));
          let changed = false;
          while (!changed && now < spinEnd) {
            for (let i = 0; i < 64; i++) {
              if (Atomics.load(bellArr, bellIndex) !== bell) {
                changed = true;
                break;
              }
            }
            const then = now;
            now = performance.now();
            if (now - then > PREEMPTED_MS || !coreToSpare()) break;
          }
          if (changed) continue;
        }
        if (now < deadline) {
          reader.sleeping = true;
          setAwake(0);
          const r = Atomics.wait(bellArr, bellIndex, bell, deadline - now);
          setAwake(1);
          reader.sleeping = false;
          if (r !== "timed-out") continue;
        }
      }
      // Writers must notify from here on; check the bell once more after saying so.
      reader.sleeping = true;
      if (Atomics.load(bellArr, bellIndex) !== bell) {
        if (!armed) reader.sleeping = false;
        continue;
      }
      if (armed) return; // the pending wait fires on the next message
      const r = waitAsync(bellArr, bellIndex, bell);
      if (!r.async) {
        reader.sleeping = false;
        continue;
      }
      armed = true;
      r.value.then(wake);
      return;
    }
  } finally {
    setAwake(0);
    serving = false;
  }
}

function wake(): void {
  armed = false;
  reader.sleeping = false;
  serve();
}

/** An async task settled: start what waits, then take messages again. */
function afterAsync(): void {
  setAwake(1);
  try {
    pump();
  } finally {
    setAwake(0);
  }
  serve();
}

port.on("message", (env: PortEnvelope) => {
  reader.fromPort(env, false);
  serve(); // delivers it, awake
});

// Must stay dynamic: the preload modules the pool was created with (user's or the profiler's).
for (const url of init.preload) await import(url);
// Start loading the functions known at spawn; the first task waits for its own anyway.
for (const d of init.defs) learnDef(d);
post({ t: "ready", origin: performance.timeOrigin });
serve();
