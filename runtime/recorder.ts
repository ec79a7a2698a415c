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

/**
 * A blocked span as the recorder keeps it: the task ids as runs of consecutive ids,
 * `[first, count, first, count, ...]` (see {@linkcode addTaskId}). A `get` of the 200,000 refs of a
 * loop is one run, where an array of its ids cost ≈0.05 µs a task to build.
 */
export interface SpanEntry {
  kind: "get" | "wait";
  start: number;
  end: number;
  runs: number[];
  callsite?: string;
  worker?: number;
  task?: number;
}

/** Appends task `id` to the runs of a {@linkcode SpanEntry}. */
export function addTaskId(runs: number[], id: number): void {
  const n = runs.length;
  if (n !== 0 && runs[n - 2] + runs[n - 1] === id) runs[n - 1]++;
  else runs.push(id, 1);
}

/** The span as it appears in a {@linkcode Recording}. */
function blockedSpanOf(s: SpanEntry): BlockedSpan {
  const taskIds: number[] = [];
  const runs = s.runs;
  for (let i = 0; i < runs.length; i += 2) {
    for (let id = runs[i], end = id + runs[i + 1]; id < end; id++) taskIds.push(id);
  }
  const out: BlockedSpan = { kind: s.kind, start: s.start, end: s.end, taskIds };
  if (s.callsite !== undefined) out.callsite = s.callsite;
  if (s.worker !== undefined) out.worker = s.worker;
  if (s.task !== undefined) out.task = s.task;
  return out;
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
 * Fields of a record in {@linkcode TaskLog}'s chunks, and the record's width. The fields written
 * after submission come first, together: by the time a task is awaited, dispatched and done its
 * record has left the cache, and each of those writes then touches one or two cache lines, not
 * three.
 */
export const F_STATUS = 0,
  F_DISPATCHED = 1,
  F_WORKER = 2,
  F_STARTED = 3,
  F_FINISHED = 4,
  F_RESULT_BYTES = 5,
  F_AWAITED = 6,
  F_RETRIES = 7,
  F_ID = 8,
  F_SUBMITTED = 9,
  F_READY = 10,
  F_ARG_BYTES = 11,
  F_PARENT = 12,
  F_ACTOR = 13,
  F_KIND = 14,
  /** Index of the name in the log's name table. */
  F_NAME = 15,
  WIDTH = 16;

/**
 * Records per chunk. The ring is allocated a chunk at a time as it fills and never copied: growing
 * one array by doubling cost more than all the writes of a 200,000-task run (≈0.09 µs a task in
 * Deno: the copies, and first writes to the fresh memory of each larger array).
 */
const CHUNK_BITS = 10;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;

/**
 * The task records, as a ring of Float64Array chunks (16 numbers a record) rather than an object
 * per task: recording then allocates nothing per task and writes one contiguous record. Names are
 * kept once each in a table and records hold their index. {@linkcode TaskRecord} objects are built
 * only for a snapshot.
 *
 * `add` returns the record's number (records are numbered in the order added, from 0, across
 * `clear`). Writers pass it back, and a write happens only while the ring still holds that record:
 * whether it does is told by the number alone, so a write never waits for the record's cache line
 * to be read first.
 */
export class TaskLog {
  readonly capacity: number;
  dropped = 0;
  /** Ring index of the next record. */
  #next = 0;
  #size = 0;
  /** Records added so far: the number of the next one. */
  #added = 0;
  #chunks: Float64Array[] = [];
  #names: string[] = [];
  #nameIds = new Map<string, number>();
  #nameLimit = 1024;
  #lastName: string | undefined = undefined;
  #lastNameId = 0;
  /** Callsites by ring index, once any record has one. */
  #callsites: (string | undefined)[] | null = null;
  /** Errors by ring index: the records with status error, cancelled or crashed. */
  #errors = new Map<number, string>();
  /** Full-size chunks of a discarded log, used before allocating new ones (see `takeChunks`). */
  #spare: Float64Array[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Index of `name` in the name table, adding it if new. */
  #nameId(name: string): number {
    if (name === this.#lastName) return this.#lastNameId;
    let id = this.#nameIds.get(name);
    if (id === undefined) {
      if (this.#names.length >= this.#nameLimit) this.#compactNames();
      id = this.#names.length;
      this.#names.push(name);
      this.#nameIds.set(name, id);
    }
    this.#lastName = name;
    this.#lastNameId = id;
    return id;
  }

  /**
   * Keeps only the names of records still in the ring, so that tasks named anew each time do not
   * grow the table without bound. Runs after at least as many new names as remain, so its cost per
   * name stays constant.
   */
  #compactNames(): void {
    const old = this.#names;
    const map = new Int32Array(old.length).fill(-1);
    const names: string[] = [];
    const ids = new Map<string, number>();
    for (
      let k = 0, r = this.#oldest();
      k < this.#size;
      k++, r = r + 1 === this.capacity ? 0 : r + 1
    ) {
      const f = this.#chunks[r >>> CHUNK_BITS];
      const o = (r & CHUNK_MASK) * WIDTH;
      const was = f[o + F_NAME];
      let id = map[was];
      if (id < 0) {
        id = map[was] = names.length;
        names.push(old[was]);
        ids.set(old[was], id);
      }
      f[o + F_NAME] = id;
    }
    this.#names = names;
    this.#nameIds = ids;
    this.#nameLimit = Math.max(1024, 2 * names.length);
    this.#lastName = undefined;
  }

  /** Ring index of the oldest record. */
  #oldest(): number {
    return (this.#next - this.#size + this.capacity) % this.capacity;
  }

  /**
   * Adds a task submitted at `now`, not yet ready; `actor` is -1 and `parent` NaN when it has none.
   * Returns the record's number, or -1 when nothing is kept.
   */
  add(
    id: number,
    name: string,
    kind: number,
    now: number,
    argBytes: number,
    actor: number,
    parent: number,
  ): number {
    const cap = this.capacity;
    if (cap === 0) {
      this.dropped++;
      return -1;
    }
    // Before the ring moves on: a compaction of the name table reads the records kept so far.
    const nameId = this.#nameId(name);
    const r = this.#next;
    this.#next = r + 1 === cap ? 0 : r + 1;
    if (this.#size === cap) this.dropped++;
    else this.#size++;
    const c = r >>> CHUNK_BITS;
    let f = this.#chunks[c];
    if (f === undefined) {
      f = this.#spare.pop() ??
        new Float64Array(Math.min(CHUNK_MASK + 1, cap - (c << CHUNK_BITS)) * WIDTH);
      this.#chunks.push(f);
    }
    const o = (r & CHUNK_MASK) * WIDTH;
    // Not by the old record's status: reading the record first would wait for its cache line,
    // where writes alone do not.
    if (this.#errors.size !== 0) this.#errors.delete(r);
    if (this.#callsites !== null) this.#callsites[r] = undefined;
    f[o + F_STATUS] = S_PENDING;
    f[o + F_DISPATCHED] = NaN;
    f[o + F_WORKER] = -1;
    f[o + F_STARTED] = NaN;
    f[o + F_FINISHED] = NaN;
    f[o + F_RESULT_BYTES] = 0;
    f[o + F_AWAITED] = 0;
    f[o + F_RETRIES] = 0;
    f[o + F_ID] = id;
    f[o + F_SUBMITTED] = now;
    f[o + F_READY] = NaN;
    f[o + F_ARG_BYTES] = argBytes;
    f[o + F_PARENT] = parent;
    f[o + F_ACTOR] = actor;
    f[o + F_KIND] = kind;
    f[o + F_NAME] = nameId;
    return this.#added++;
  }

  /** Ring index of record number `n`, or -1 when the ring no longer holds it. */
  #index(n: number): number {
    const back = this.#added - n; // 1 for the newest record
    if (back > this.#size || n < 0) return -1;
    const r = this.#next - back;
    return r < 0 ? r + this.capacity : r;
  }

  /** Sets the callsite of record `n`. */
  setCallsite(n: number, callsite: string | undefined): void {
    const r = this.#index(n);
    if (r < 0 || callsite === undefined) return;
    (this.#callsites ??= new Array(this.capacity))[r] = callsite;
  }

  /** The task of record `n` has its arguments and entered the queue at `now`. */
  ready(n: number, now: number): void {
    const r = this.#index(n);
    if (r >= 0) this.#chunks[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_READY] = now;
  }

  /** The result of the task of record `n` was asked for. */
  awaited(n: number): void {
    const r = this.#index(n);
    if (r >= 0) this.#chunks[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_AWAITED] = 1;
  }

  /** The task of record `n` is run again. */
  retried(n: number): void {
    const r = this.#index(n);
    if (r >= 0) this.#chunks[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_RETRIES]++;
  }

  /** The task of record `n` was sent to `worker` at `now`. */
  dispatched(n: number, now: number, worker: number): void {
    const r = this.#index(n);
    if (r < 0) return;
    const f = this.#chunks[r >>> CHUNK_BITS];
    const o = (r & CHUNK_MASK) * WIDTH;
    f[o + F_DISPATCHED] = now;
    f[o + F_WORKER] = worker;
    f[o + F_STATUS] = S_RUNNING;
  }

  /**
   * The task of record `n` ran from `started` to `finished` (driver clock) and returned
   * `resultBytes`; with `ok` it succeeded, otherwise its status is left for `failed` or a retry.
   */
  ran(n: number, started: number, finished: number, resultBytes: number, ok: boolean): void {
    const r = this.#index(n);
    if (r < 0) return;
    const f = this.#chunks[r >>> CHUNK_BITS];
    const o = (r & CHUNK_MASK) * WIDTH;
    f[o + F_STARTED] = started;
    f[o + F_FINISHED] = finished;
    f[o + F_RESULT_BYTES] = resultBytes;
    if (ok) f[o + F_STATUS] = S_OK;
  }

  /**
   * The task of record `n` ended with `status` (error, cancelled or crashed) and `error`; it
   * finished at `now` unless a finish time was already recorded.
   */
  failed(n: number, status: number, error: string, now: number): void {
    const r = this.#index(n);
    if (r < 0) return;
    const f = this.#chunks[r >>> CHUNK_BITS];
    const o = (r & CHUNK_MASK) * WIDTH;
    f[o + F_STATUS] = status;
    this.#errors.set(r, error);
    if (Number.isNaN(f[o + F_FINISHED])) f[o + F_FINISHED] = now;
  }

  /** The record at ring index `r`, as an object. */
  record(r: number): TaskRecord {
    const f = this.#chunks[r >>> CHUNK_BITS];
    const o = (r & CHUNK_MASK) * WIDTH;
    const rec: TaskRecord = {
      id: f[o + F_ID],
      name: this.#names[f[o + F_NAME]],
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
    if (f[o + F_ACTOR] >= 0) rec.actor = f[o + F_ACTOR];
    if (!Number.isNaN(f[o + F_PARENT])) rec.parent = f[o + F_PARENT];
    const callsite = this.#callsites?.[r];
    if (callsite !== undefined) rec.callsite = callsite;
    if (f[o + F_STATUS] >= S_ERROR) {
      const error = this.#errors.get(r);
      if (error !== undefined) rec.error = error;
    }
    return rec;
  }

  /** Records, oldest first; with `since`, only those submitted at or after it (newest only). */
  toArray(since?: number): TaskRecord[] {
    const out: TaskRecord[] = [];
    const cap = this.capacity;
    let r = this.#next;
    for (let k = 0; k < this.#size; k++) {
      r = r === 0 ? cap - 1 : r - 1;
      if (
        since !== undefined &&
        this.#chunks[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_SUBMITTED] < since
      ) break;
      out.push(this.record(r));
    }
    return out.reverse();
  }

  /**
   * Takes the memory of `old`, a log nobody will read again, for records to come; `old` is left
   * empty, and writes for its records are dropped. A runtime started again (tests, the REPL, a benchmark's rounds) then
   * writes into memory that is already mapped: first writes to fresh pages cost about as much as
   * the recording itself.
   */
  takeChunks(old: TaskLog): void {
    // The runtime's state is shared by all copies of it in the thread (see hooks.ts): a log of
    // another copy is another class.
    if (old === this || !(#chunks in old)) return;
    for (const f of old.#chunks.concat(old.#spare)) {
      if (f.length === (CHUNK_MASK + 1) * WIDTH) this.#spare.push(f);
    }
    old.#chunks = [];
    old.#spare = [];
    old.clear();
  }

  /** Records kept. */
  get size(): number {
    return this.#size;
  }

  clear(): void {
    // Records keep their numbers: writes for those from before the clear are dropped (size is 0).
    this.#names = [];
    this.#nameIds = new Map();
    this.#nameLimit = 1024;
    this.#lastName = undefined;
    this.#callsites = null;
    this.#errors = new Map();
    this.#next = 0;
    this.#size = 0;
    this.dropped = 0;
  }
}

/** Holds the records of one runtime. */
export class Recorder {
  enabled: boolean;
  tasks: TaskLog;
  spans: Ring<SpanEntry>;
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
      spans: spans.map(blockedSpanOf),
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
