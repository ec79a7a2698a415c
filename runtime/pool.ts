/**
 * The scheduler: a private engine behind the public API (init.ts, remote.ts, actor.ts, get.ts).
 *
 * One driver thread owns all state: the object table, the queue of ready tasks, the workers. A
 * task moves submitted → (arguments resolved) → queued → dispatched to a worker → done. Workers
 * run one task at a time (actors up to `maxConcurrency`); for functions whose tasks are known to be
 * short, several tasks are sent ahead to a busy worker, so messages carry batches.
 *
 * @module
 */
import { hardwareConcurrency, runtimeName } from "./_platform.ts";
import {
  DONE_CANCELLED,
  DONE_OK,
  DONE_STRIDE,
  DONE_UNDEFINED,
  type FnDef,
  type FromWorker,
  jsonExact,
} from "./_protocol.ts";
import { afterTurn } from "./_channel.ts";
import { reviveRefs } from "./_wire.ts";
import {
  ActorDiedError,
  type RemoteErrorInfo,
  reviveError,
  RuntimeShutdownError,
  TaskCancelledError,
  TaskError,
  WorkerCrashedError,
} from "./errors.ts";
import { hooks } from "./hooks.ts";
import {
  ARGS,
  B_CANCELLED,
  B_DEP,
  B_FORCE_CANCEL,
  B_REFS,
  BITS,
  type Entry,
  entryOf,
  EST,
  NO_ARGS,
  ObjectRef,
  RETRIES,
  SEQ,
  settle,
  SLOT,
  SPEC,
  STATE,
  VALUE,
  whenSettled,
  WORKER,
} from "./object_ref.ts";
import {
  K_ACTOR_CALL,
  K_ACTOR_CREATE,
  K_TASK,
  Recorder,
  type RecorderOptions,
  S_CANCELLED,
  S_CRASHED,
  S_ERROR,
} from "./recorder.ts";
import { Deque } from "./_deque.ts";
import { Actor, Def, type Task, type TaskOptions, TaskSpec } from "./_task.ts";
import { PoolWorker } from "./_pool_worker.ts";
import { MemoryMonitor } from "./_memory_monitor.ts";
import { answerGet, submitForWorker } from "./_worker_requests.ts";

export { Actor, Def, type Task, type TaskOptions, TaskSpec };
/** What a pool's owner may also need of its workers' messages (the cluster's node does). */
export { FLAG_REFS, type FromWorker } from "./_protocol.ts";
export type { PoolWorker } from "./_pool_worker.ts";
export { errorInfo } from "./_wire.ts";

/** Options of the pool, validated by init.ts. */
export interface PoolOptions {
  numCpus: number;
  recording: RecorderOptions;
  /** Process memory (RSS) above which the newest running task's worker is ended; 0: off. */
  memoryLimitMb: number;
}

/** Work (µs) sent ahead to a busy worker at most, in tasks known to be short. */
const DEPTH_WINDOW_US = 1000;
/** Workers that can tell each other whether they are awake (see WorkerInit.awake), plus one. */
const AWAKE_SLOTS = 256;
const MAX_DEPTH = 256;
/** Expected run time (µs) of a task whose function has not run yet: treated as long. */
const UNKNOWN_US = 1e9;

/** The engine: object table, queue, workers. */
export class Pool {
  readonly numCpus: number;
  readonly gen: number;
  readonly recorder: Recorder;
  /** Which workers are awake (see WorkerInit.awake), and the slots of ended workers. */
  readonly awake: Int32Array = new Int32Array(new SharedArrayBuffer(4 * AWAKE_SLOTS));
  #freeAwakeSlots: number[] = [];
  closed = false;
  used = 0;
  #nextTaskId = 1;
  #nextWorkerId = 1;
  #nextActorId = 1;
  #queue = new Deque<Task>();
  #workers: PoolWorker[] = [];
  #idle: PoolWorker[] = [];
  #dirty: PoolWorker[] = [];
  #flushQueued = false;
  #startFailures = 0;
  /** Entries known to workers by id (refs sent into or made inside workers). */
  #exported = new Map<number, Entry>();
  /** Definitions by "url#key". */
  #defs = new Map<string, Def>();
  #nextFid = 1;
  #actors = new Map<number, Actor>();
  #live = 0;
  #dispatches = 0;

  constructor(options: PoolOptions, gen: number) {
    this.numCpus = options.numCpus;
    this.gen = gen;
    this.recorder = new Recorder(options.recording);
    this.recorder.numCpus = options.numCpus;
    const putDef = new Def({ fid: 0, url: "", key: "", name: "put", src: "", cls: false }, gen);
    this.#putSpec = new TaskSpec(putDef, DEFAULT_OPTIONS, "put", gen, null, null, false);
    this.memoryLimitMb = options.memoryLimitMb;
    if (options.memoryLimitMb > 0) {
      this.#memory = new MemoryMonitor(options.memoryLimitMb, () => this.#workers, (w, reason) => {
        this.#lost(w, reason, null);
        w.handle.terminate();
      });
    }
  }

  readonly memoryLimitMb: number;
  #memory: MemoryMonitor | undefined;

  /** Live worker threads (pool and actors). */
  get liveWorkers(): number {
    return this.#live;
  }

  /** Tasks waiting for arguments or a slot. */
  get queueSize(): number {
    return this.#queue.size;
  }

  // ---- definitions -------------------------------------------------------------------------

  /**
   * Starts the first workers, once the definitions known so far are in (a worker starts loading
   * their modules at once). `init()` calls it before it returns, not at the next microtask: the
   * driver's own work until then (the rest of `init()`, the first `.remote()` and `get()`) then
   * overlaps the workers' start instead of coming before it.
   */
  start(): void {
    this.#grow();
  }

  def(wire: Omit<FnDef, "fid">): Def {
    const k = `${wire.url}#${wire.key}`;
    let d = this.#defs.get(k);
    if (!d) {
      d = new Def({ ...wire, fid: this.#nextFid++ }, this.gen);
      this.#defs.set(k, d);
      // Workers load the function's module now, so the first task does not wait for it.
      for (const w of this.#workers) {
        if (w.kind === "pool" && !w.dead) this.#teach(w, d);
      }
    }
    return d;
  }

  // ---- objects -----------------------------------------------------------------------------

  put(value: unknown, id: number = this.#nextTaskId++): Entry {
    const e = new ObjectRef(id, this.#putSpec) as Entry;
    settle(e, 1, value);
    return e;
  }

  /** The spec of `put` values: not tasks. */
  readonly #putSpec: TaskSpec;

  #clockAt = 0;
  #clockUses = 0;
  /**
   * Made once. A function that creates a closure gets a scope object from JSC on every call,
   * unless its optimizer leaves it out: written inside `#clock` (rarely created), it made Bun
   * allocate one per task recorded, and `.remote()` with recording cost twice as much over no
   * recording (heapStats() of bun:jsc counts them: JSLexicalEnvironment).
   */
  readonly #clockReset = (): void => {
    this.#clockUses = 0;
  };
  /** The hooks object never changes; holding it saves a global lookup per submission. */
  readonly #hooks = hooks();

  /**
   * The submission clock. A clock read is most of what recording a task costs (≈0.13 µs in Deno,
   * a quarter of `.remote()`), so submissions in one synchronous burst share a read for up to 32
   * tasks; the next flush or microtask starts a fresh one. With callsites captured (profiler, REPL)
   * every task reads the clock.
   */
  #clock(): number {
    if (this.#clockUses === 0 || this.#clockUses >= 32 || this.#hooks.captureCallsites) {
      this.#clockAt = performance.now();
      if (this.#clockUses === 0 && !this.#flushQueued) queueMicrotask(this.#clockReset);
      this.#clockUses = 0;
    }
    this.#clockUses++;
    return this.#clockAt;
  }

  /** Notes that a task's result was asked for (get, wait, passed on). */
  markAwaited(e: Entry): void {
    if (e[SLOT] >= 0) this.recorder.tasks.awaited(e[SLOT]);
  }

  #countRetry(t: Task): void {
    if (t[SLOT] >= 0) this.recorder.tasks.retried(t[SLOT]);
  }

  /** Registers an entry as known to workers, so their messages can name it by id. */
  export(e: Entry): void {
    this.#exported.set(e.__rayprofRef, e);
  }

  /** An entry known to workers (see {@linkcode export}). */
  exported(id: number): Entry | undefined {
    return this.#exported.get(id);
  }

  /** A ref to an object that a worker names by id. */
  refFor(id: number): ObjectRef<unknown> {
    return this.#exported.get(id) ?? new ObjectRef(id);
  }

  // ---- submission --------------------------------------------------------------------------

  /**
   * Submits a task. `args` were checked by the caller; top-level refs among them are resolved
   * here. Returns the task (its entry is the result).
   */
  submit(
    def: Def,
    args: unknown[],
    opts: TaskOptions,
    scan: { bytes: number; refs: boolean },
    actor: Actor | null = null,
    method: string | null = null,
    id: number = this.#nextTaskId++,
    parent?: number,
  ): Task {
    const spec = actor ? actor.specFor(method, opts) : def.specFor(opts);
    const t = new ObjectRef(id, spec) as Task;
    // A fresh array from `.remote(...args)`; the tasks that take none share one.
    t[ARGS] = args.length === 0 ? NO_ARGS : args;
    t[RETRIES] = opts.maxRetries;
    if (scan.refs) {
      t[BITS] = B_REFS;
      this.exportNested(args);
    }
    if (this.recorder.enabled) this.#record(t, spec, scan.bytes, parent);
    for (let i = 0; i < args.length; i++) {
      if (args[i] instanceof ObjectRef && !this.#takeRef(t, i)) break;
    }
    // The log took the task as ready when submitted: it is not if it waits for an argument, or
    // failed for one (nobody holds its ref yet, so the order of failing and noting it is free).
    if (t[BITS] < B_DEP && t[STATE] === 0) this.#enqueue(t);
    else if (t[SLOT] >= 0) this.recorder.tasks.notReady(t[SLOT]);
    return t;
  }

  /**
   * Adds the task to the log. A method of its own, so that V8 inlines `#clock` and `TaskLog.add`
   * here: inlined into `submit`, which is too large for its budget, they were calls, and the
   * submission time a number allocated on every call.
   */
  #record(t: Task, spec: TaskSpec, argBytes: number, parent: number | undefined): void {
    const log = this.recorder.tasks;
    const actor = spec.actor;
    const kind = actor ? (spec.method === null ? K_ACTOR_CREATE : K_ACTOR_CALL) : K_TASK;
    // One clock read per task (or per burst, see `#clock`): a task with no pending argument is
    // ready when submitted, and dispatch times are read once per flush.
    const slot = t[SLOT] = log.add(
      t.__rayprofRef,
      spec.name,
      kind,
      this.#clock(),
      argBytes,
      actor ? actor.id : -1,
      parent ?? NaN,
    );
    if (this.#hooks.captureCallsites) log.setCallsite(slot, spec.def.callsite());
  }

  /**
   * Takes the ref in argument `i` of a task being submitted: its value if settled, else a
   * dependency. False when the task failed for it.
   */
  #takeRef(t: Task, i: number): boolean {
    const args = t[ARGS];
    const a = args[i] as ObjectRef<unknown>;
    const e = entryOf(a) ?? this.#exported.get(a.__rayprofRef);
    if (!e) {
      this.#fail(
        t,
        new RuntimeShutdownError(
          `Cannot pass ${a} to '${t[SPEC].name}' as it belongs to a runtime that was shut down`,
        ),
      );
      return false;
    }
    this.markAwaited(e);
    if (e[STATE] === 0) {
      t[BITS] += B_DEP;
      this.#awaitDep(t, i, e);
    } else args[i] = e[VALUE];
    if (e[STATE] === 2) {
      this.#fail(t, e[VALUE] as Error);
      return false;
    }
    return true;
  }

  /** Exports the entries of refs nested in a value, so workers can name them by id. */
  exportNested(value: unknown): void {
    // Walk again only for tasks flagged as carrying nested refs: rare, so kept simple.
    const seen = new Set<object>();
    const walk = (v: unknown) => {
      if (typeof v !== "object" || v === null || seen.has(v)) return;
      seen.add(v);
      if (v instanceof ObjectRef) {
        const e = entryOf(v);
        if (e) {
          this.export(e);
          this.markAwaited(e);
        }
        return;
      }
      if (Array.isArray(v)) { for (const x of v) walk(x); }
      else if (v instanceof Map) { for (const [k, x] of v) (walk(k), walk(x)); }
      else if (v instanceof Set) { for (const x of v) walk(x); }
      else for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k]);
    };
    walk(value);
  }

  /**
   * The closure lives here, not in `submit`, which would otherwise get a scope object on every call
   * (see `#clockReset`); in some runs JSC's optimizer did not leave it out.
   */
  #awaitDep(t: Task, idx: number, e: Entry): void {
    whenSettled(e, (d) => this.#depSettled(t, idx, d));
  }

  #depSettled(t: Task, idx: number, d: Entry): void {
    if (t[STATE] !== 0) return;
    if (d[STATE] === 2) {
      this.#fail(t, d[VALUE] as Error);
      return;
    }
    t[ARGS][idx] = d[VALUE];
    t[BITS] -= B_DEP;
    if (t[BITS] < B_DEP) this.#ready(t, performance.now());
  }

  #ready(t: Task, now: number): void {
    if (t[SLOT] >= 0) this.recorder.tasks.ready(t[SLOT], now);
    this.#enqueue(t);
  }

  #enqueue(t: Task): void {
    if (t[SPEC].actor) {
      this.#actorReady(t);
      return;
    }
    this.#queue.push(t);
    this.#scheduleFlush();
  }

  /** Made once, for the same reason as `#clockReset`. */
  readonly #flushSoon = (): void => this.flush();

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flushSoon);
  }

  // ---- dispatch ----------------------------------------------------------------------------

  flush(): void {
    this.#flushQueued = false;
    this.#clockUses = 0;
    if (this.closed) return;
    const q = this.#queue;
    const now = performance.now();
    while (q.size > 0) {
      const t = q.peek()!;
      if (t[STATE] !== 0) {
        q.shift();
        continue;
      }
      const w = this.#pick(t);
      if (!w) break;
      q.shift();
      this.#assign(t, w, now);
    }
    const dirty = this.#dirty;
    for (let i = 0; i < dirty.length; i++) this.#send(dirty[i]);
    dirty.length = 0;
    // Tasks wait for a slot: a worker start that was put off is due now.
    if (q.size > 0 && this.#growWanted) this.#grow();
    // Tasks wait for a worker that is still starting: keep the process alive until it is ready.
    if (q.size > 0) {
      for (const w of this.#workers) {
        if (!w.ready && !w.dead && !w.refd) {
          w.refd = true;
          w.handle.ref();
        }
      }
    }
  }

  /** A new pool worker is allowed: below the pool size plus workers with blocked tasks. */
  #canSpawn(): boolean {
    let n = 0;
    let blocked = 0;
    for (const w of this.#workers) {
      if (w.kind !== "pool") continue;
      n++;
      if (w.blocked > 0) blocked++;
    }
    return n < this.numCpus + blocked;
  }

  #poolWorkerCount(): number {
    let n = 0;
    for (const w of this.#workers) if (w.kind === "pool") n++;
    return n;
  }

  #pick(t: Task): PoolWorker | undefined {
    const need = t[SPEC].opts.numCpus;
    const free = this.numCpus - this.used;
    if (free >= need || (this.used === 0 && need > this.numCpus)) {
      const idle = this.#idle;
      // A worker that is ready beats one still starting (starting several takes a while).
      let booting = -1;
      for (let i = idle.length - 1; i >= 0; i--) {
        const w = idle[i];
        if (w.dead || w.inflight.size - w.blocked !== 0) {
          w.idle = false;
          idle.splice(i, 1);
          continue;
        }
        if (!w.ready) {
          if (booting < 0) booting = i;
          continue;
        }
        idle.splice(i, 1);
        w.idle = false;
        w.slots = need;
        this.used += need;
        return w;
      }
      // All idle workers are starting: wait for the first to be ready (flush runs then).
      if (booting >= 0) return undefined;
    }
    // Short tasks: send ahead to a busy worker, so one message carries many tasks; only behind
    // tasks known to be short too, so a short task never waits behind a long one.
    const d = t[SPEC].def;
    if (d.runs > 0 && d.avg * 1000 < DEPTH_WINDOW_US) {
      const est = estimateUs(d);
      let best: PoolWorker | undefined;
      for (const w of this.#workers) {
        if (w.kind !== "pool" || w.dead || w.slots < need || w.inflight.size >= MAX_DEPTH) continue;
        if (w.expected + est > DEPTH_WINDOW_US) continue;
        if (!best || w.expected < best.expected) best = w;
      }
      if (best) return best;
    }
    // Blocked tasks released their slots; start another worker so the free slots can be used.
    if (free >= need && this.#startFailures < 3 && this.#canSpawn()) {
      const w = this.#spawn();
      w.slots = need;
      this.used += need;
      return w;
    }
    return undefined;
  }

  #assign(t: Task, w: PoolWorker, now = performance.now()): void {
    // A counter, not `now`: tasks dispatched in one flush share `now` but must not tie.
    w.lastDispatch = ++this.#dispatches;
    const spec = t[SPEC];
    const id = t.__rayprofRef;
    t[WORKER] = w;
    t[SEQ] = w.sent++;
    if (w.inflight.size === 0) w.busySince = now;
    w.inflight.set(id, t);
    const est = t[EST] = estimateUs(spec.def);
    w.expected += est;
    // A worker start was put off: a task this long may make it due (see `#spawnDue`).
    if (this.#growWanted && est >= this.#spawnMs * 1000) {
      this.#recheckGrow(est === UNKNOWN_US ? this.#spawnMs : 0);
    }
    if (!w.refd) {
      w.refd = true;
      w.handle.ref();
    }
    if (t[SLOT] >= 0) this.recorder.tasks.dispatched(t[SLOT], now, w.id);
    if (w.batch === null) {
      w.batch = [];
      w.batchText = true;
      this.#dirty.push(w);
    }
    const args = t[ARGS];
    if (w.batchText && args.length !== 0 && !jsonExact(args)) w.batchText = false;
    const wire = spec.def.wire;
    if (!w.known.has(wire.fid)) {
      w.known.add(wire.fid);
      (w.batchDefs ??= []).push(wire);
    }
    w.batch.push(id, spec.method ?? wire.fid, args, t[BITS] & B_REFS);
  }

  #send(w: PoolWorker): void {
    const tasks = w.batch;
    if (!tasks) return;
    const defs = w.batchDefs;
    w.batch = null;
    w.batchDefs = null;
    if (w.dead) return;
    try {
      if (w.batchText) w.post(JSON.stringify(defs === null ? tasks : [defs, ...tasks]));
      else w.post({ t: "run", defs, tasks });
    } catch (e) {
      // Something in the batch cannot be cloned: send tasks one at a time to find it.
      for (let i = 0; i < tasks.length; i += 4) {
        const one = tasks.slice(i, i + 4);
        try {
          w.post({ t: "run", defs, tasks: one });
        } catch {
          const t = w.inflight.get(one[0] as number)!;
          w.inflight.delete(t.__rayprofRef);
          w.expected -= t[EST];
          this.#fail(
            t,
            new TypeError(
              `Cannot send the arguments of '${t[SPEC].name}' to a worker: ${(e as Error).message}`,
            ),
          );
        }
      }
      this.#afterDone(w);
    }
  }

  /** Sends a definition to a worker ahead of any task, so it loads it in the background. */
  #teach(w: PoolWorker, d: Def): void {
    if (w.known.has(d.wire.fid)) return;
    w.known.add(d.wire.fid);
    w.post(JSON.stringify([[d.wire]]));
  }

  /**
   * Starts pool workers up to `numCpus`, at most one per core at a time: workers starting at
   * once compete for the cores, and the first task waits for the first worker to be ready.
   *
   * Deno's Worker constructor blocks this thread until the new thread has started (≈40–65 ms):
   * there workers start one at a time, and after the first only when that blocks nothing that is
   * due (see `#spawnDue`): a result that arrives meanwhile waits until the constructor returns.
   * Starting the second worker as soon as the first was ready held the first result back by a
   * whole constructor (first result ≈95 ms against ≈50 for a bare worker), and a program that
   * only ever runs one task at a time (the document's ex1) paid for workers it never used.
   */
  #grow(): void {
    this.#growTimer = clearGrowTimer(this.#growTimer);
    if (this.closed || this.#startFailures >= 3) return;
    let booting = 0;
    let count = 0;
    for (const w of this.#workers) {
      if (w.kind !== "pool") continue;
      count++;
      if (!w.ready) booting++;
    }
    const atOnce = BLOCKING_SPAWN ? 1 : Math.max(1, hardwareConcurrency());
    while (count < this.numCpus && booting < atOnce) {
      if (BLOCKING_SPAWN && count > 0 && !this.#spawnDue()) return;
      this.#markIdle(this.#spawn());
      count++;
      booting++;
    }
  }

  #growTimer: ReturnType<typeof setTimeout> | undefined;
  /** How long a worker's constructor blocks this thread, ms (a running mean, halving old figures). */
  #spawnMs = BLOCKING_SPAWN ? 65 : 1;

  /**
   * Whether starting another worker now (blocking this thread, see `#grow`) delays nothing that
   * is due, and the pool may need it: tasks wait for a slot, or each busy worker has work
   * expected to last longer than a start — or of unknown length, and running for that long
   * already (a timer asks again then). When no task runs, only from a timer set when the pool went
   * idle: the event loop is then free and no result is due, so a start delays only what the
   * program does next, and the pool still reaches its size (a program that runs one short task at
   * a time, with its own work between, does not pay for a start at each result). Dispatching a
   * long task, or tasks left waiting for a slot, ask again.
   */
  #spawnDue(): boolean {
    if (this.#queue.size > 0) return true;
    const now = performance.now();
    const spawnUs = this.#spawnMs * 1000;
    let recheck = Infinity;
    let busy = 0;
    for (const w of this.#workers) {
      if (w.kind !== "pool" || w.dead || w.inflight.size === 0) continue;
      busy++;
      if (w.expected >= UNKNOWN_US) {
        // Some of its work is of unknown length: long once it has run for a start's time.
        const at = w.busySince + this.#spawnMs;
        if (at > now) recheck = Math.min(recheck, at - now);
      } else if (w.expected < spawnUs) {
        // Its results are due before a start would end.
        this.#recheckGrow(Infinity);
        return false;
      }
    }
    if (busy === 0) {
      if (this.#growIdle) return true;
      recheck = this.#spawnMs;
    } else if (recheck === Infinity) return true;
    this.#recheckGrow(recheck);
    return false;
  }

  /** Notes that a worker start was put off, and asks `#grow` again in `ms` (when finite). */
  #recheckGrow(ms: number): void {
    this.#growWanted = true;
    if (ms !== Infinity && this.#growTimer === undefined) {
      this.#growTimer = setTimeout(this.#growSoon, Math.max(0, Math.ceil(ms)));
      (this.#growTimer as { unref?: () => void }).unref?.();
    }
  }

  /** A start was put off (see `#spawnDue`). */
  #growWanted = false;
  /** Made once, for the same reason as `#clockReset`. */
  readonly #growSoon = (): void => {
    this.#growTimer = undefined;
    this.#growWanted = false;
    this.#growIdle = true;
    this.#grow();
    this.#growIdle = false;
  };
  /** `#grow` runs from `#growSoon`'s timer: the event loop was free. */
  #growIdle = false;

  #markIdle(w: PoolWorker): void {
    if (w.idle || w.dead || w.kind !== "pool") return;
    w.idle = true;
    // A start was put off while tasks ran: ask again once the loop is free (see `#spawnDue`).
    if (this.#growWanted && this.#growTimer === undefined) this.#recheckGrow(this.#spawnMs);
    this.#idle.push(w);
  }

  #spawn(kind: "pool" | "actor" = "pool", label?: string, concurrency = 1): PoolWorker {
    const id = this.#nextWorkerId++;
    const defs = kind === "pool" ? [...this.#defs.values()].map((d) => d.wire) : [];
    const t0 = performance.now();
    const w = new PoolWorker(this, id, kind, label ?? `worker ${id}`, concurrency, defs);
    if (BLOCKING_SPAWN) this.#spawnMs = (this.#spawnMs + performance.now() - t0) / 2;
    this.#workers.push(w);
    this.#live++;
    liveWorkerCount++;
    return w;
  }

  // ---- messages from workers ---------------------------------------------------------------

  /** A "done" batch sent as JSON text (see jsonExact). */
  onDoneText(w: PoolWorker, text: string): void {
    const r = JSON.parse(text) as unknown[];
    for (let i = 1; i < r.length; i += DONE_STRIDE) {
      const status = r[i] as number;
      if (status & DONE_UNDEFINED) {
        r[i] = status & ~DONE_UNDEFINED;
        r[i + 1] = undefined;
      }
    }
    this.#done(w, r);
  }

  onMessage(w: PoolWorker, m: FromWorker): void {
    switch (m.t) {
      case "done":
        this.#done(w, m.r);
        return;
      case "ready":
        w.ready = true;
        w.rec.ready = performance.now();
        w.release();
        w.offset = m.origin - performance.timeOrigin;
        this.#startFailures = 0;
        // Dispatch first: starting a worker blocks this thread for a while in Deno (≈65 ms).
        this.flush();
        if (w.inflight.size === 0 && w.refd) {
          w.refd = false;
          w.handle.unref();
        }
        this.#grow();
        return;
      case "block":
        w.blocked++;
        this.#afterDone(w);
        return;
      case "unblock":
        w.blocked--;
        if (w.slots === 0 && w.inflight.size - w.blocked > 0) {
          // Resumes on its own worker: the pool is oversubscribed for a while, as in Ray.
          w.slots = 1;
          this.used += 1;
        }
        return;
      case "submit":
        submitForWorker(this, m);
        return;
      case "get":
        answerGet(this, w, m.req, m.ids, m.timeout, m.numReturns, m.task);
        return;
      case "put": {
        const e = this.put(m.value, m.id);
        this.export(e);
        return;
      }
      case "cancel": {
        const e = this.#exported.get(m.id);
        if (e && e[SPEC].task) this.cancel(e, m.force);
        return;
      }
      case "fault":
        w.fault = m.error;
        this.#kill(w, m.error);
        return;
      case "collected":
        w.collectWaiter?.(m.data);
        return;
      case "cancelmiss": {
        const t = w.inflight.get(m.id);
        if (t && t[STATE] === 0 && (t[BITS] & B_FORCE_CANCEL) !== 0 && !w.actor) {
          this.#forceEnd(t, w);
        }
        return;
      }
    }
  }

  #done(w: PoolWorker, r: unknown[]): void {
    const off = w.offset;
    for (let i = 0; i < r.length; i += DONE_STRIDE) {
      const id = r[i] as number;
      const t = w.inflight.get(id);
      if (!t) continue;
      w.inflight.delete(id);
      w.expected -= t[EST];
      const status = r[i + 1] as number;
      const started = r[i + 3] as number;
      const finished = r[i + 4] as number;
      const d = t[SPEC].def;
      const dur = finished - started;
      d.avg = d.runs === 0 ? dur : d.avg * 0.8 + dur * 0.2;
      d.runs++;
      if (t[SLOT] >= 0) {
        this.recorder.tasks.ran(
          t[SLOT],
          started + off,
          finished + off,
          Math.abs(r[i + 5] as number),
          status === DONE_OK,
        );
      }
      if (status === DONE_OK) {
        let v = r[i + 2];
        if (r[i + 5] as number < 0) {
          // Negative size marks a result that carries references.
          v = reviveRefs(v, (rid) => this.refFor(rid), (tag) => this.actorHandleFor?.(tag));
        }
        settle(t, 1, v);
      } else if (status === DONE_CANCELLED) {
        this.#fail(
          t,
          new TaskCancelledError(`Task '${t[SPEC].name}' (id ${t.id}) was cancelled`),
          "cancelled",
        );
      } else {
        const info = r[i + 2] as RemoteErrorInfo;
        const spec = t[SPEC];
        const a = spec.actor;
        if (a && info.name === "__ActorDead__") {
          this.#fail(t, a.dead ?? new ActorDiedError(info.message));
        } else if (a && spec.method === null) {
          // The constructor threw: the actor is dead, and so is every call to it.
          const err = new ActorDiedError(
            `Actor '${a.name}' (id ${a.id}) died: its constructor threw ${info.name}: ${info.message}`,
            { cause: new TaskError(spec.name, t.id, info) },
          );
          a.dead = err;
          this.#fail(t, err);
        } else if (!this.#retryOnError(t, info)) {
          this.#fail(t, new TaskError(spec.name, t.id, info));
        }
      }
    }
    this.#afterDone(w);
  }

  #retryOnError(t: Task, info: RemoteErrorInfo): boolean {
    const re = t[SPEC].opts.retryExceptions;
    if (!re || t[RETRIES] === 0 || t[SPEC].actor) return false;
    if (Array.isArray(re)) {
      const err = reviveError(info);
      if (!re.some((c) => (c as { name?: string }).name === err.name)) return false;
    }
    t[RETRIES]--;
    this.#countRetry(t);
    t[WORKER] = null;
    this.#queue.unshift(t);
    return true;
  }

  /** After results arrived or a task blocked: release slots and ref of an idle worker. */
  #afterDone(w: PoolWorker): void {
    if (w.inflight.size - w.blocked === 0 && w.slots > 0) {
      this.used -= w.slots;
      w.slots = 0;
    }
    if (w.inflight.size === 0 && w.refd && !w.unrefQueued) {
      // Let go of the process later, after the code awaiting this result has run: a round trip
      // submits its next task first (ref and unref cost ≈ 1 µs together in Bun).
      w.unrefQueued = true;
      afterTurn(() => {
        w.unrefQueued = false;
        if (w.inflight.size === 0 && w.refd && !w.dead) {
          w.refd = false;
          w.handle.unref();
        }
      });
    }
    if (w.inflight.size - w.blocked === 0) this.#markIdle(w);
    this.flush();
  }

  #fail(t: Task, err: Error, status: "error" | "cancelled" | "crashed" = "error"): void {
    if (t[SLOT] >= 0) {
      this.recorder.tasks.failed(
        t[SLOT],
        err instanceof TaskCancelledError
          ? S_CANCELLED
          : err instanceof WorkerCrashedError || status === "crashed"
          ? S_CRASHED
          : status === "cancelled"
          ? S_CANCELLED
          : S_ERROR,
        `${err.name}: ${err.message}`,
        performance.now(),
      );
    }
    settle(t, 2, err);
  }

  // ---- worker exits ------------------------------------------------------------------------

  /** A slot in `awake` for a new worker, or 0 when all are taken. */
  awakeSlot(): number {
    const free = this.#freeAwakeSlots.pop();
    if (free !== undefined) return free;
    const top = Atomics.load(this.awake, 0);
    if (top + 1 >= AWAKE_SLOTS) return 0;
    Atomics.store(this.awake, 0, top + 1);
    return top + 1;
  }

  /** The worker holding `slot` has ended: it is not awake, and its slot is free again. */
  releaseAwakeSlot(slot: number): void {
    if (slot === 0) return;
    Atomics.store(this.awake, slot, 0);
    this.#freeAwakeSlots.push(slot);
  }

  onExit(w: PoolWorker, code: number): void {
    if (w.dead) return;
    const reason = w.fault ? `uncaught ${w.fault.name}: ${w.fault.message}` : `exit code ${code}`;
    this.#lost(w, reason, w.fault);
  }

  /** Terminates a worker that reported an uncaught error. */
  #kill(w: PoolWorker, info: RemoteErrorInfo): void {
    if (w.dead) return;
    this.#lost(w, `uncaught ${info.name}: ${info.message}`, info);
    w.handle.terminate();
  }

  /** A worker is gone without being asked: fail or retry what it was running. */
  #lost(w: PoolWorker, reason: string, info: RemoteErrorInfo | null): void {
    this.#retire(w, reason);
    if (!w.ready) this.#startFailures++;
    const started = Atomics.load(w.counter, 0);
    const tasks = [...w.inflight.values()].sort((a, b) => a[SEQ] - b[SEQ]);
    w.inflight.clear();
    w.expected = 0;
    const requeue: Task[] = [];
    const cause = info ? reviveError(info) : undefined;
    if (w.actor) {
      const a = w.actor;
      a.dead ??= new ActorDiedError(
        `Actor '${a.name}' (id ${a.id}) died: its worker ended (${reason})`,
        { cause },
      );
      for (const t of tasks) this.#fail(t, a.dead, "crashed");
      for (const t of a.pending) this.#fail(t, a.dead, "crashed");
      a.pending = [];
      this.used -= a.numCpus;
    } else {
      for (const t of tasks) {
        if (t[STATE] !== 0) continue;
        if (t[SEQ] < started) {
          if (t[RETRIES] !== 0) {
            t[RETRIES]--;
            this.#countRetry(t);
            requeue.push(t);
          } else {
            const tries = t[SPEC].opts.maxRetries + 1;
            this.#fail(
              t,
              new WorkerCrashedError(
                `Task '${
                  t[SPEC].name
                }' (id ${t.id}) failed: worker ${w.id} died while running it (${reason}); tried ${tries} time${
                  tries === 1 ? "" : "s"
                }`,
                { cause },
              ),
              "crashed",
            );
          }
        } else requeue.push(t);
      }
    }
    if (this.#startFailures >= 3 && this.#poolWorkerCount() === 0) {
      const err = new WorkerCrashedError(
        `Cannot start workers: they died while starting (${reason})`,
        {
          cause,
        },
      );
      for (const t of [...requeue, ...this.#queue.drain()]) this.#fail(t, err, "crashed");
      return;
    }
    for (let i = requeue.length - 1; i >= 0; i--) {
      const t = requeue[i];
      t[WORKER] = null;
      this.#queue.unshift(t);
    }
    // Keep the pool at its size: a lost pool worker is replaced now, not when a start would
    // delay nothing (`#spawnDue`), as the pool had reached that size. Under Deno, after a forced
    // cancel of two tasks the second replacement came only from the grow timer, a start (≈65 ms)
    // after the first was ready; a program that counted its workers right after saw one.
    if (
      w.kind === "pool" && !this.closed && this.#startFailures < 3 &&
      this.#poolWorkerCount() < this.numCpus
    ) {
      this.#markIdle(this.#spawn());
    }
    this.#grow();
    this.flush();
  }

  /** Takes a worker out of the pool (it is dead or about to be terminated). */
  #retire(w: PoolWorker, exit?: string): void {
    if (w.dead) return;
    w.dead = true;
    this.#live--;
    liveWorkerCount--;
    w.rec.ended = performance.now();
    if (exit) w.rec.exit = exit;
    if (w.slots > 0) {
      this.used -= w.slots;
      w.slots = 0;
    }
    const i = this.#workers.indexOf(w);
    if (i >= 0) this.#workers.splice(i, 1);
  }

  // ---- cancellation ------------------------------------------------------------------------

  cancel(t: Task, force: boolean): void {
    if (t[STATE] !== 0) return;
    t[BITS] |= B_CANCELLED;
    const w = t[WORKER];
    if (!w) {
      // Waiting for arguments or a slot: it never runs.
      this.#fail(
        t,
        new TaskCancelledError(`Task '${t[SPEC].name}' (id ${t.id}) was cancelled before it ran`),
      );
      return;
    }
    const started = t[SEQ] < Atomics.load(w.counter, 0);
    if (!started) {
      // The worker may be taking it right now: it answers "cancelmiss" if so, and a forced
      // cancel then ends the worker.
      if (force) t[BITS] |= B_FORCE_CANCEL;
      else t[BITS] &= ~B_FORCE_CANCEL;
      w.post({ t: "cancel", id: t.id });
      return;
    }
    if (!force) return;
    this.#forceEnd(t, w);
  }

  #forceEnd(t: Task, w: PoolWorker): void {
    if (w.actor) {
      throw new TypeError(
        `Cannot force-cancel '${t[SPEC].name}' as it runs in an actor; use kill() on the actor`,
      );
    }
    // Running: end its worker. Other tasks sent to it go back to the queue.
    w.inflight.delete(t.id);
    w.expected -= t[EST];
    this.#fail(
      t,
      new TaskCancelledError(
        `Task '${
          t[SPEC].name
        }' (id ${t.id}) was cancelled while running (its worker was terminated)`,
      ),
    );
    this.#lost(w, "terminated by cancel(force)", null);
    w.handle.terminate();
  }

  // ---- nested calls from workers -----------------------------------------------------------

  /** Set by init.ts: builds an actor handle from its copied tag. */
  actorHandleFor?: (tag: Record<string, unknown>) => unknown;

  // ---- actors ------------------------------------------------------------------------------

  createActor(
    def: Def,
    args: unknown[],
    opts: TaskOptions,
    concurrency: number,
    scan: { bytes: number; refs: boolean },
  ): Actor {
    const id = this.#nextActorId++;
    const name = def.wire.name || "Actor";
    const w = this.#spawn("actor", `actor ${name}#${id}`, concurrency);
    const a = new Actor(id, name, def, w, opts.numCpus);
    this.used += opts.numCpus;
    w.actor = a;
    this.#actors.set(id, a);
    this.submit(def, args, { ...opts, maxRetries: 0, retryExceptions: false }, scan, a, null);
    return a;
  }

  actor(id: number): Actor | undefined {
    return this.#actors.get(id);
  }

  #actorReady(t: Task): void {
    const a = t[SPEC].actor!;
    if (a.dead) {
      this.#fail(t, a.dead);
      return;
    }
    a.pending.push(t);
    this.#actorFlush(a);
  }

  /** Sends an actor's calls in submission order, stopping at the first whose args are pending. */
  #actorFlush(a: Actor): void {
    const w = a.worker;
    let n = 0;
    while (n < a.pending.length && a.pending[n][BITS] < B_DEP) {
      const t = a.pending[n++];
      if (t[STATE] !== 0) continue;
      this.#assign(t, w);
    }
    if (n > 0) a.pending.splice(0, n);
    this.#scheduleFlush();
  }

  kill(a: Actor, reason: string): void {
    if (!a.dead) {
      a.dead = new ActorDiedError(`Actor '${a.name}' (id ${a.id}) ${reason}`);
    }
    const w = a.worker;
    if (w.dead) return;
    this.#lost(w, reason, null);
    w.handle.terminate();
  }

  // ---- shutdown ----------------------------------------------------------------------------

  /** Asks every live worker for the data its collectors hold, then ends all workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#growTimer = clearGrowTimer(this.#growTimer);
    this.#memory?.stop();
    const workers = this.#workers.slice();
    // Fail everything pending first, so no caller waits on collection. Tasks waiting for
    // arguments fail with the tasks they wait for.
    for (const t of this.#queue.drain()) this.#fail(t, shutdownError(t));
    for (const w of workers) {
      for (const t of w.inflight.values()) this.#fail(t, shutdownError(t));
      w.inflight.clear();
    }
    for (const a of this.#actors.values()) {
      for (const t of a.pending) this.#fail(t, shutdownError(t));
      a.pending = [];
      a.dead ??= new ActorDiedError(
        `Actor '${a.name}' (id ${a.id}) is gone: the runtime was shut down`,
      );
    }
    const collected = hooks().collected;
    if (collected.size > 0) {
      const names = [...collected.keys()];
      await Promise.all(workers.map((w) => this.#collect(w, names)));
    }
    for (const w of workers) {
      this.#retire(w);
      w.handle.terminate().catch(() => {});
    }
    this.#exported.clear();
  }

  #collect(w: PoolWorker, names: string[]): Promise<void> {
    if (w.dead || !w.ready) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        w.collectWaiter = null;
        resolve();
      }, 5000);
      w.collectWaiter = (data) => {
        clearTimeout(timer);
        w.collectWaiter = null;
        for (const [name, value] of Object.entries(data)) {
          try {
            hooks().collected.get(name)?.(value, w.description);
          } catch { /* a tool's handler failing must not stop shutdown */ }
        }
        resolve();
      };
      w.handle.ref();
      w.post({ t: "collect", names });
    });
  }
}

/** Whether a Worker's constructor blocks this thread until the new thread runs (see `#grow`). */
const BLOCKING_SPAWN = runtimeName === "deno";

function clearGrowTimer(t: ReturnType<typeof setTimeout> | undefined): undefined {
  if (t !== undefined) clearTimeout(t);
  return undefined;
}

/** Expected run time of a task of `d` in whole µs (an integer: see object_ref.ts's keeper). */
function estimateUs(d: Def): number {
  return d.runs > 0 ? Math.round(d.avg * 1000) : UNKNOWN_US;
}

/** Options of what is not a task (`put` values). */
const DEFAULT_OPTIONS: TaskOptions = {
  numCpus: 0,
  maxRetries: 0,
  retryExceptions: false,
  name: "",
};

function shutdownError(t: Task): Error {
  return new RuntimeShutdownError(
    `Cannot complete '${t[SPEC].name}' (id ${t.id}) as the runtime was shut down`,
  );
}

/** Worker threads alive in this process, across pools (for leak tests). */
export let liveWorkerCount = 0;
