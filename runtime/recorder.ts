/**
 * Task recording for timelines, diagnostics and the REPL.
 *
 * The runtime writes one {@linkcode TaskRecord} per task into a bounded ring buffer, fills its
 * fields in as the task moves along, and notes the spans where the driver was blocked in `get` or
 * `wait`. {@linkcode recording} returns a snapshot. All times are milliseconds on the driver's
 * `performance.now()` clock; worker times are mapped onto it with each worker's `timeOrigin`.
 *
 * @module
 */

/** What became of a task. */
export type TaskStatus =
  | "pending" // submitted, waiting for arguments or a slot
  | "running" // sent to a worker
  | "ok"
  | "error" // the task threw
  | "cancelled"
  | "crashed"; // its worker died

/** One task, as recorded. Fields that have not happened yet are `NaN`. */
export interface TaskRecord {
  /** Task id (also the ObjectRef's id). */
  id: number;
  /** Function name, `Class.method` for an actor call, `Class.constructor` for creation. */
  name: string;
  kind: "task" | "actor_call" | "actor_create";
  /** Worker id that ran it, -1 if none yet. */
  worker: number;
  /** Actor id for actor calls. */
  actor?: number;
  /** `.remote()` was called. */
  submitted: number;
  /** Arguments resolved; entered the queue. */
  ready: number;
  /** Sent to a worker. */
  dispatched: number;
  /** Started running in the worker. */
  started: number;
  /** Finished (result back on the driver's clock, as measured in the worker). */
  finished: number;
  /** Estimated bytes of the arguments and of the result. */
  argBytes: number;
  resultBytes: number;
  status: TaskStatus;
  /** "Name: message" when the task failed. */
  error?: string;
  /** Where `.remote()` was called, "file:///x.ts:12:5" (only when callsites are captured). */
  callsite?: string;
  /** Id of the task that submitted this one, for nested tasks. */
  parent?: number;
  /** True once the result was asked for (`get`, `wait`, passed to another task). */
  awaited: boolean;
  /** Attempts made beyond the first. */
  retries: number;
}

/** A span where the driver (or a task, for nested calls) was blocked in `get` or `wait`. */
export interface BlockedSpan {
  kind: "get" | "wait";
  start: number;
  end: number;
  /** Task ids of the refs waited on (object ids from `put` are left out). */
  taskIds: number[];
  /** Where `get`/`wait` was called, when callsites are captured. */
  callsite?: string;
  /** Worker id when a task blocked inside a worker; absent for the driver. */
  worker?: number;
  /** For a span inside a worker: the id of the task that was blocked. */
  task?: number;
}

/** A worker, as it appears in the timeline. */
export interface WorkerRecord {
  id: number;
  kind: "pool" | "actor";
  label: string;
  started: number;
  /** When it was retired or died; `NaN` while alive. */
  ended: number;
  /** Exit reason when it did not end by shutdown/retirement. */
  exit?: string;
}

/** A snapshot of what was recorded. */
export interface Recording {
  /** `performance.timeOrigin` of the driver: add to a time to get epoch milliseconds. */
  timeOrigin: number;
  /** Slots of the pool at the time of the snapshot (0 if not initialised). */
  numCpus: number;
  tasks: TaskRecord[];
  spans: BlockedSpan[];
  workers: WorkerRecord[];
  /** Task records overwritten because the ring was full. */
  dropped: number;
}

/** A recording with nothing in it. */
export function emptyRecording(): Recording {
  return {
    timeOrigin: performance.timeOrigin,
    numCpus: 0,
    tasks: [],
    spans: [],
    workers: [],
    dropped: 0,
  };
}

/** Options for recording. */
export interface RecorderOptions {
  /**
   * Record tasks at all.
   * @default {true}
   */
  enabled?: boolean;
  /**
   * Most task records kept; older ones are dropped first.
   * @default {100000}
   */
  capacity?: number;
}

/** A fixed-size ring of records. */
export class Ring<T> {
  #items: (T | undefined)[];
  #next = 0;
  #size = 0;
  dropped = 0;

  constructor(capacity: number) {
    this.#items = new Array(capacity);
  }

  get capacity(): number {
    return this.#items.length;
  }

  /** Adds an item, overwriting the oldest when full. */
  push(item: T): void {
    const cap = this.#items.length;
    if (cap === 0) {
      this.dropped++;
      return;
    }
    if (this.#size === cap) this.dropped++;
    else this.#size++;
    this.#items[this.#next] = item;
    this.#next = this.#next + 1 === cap ? 0 : this.#next + 1;
  }

  toArray(): T[] {
    const cap = this.#items.length;
    const out: T[] = new Array(this.#size);
    let i = (this.#next - this.#size + cap) % cap;
    for (let k = 0; k < this.#size; k++) {
      out[k] = this.#items[i] as T;
      i = i + 1 === cap ? 0 : i + 1;
    }
    return out;
  }

  clear(): void {
    this.#items = new Array(this.#items.length);
    this.#next = 0;
    this.#size = 0;
    this.dropped = 0;
  }
}

const STATUSES: readonly TaskStatus[] = [
  "pending",
  "running",
  "ok",
  "error",
  "cancelled",
  "crashed",
];
const KINDS: readonly TaskRecord["kind"][] = ["task", "actor_call", "actor_create"];

/** Status codes of {@linkcode TaskLog}. */
export const S_PENDING = 0, S_RUNNING = 1, S_OK = 2, S_ERROR = 3, S_CANCELLED = 4, S_CRASHED = 5;
/** Kind codes of {@linkcode TaskLog}. */
export const K_TASK = 0, K_ACTOR_CALL = 1, K_ACTOR_CREATE = 2;

/**
 * The task records, as a ring of columns (typed arrays) rather than an object per task: recording
 * then allocates nothing per task, which kept it under 5% of the throughput of no-op tasks.
 * {@linkcode TaskRecord} objects are built only for a snapshot.
 *
 * A writer keeps the slot `add` returned and writes through it only while `ids[slot]` is still
 * its task id: once the ring wraps, the slot belongs to a newer task.
 */
export class TaskLog {
  readonly capacity: number;
  dropped = 0;
  #next = 0;
  #size = 0;
  #cap = 0; // allocated so far; grows by doubling up to `capacity`
  ids = new Float64Array(0);
  submitted = new Float64Array(0);
  ready = new Float64Array(0);
  dispatched = new Float64Array(0);
  started = new Float64Array(0);
  finished = new Float64Array(0);
  argBytes = new Float64Array(0);
  resultBytes = new Float64Array(0);
  parent = new Float64Array(0);
  worker = new Int32Array(0);
  actor = new Int32Array(0);
  retries = new Int32Array(0);
  status = new Uint8Array(0);
  kind = new Uint8Array(0);
  awaited = new Uint8Array(0);
  name: string[] = [];
  callsite: (string | undefined)[] = [];
  error: (string | undefined)[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  #grow(): void {
    const cap = Math.min(this.capacity, Math.max(1024, this.#cap * 2));
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.ids = f64(this.ids);
    this.submitted = f64(this.submitted);
    this.ready = f64(this.ready);
    this.dispatched = f64(this.dispatched);
    this.started = f64(this.started);
    this.finished = f64(this.finished);
    this.argBytes = f64(this.argBytes);
    this.resultBytes = f64(this.resultBytes);
    this.parent = f64(this.parent);
    this.worker = i32(this.worker);
    this.actor = i32(this.actor);
    this.retries = i32(this.retries);
    this.status = u8(this.status);
    this.kind = u8(this.kind);
    this.awaited = u8(this.awaited);
    this.#cap = cap;
  }

  /** Adds a task submitted at `now`; returns its slot, or -1 when nothing is kept. */
  add(id: number, name: string, kind: number, now: number, argBytes: number): number {
    if (this.capacity === 0) {
      this.dropped++;
      return -1;
    }
    if (this.#next === this.#cap && this.#cap < this.capacity) this.#grow();
    const slot = this.#next;
    if (this.#size === this.capacity) this.dropped++;
    else this.#size++;
    this.#next = slot + 1 === this.capacity ? 0 : slot + 1;
    this.ids[slot] = id;
    this.submitted[slot] = now;
    this.ready[slot] = NaN;
    this.dispatched[slot] = NaN;
    this.started[slot] = NaN;
    this.finished[slot] = NaN;
    this.argBytes[slot] = argBytes;
    this.resultBytes[slot] = 0;
    this.parent[slot] = NaN;
    this.worker[slot] = -1;
    this.actor[slot] = -1;
    this.retries[slot] = 0;
    this.status[slot] = S_PENDING;
    this.kind[slot] = kind;
    this.awaited[slot] = 0;
    this.name[slot] = name;
    this.callsite[slot] = undefined;
    this.error[slot] = undefined;
    return slot;
  }

  /** `slot` if it still holds task `id`, else -1. */
  at(slot: number, id: number): number {
    return slot >= 0 && this.ids[slot] === id ? slot : -1;
  }

  /** The record in `slot`, as an object. */
  record(i: number): TaskRecord {
    const r: TaskRecord = {
      id: this.ids[i],
      name: this.name[i],
      kind: KINDS[this.kind[i]],
      worker: this.worker[i],
      submitted: this.submitted[i],
      ready: this.ready[i],
      dispatched: this.dispatched[i],
      started: this.started[i],
      finished: this.finished[i],
      argBytes: this.argBytes[i],
      resultBytes: this.resultBytes[i],
      status: STATUSES[this.status[i]],
      awaited: this.awaited[i] === 1,
      retries: this.retries[i],
    };
    if (this.actor[i] >= 0) r.actor = this.actor[i];
    if (!Number.isNaN(this.parent[i])) r.parent = this.parent[i];
    if (this.callsite[i] !== undefined) r.callsite = this.callsite[i];
    if (this.error[i] !== undefined) r.error = this.error[i];
    return r;
  }

  /** Records, oldest first; with `since`, only those submitted at or after it (newest only). */
  toArray(since?: number): TaskRecord[] {
    const out: TaskRecord[] = [];
    const cap = this.capacity;
    let i = this.#next;
    for (let k = 0; k < this.#size; k++) {
      i = i === 0 ? cap - 1 : i - 1;
      if (since !== undefined && this.submitted[i] < since) break;
      out.push(this.record(i));
    }
    return out.reverse();
  }

  /** Records kept. */
  get size(): number {
    return this.#size;
  }

  clear(): void {
    this.ids.fill(0);
    this.#next = 0;
    this.#size = 0;
    this.dropped = 0;
  }
}

/** Holds the records of one runtime. */
export class Recorder {
  enabled: boolean;
  tasks: TaskLog;
  spans: Ring<BlockedSpan>;
  workers: WorkerRecord[] = [];
  numCpus = 0;

  constructor(options: RecorderOptions = {}) {
    const capacity = options.capacity ?? 100_000;
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new RangeError(
        `Cannot record tasks as 'capacity' must be a non-negative integer: received ${capacity}`,
      );
    }
    this.enabled = options.enabled ?? true;
    this.tasks = new TaskLog(capacity);
    this.spans = new Ring(Math.max(16, Math.min(capacity, 100_000)));
  }

  /**
   * A copy of the records. With `since`, only tasks submitted and spans started at or after it
   * (ms on the performance.now() clock): records are in submission order, so this reads only the
   * newest ones.
   */
  snapshot(since?: number): Recording {
    const tasks = this.tasks.toArray(since);
    const spans = since === undefined
      ? this.spans.toArray()
      : this.spans.toArray().filter((s) => s.start >= since);
    return {
      timeOrigin: performance.timeOrigin,
      numCpus: this.numCpus,
      tasks,
      spans: spans.map((s) => ({ ...s, taskIds: s.taskIds.slice() })),
      workers: this.workers.map((w) => ({ ...w })),
      dropped: this.tasks.dropped,
    };
  }

  clear(): void {
    this.tasks.clear();
    this.spans.clear();
    this.workers = this.workers.filter((w) => Number.isNaN(w.ended));
  }
}
