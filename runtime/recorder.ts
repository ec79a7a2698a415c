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

/** Fields of a record in {@linkcode TaskLog}'s array, and the record's width. */
export const F_ID = 0,
  F_SUBMITTED = 1,
  F_READY = 2,
  F_DISPATCHED = 3,
  F_STARTED = 4,
  F_FINISHED = 5,
  F_ARG_BYTES = 6,
  F_RESULT_BYTES = 7,
  F_PARENT = 8,
  F_WORKER = 9,
  F_ACTOR = 10,
  F_RETRIES = 11,
  F_STATUS = 12,
  F_KIND = 13,
  F_AWAITED = 14,
  /** 1 when the record has a callsite or an error string. */
  F_STRINGS = 15,
  WIDTH = 16;

/**
 * The task records, as a ring in one Float64Array (16 numbers a record) rather than an object per
 * task: recording then allocates nothing per task and writes one contiguous record.
 * {@linkcode TaskRecord} objects are built only for a snapshot.
 *
 * `add` returns the record's offset in `f`. A writer keeps it and writes through it only while
 * `f[offset + F_ID]` is still its task id (see `at`): once the ring wraps, the record belongs to a
 * newer task.
 */
export class TaskLog {
  readonly capacity: number;
  dropped = 0;
  #next = 0;
  #size = 0;
  #cap = 0; // records allocated so far; grows by doubling up to `capacity`
  f = new Float64Array(0);
  name: string[] = [];
  callsite: (string | undefined)[] = [];
  error: (string | undefined)[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  #grow(): void {
    const cap = Math.min(this.capacity, Math.max(1024, this.#cap * 2));
    const f = new Float64Array(cap * WIDTH);
    f.set(this.f);
    this.f = f;
    this.#cap = cap;
  }

  /** Adds a task submitted at `now`; returns its record's offset, or -1 when nothing is kept. */
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
    const f = this.f;
    const o = slot * WIDTH;
    if (f[o + F_STRINGS] === 1) {
      this.callsite[slot] = undefined;
      this.error[slot] = undefined;
    }
    f[o + F_ID] = id;
    f[o + F_SUBMITTED] = now;
    f[o + F_READY] = NaN;
    f[o + F_DISPATCHED] = NaN;
    f[o + F_STARTED] = NaN;
    f[o + F_FINISHED] = NaN;
    f[o + F_ARG_BYTES] = argBytes;
    f[o + F_RESULT_BYTES] = 0;
    f[o + F_PARENT] = NaN;
    f[o + F_WORKER] = -1;
    f[o + F_ACTOR] = -1;
    f[o + F_RETRIES] = 0;
    f[o + F_STATUS] = S_PENDING;
    f[o + F_KIND] = kind;
    f[o + F_AWAITED] = 0;
    f[o + F_STRINGS] = 0;
    this.name[slot] = name;
    return o;
  }

  /** `offset` if it still holds task `id`, else -1. */
  at(offset: number, id: number): number {
    return offset >= 0 && this.f[offset + F_ID] === id ? offset : -1;
  }

  /** Sets the callsite of the record at `offset`. */
  setCallsite(offset: number, callsite: string | undefined): void {
    this.callsite[offset / WIDTH] = callsite;
    this.f[offset + F_STRINGS] = 1;
  }

  /** Sets the error of the record at `offset`. */
  setError(offset: number, error: string): void {
    this.error[offset / WIDTH] = error;
    this.f[offset + F_STRINGS] = 1;
  }

  /** The record in ring slot `i`, as an object. */
  record(i: number): TaskRecord {
    const f = this.f;
    const o = i * WIDTH;
    const r: TaskRecord = {
      id: f[o + F_ID],
      name: this.name[i],
      kind: KINDS[f[o + F_KIND]],
      worker: f[o + F_WORKER],
      submitted: f[o + F_SUBMITTED],
      ready: f[o + F_READY],
      dispatched: f[o + F_DISPATCHED],
      started: f[o + F_STARTED],
      finished: f[o + F_FINISHED],
      argBytes: f[o + F_ARG_BYTES],
      resultBytes: f[o + F_RESULT_BYTES],
      status: STATUSES[f[o + F_STATUS]],
      awaited: f[o + F_AWAITED] === 1,
      retries: f[o + F_RETRIES],
    };
    if (f[o + F_ACTOR] >= 0) r.actor = f[o + F_ACTOR];
    if (!Number.isNaN(f[o + F_PARENT])) r.parent = f[o + F_PARENT];
    if (f[o + F_STRINGS] === 1) {
      if (this.callsite[i] !== undefined) r.callsite = this.callsite[i];
      if (this.error[i] !== undefined) r.error = this.error[i];
    }
    return r;
  }

  /** Records, oldest first; with `since`, only those submitted at or after it (newest only). */
  toArray(since?: number): TaskRecord[] {
    const out: TaskRecord[] = [];
    const cap = this.capacity;
    let i = this.#next;
    for (let k = 0; k < this.#size; k++) {
      i = i === 0 ? cap - 1 : i - 1;
      if (since !== undefined && this.f[i * WIDTH + F_SUBMITTED] < since) break;
      out.push(this.record(i));
    }
    return out.reverse();
  }

  /** Records kept. */
  get size(): number {
    return this.#size;
  }

  clear(): void {
    this.f.fill(0);
    this.callsite = [];
    this.error = [];
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
