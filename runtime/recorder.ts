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
  /** A remote function's task, an actor method call, or an actor's creation. */
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
  /** Estimated bytes of the arguments. */
  argBytes: number;
  /** Estimated bytes of the result. */
  resultBytes: number;
  /** What became of the task so far. */
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
  /** The call that blocked. */
  kind: "get" | "wait";
  /** When the call began to wait. */
  start: number;
  /** When it returned. */
  end: number;
  /**
   * Task ids of the refs waited on: of the tasks recorded (object ids from `put` are left out, and
   * so are tasks submitted while recording was off).
   */
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
  /** Worker id, as in {@linkcode TaskRecord.worker}. */
  id: number;
  /** A pool worker, or the worker of one actor. */
  kind: "pool" | "actor";
  /** Name shown in the timeline, e.g. "worker 0". */
  label: string;
  /** When it was created. */
  started: number;
  /**
   * When it had loaded its modules and could take tasks; `NaN` until then (absent in recordings
   * saved before 2026-11-26).
   */
  ready?: number;
  /** When it was retired or died; `NaN` while alive. */
  ended: number;
  /** Exit reason when it did not end by shutdown/retirement. */
  exit?: string;
  /** On a cluster: the name of the node whose worker it is (absent for local workers). */
  node?: string;
}

/** A snapshot of what was recorded. */
export interface Recording {
  /** `performance.timeOrigin` of the driver: add to a time to get epoch milliseconds. */
  timeOrigin: number;
  /** Slots of the pool at the time of the snapshot (0 if not initialised). */
  numCpus: number;
  /** The tasks recorded, oldest first. */
  tasks: TaskRecord[];
  /** The spans where the driver, or a task, was blocked in `get` or `wait`. */
  spans: BlockedSpan[];
  /** The workers started while recording. */
  workers: WorkerRecord[];
  /** Task records overwritten because the ring was full. */
  dropped: number;
  /**
   * On a cluster: how the nodes' clocks were mapped onto the driver's (offsets estimated from
   * Redis TIME round trips), and the bound of the error of that mapping in ms.
   */
  clock?: { method: string; errorMs: number; nodes: Record<string, number> };
  /** On a cluster: the nodes seen while recording, by name: their slots and runtime. */
  nodes?: Record<string, ClusterNodeRecord>;
}

/** A cluster node, as a {@linkcode Recording} keeps it. */
export interface ClusterNodeRecord {
  /** Slots it offered (its `--num-cpus`; the most seen, if it changed). */
  slots: number;
  /** "deno 2.9.6", "bun 1.4.5". */
  runtime: string;
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
   * Most task records kept; older ones are dropped first. A record takes 64 bytes (6.4 MB at the
   * default), allocated 1,024 records at a time as the ring fills.
   * @default {100000}
   */
  capacity?: number;
}

/**
 * A fixed-size ring of records. Its array grows as records come, up to the capacity: allocating
 * the default 100,000 slots at once cost every `init()` 0.4–0.6 ms, before its first worker starts.
 */
export class Ring<T> {
  #items: (T | undefined)[] = [];
  readonly #cap: number;
  #next = 0;
  #size = 0;
  dropped = 0;

  constructor(capacity: number) {
    this.#cap = capacity;
  }

  get capacity(): number {
    return this.#cap;
  }

  /** Adds an item, overwriting the oldest when full. */
  push(item: T): void {
    const cap = this.#cap;
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
    const cap = this.#cap;
    const out: T[] = new Array(this.#size);
    let i = (this.#next - this.#size + cap) % cap;
    for (let k = 0; k < this.#size; k++) {
      out[k] = this.#items[i] as T;
      i = i + 1 === cap ? 0 : i + 1;
    }
    return out;
  }

  clear(): void {
    this.#items = [];
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
 * Fields of a record in {@linkcode TaskLog}'s chunks: indices of 32-bit words, 16 a record (64
 * bytes: one cache line, or parts of two when the engine did not align the chunk's memory to 64).
 * Times are signed whole microseconds from the base time of the record's block (see
 * {@linkcode TaskLog}); `F_NAME_KIND` holds the name's index in the log's name table times 4 plus
 * the kind. Worker and actor ids are taken to fit in 31 bits (they count workers and actors
 * started).
 *
 * `F_STATE` holds the status (low 3 bits) and the `ST_` flags telling which later fields hold
 * values: a new record leaves `F_DISPATCHED`, `F_WORKER`, `F_STARTED`, `F_FINISHED` and
 * `F_RESULT_BYTES` as the ring's last use of the memory left them, rather than writing "none" into
 * each (that was a third of what recording a task cost). `F_AUX` is 1 when awaited, plus 2 per
 * retry. The id is the int32 in `F_ID` when `F_ID_HIGH` is -1, else the float64 over both words
 * (index `F64_ID` of a float64 view; no finite float64 has -1 as its high word).
 */
export const F_SUBMITTED = 0,
  F_READY = 1,
  F_DISPATCHED = 2,
  F_STARTED = 3,
  F_FINISHED = 4,
  F_STATE = 5,
  F_WORKER = 6,
  F_RESULT_BYTES = 7,
  F_AUX = 8,
  F_NAME_KIND = 10,
  F_ACTOR = 11,
  F_PARENT = 12,
  F_ARG_BYTES = 13,
  F_ID = 14,
  F_ID_HIGH = 15,
  /** Float64 index of the id within a record (words 14 and 15), when it is not an int32. */
  F64_ID = 7,
  WIDTH = 16;
/** Flags of `F_STATE`: `F_DISPATCHED` and `F_WORKER` hold values. */
const ST_DISPATCHED = 8;
/** `F_STARTED`, `F_FINISHED` and `F_RESULT_BYTES` hold values (the task ran). */
const ST_RAN = 16;
/** `F_FINISHED` holds a value (set by a failure of a task that did not run). */
const ST_FINISHED = 32;
const STATUS_BITS = 7;

/** A time not recorded yet (`NaN`). */
const T_NONE = -0x80000000;
/** A value kept in the chunk's wide store: a time too far from its base, a size over 2 GB. */
const ESCAPED = -0x7fffffff;
/**
 * Times are kept in 32 bits when they lie less than this many microseconds from their base
 * (≈35.8 min), rounded to the nearest microsecond: they then come out between -T_LIM and T_LIM,
 * never as `T_NONE` or `ESCAPED`.
 */
const T_LIM = 0x7ffffffe;
/** Float64s a record takes in a chunk's wide store: its 5 times, result and argument bytes, parent. */
const WIDE = 8;
const W_RESULT_BYTES = 5, W_ARG_BYTES = 6, W_PARENT = 7;

/**
 * Records per chunk, and per block of record numbers sharing a base time. The ring is allocated a
 * chunk at a time as it fills and never copied: growing one array by doubling cost more than all
 * the writes of a 200,000-task run (≈0.09 µs a task in Deno: the copies, and first writes to the
 * fresh memory of each larger array).
 */
const CHUNK_BITS = 10;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;
const CHUNK_BYTES = (CHUNK_MASK + 1) * WIDTH * 4;

/** Runs a log keeps in its awaited list before writing them into its records. */
const AWAITED_RUNS = 1 << 16;

/** Runs `[first, count, ...]` sorted by first id, overlapping and adjacent ones merged. */
function mergedRuns(runs: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < runs.length; i += 2) pairs.push([runs[i], runs[i] + runs[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [start, end] of pairs) {
    const n = out.length;
    if (n !== 0 && start <= out[n - 1]) out[n - 1] = Math.max(out[n - 1], end);
    else out.push(start, end);
  }
  return out;
}

/** Whether `id` falls in the merged `[start, end, ...]` ranges (see {@linkcode mergedRuns}). */
function inRuns(ranges: number[], id: number): boolean {
  let lo = 0;
  let hi = (ranges.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (id < ranges[2 * mid]) hi = mid - 1;
    else if (id >= ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * The task records, as a ring of 64-byte records in chunks of 1,024 rather than an object per task:
 * recording then allocates nothing per task and writes one cache line per task. Names are kept
 * once each in a table and records hold their index. {@linkcode TaskRecord} objects are built only
 * for a snapshot.
 *
 * `add` returns the record's number (records are numbered in the order added, from 0, across
 * `clear`). Writers pass it back, and a write happens only while the ring still holds that record:
 * whether it does is told by the number alone, so a write never reads the record first (reading
 * would wait for its cache line, where writes alone do not).
 *
 * Times are whole microseconds from a base time, in 32 bits: the base of records 1024·b to
 * 1024·b + 1023 is the submission time of the first of them, kept in a small table outside the
 * records and found from the record's number. A time is then within 0.5 µs of the one recorded
 * however long the run (the base is a float64 on the driver's clock, the time lies within 35.8 min
 * of it, and rounding keeps equal times equal and ordered times in order). A time further from its
 * base (a long task, or 1,024 submissions spread over more than 35 minutes), a size over 2 GB or a
 * parent id from 2^31 is kept exactly in a float64 store of its chunk, allocated when first needed.
 */
export class TaskLog {
  readonly capacity: number;
  /** Ring index of the next record. */
  #next = 0;
  /** Records added so far: the number of the next one. */
  #added = 0;
  /** The number of the first record added since the last `clear`. */
  #first = 0;
  /** The records, as 32-bit words and (for ids) float64s over the same memory. */
  #words: Int32Array<ArrayBuffer>[] = [];
  #floats: Float64Array[] = [];
  /** Per chunk: exact values of what did not fit in its records' words. */
  #wide: (Float64Array | undefined)[] = [];
  /** Base times of the blocks of record numbers the ring may hold, by block number & #blockMask. */
  #bases: Float64Array;
  #blockMask: number;
  #names: string[] = [];
  #nameIds = new Map<string, number>();
  #nameLimit = 1024;
  #lastName: string | undefined = undefined;
  #lastNameId = 0;
  /** No record has had a callsite or an error since the last `clear` (see `add`). */
  #plain = true;
  /** Callsites by ring index, once any record has one. */
  #callsites: (string | undefined)[] | null = null;
  /** Errors by ring index: the records with status error, cancelled or crashed. */
  #errors = new Map<number, string>();
  /** See {@linkcode awaitedIds}. */
  #awaitedRuns: number[] = [];
  #awaitedLimit = AWAITED_RUNS;
  /** Chunk memory of a discarded log, used before allocating new (see `takeChunks`). */
  #spare: ArrayBuffer[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
    // The records held span at most this many blocks; a power of two, so that `n >>> CHUNK_BITS`
    // (exact below 2^32, then modulo 2^22) still picks the right entry for any record number.
    let blocks = 2;
    while (blocks < Math.ceil(capacity / (CHUNK_MASK + 1)) + 1) blocks *= 2;
    this.#bases = new Float64Array(blocks);
    this.#blockMask = blocks - 1;
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
      k < this.size;
      k++, r = r + 1 === this.capacity ? 0 : r + 1
    ) {
      const w = this.#words[r >>> CHUNK_BITS];
      const o = (r & CHUNK_MASK) * WIDTH + F_NAME_KIND;
      const was = w[o] >> 2;
      let id = map[was];
      if (id < 0) {
        id = map[was] = names.length;
        names.push(old[was]);
        ids.set(old[was], id);
      }
      w[o] = (id << 2) | (w[o] & 3);
    }
    this.#names = names;
    this.#nameIds = ids;
    this.#nameLimit = Math.max(1024, 2 * names.length);
    this.#lastName = undefined;
  }

  /** Ring index of the oldest record. */
  #oldest(): number {
    return (this.#next - this.size + this.capacity) % this.capacity;
  }

  /** The base time of record number `n`. */
  #base(n: number): number {
    return this.#bases[(n >>> CHUNK_BITS) & this.#blockMask];
  }

  /**
   * Writes time `t` (ms) into word `f` of the record at ring index `r`, `base` its base time: the
   * general case of what the writers inline.
   */
  #setTime(r: number, f: number, t: number, base: number): void {
    const x = (t - base) * 1000;
    const w = this.#words[r >>> CHUNK_BITS];
    const o = (r & CHUNK_MASK) * WIDTH + f;
    // `| 0` truncates toward zero: ±0.5 first makes it round to the nearest.
    if (x < T_LIM && x > -T_LIM) w[o] = (x < 0 ? x - 0.5 : x + 0.5) | 0;
    else if (t !== t) w[o] = T_NONE;
    else {
      w[o] = ESCAPED;
      this.#wideOf(r)[(r & CHUNK_MASK) * WIDE + f] = t;
    }
  }

  /** Time word `f` of the record at ring index `r`, in ms (`NaN` if none). */
  #time(r: number, f: number, base: number): number {
    const v = this.#words[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + f];
    return v > ESCAPED ? base + v / 1000 : this.#odd(r, f, v);
  }

  /** A time word that holds no time (`NaN`) or an escaped one. */
  #odd(r: number, f: number, v: number): number {
    return v === T_NONE ? NaN : this.#wide[r >>> CHUNK_BITS]![(r & CHUNK_MASK) * WIDE + f];
  }

  /** Writes `x`, a non-negative integer or `NaN` for none, into word `f` (`wf` in the wide store). */
  #setCount(r: number, f: number, wf: number, x: number): void {
    const w = this.#words[r >>> CHUNK_BITS];
    const o = (r & CHUNK_MASK) * WIDTH + f;
    if ((x | 0) === x && x >= 0) w[o] = x;
    else if (x !== x) w[o] = -1;
    else {
      w[o] = ESCAPED;
      this.#wideOf(r)[(r & CHUNK_MASK) * WIDE + wf] = x;
    }
  }

  /** The value of word `f` written by `#setCount` (`NaN` for none). */
  #count(r: number, f: number, wf: number): number {
    const v = this.#words[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + f];
    if (v >= 0) return v;
    if (v === ESCAPED) return this.#wide[r >>> CHUNK_BITS]![(r & CHUNK_MASK) * WIDE + wf];
    return NaN;
  }

  #wideOf(r: number): Float64Array {
    const c = r >>> CHUNK_BITS;
    return this.#wide[c] ??= new Float64Array(this.#words[c].length / WIDTH * WIDE);
  }

  /**
   * Adds a task submitted at `now`, and ready then (see {@linkcode notReady}); `actor` is -1 and
   * `parent` NaN when it has none. Returns the record's number, or -1 when nothing is kept.
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
    // The common case only, small enough (bytecode under 460 bytes) for V8 to inline it into the
    // caller: a call it does not inline costs the call, and a heap number for `now` every time.
    const r = this.#next;
    const n = this.#added;
    const w = this.#words[r >>> CHUNK_BITS];
    const x = (now - this.#bases[(n >>> CHUNK_BITS) & this.#blockMask]) * 1000;
    if (
      w === undefined || name !== this.#lastName || (n & CHUNK_MASK) === 0 ||
      !(x >= 0 && x < T_LIM) || parent === parent || (argBytes & 0x7fffffff) !== argBytes ||
      (id & 0x7fffffff) !== id || !this.#plain
    ) return this.#addAny(id, name, kind, now, argBytes, actor, parent);
    this.#next = r + 1 === this.capacity ? 0 : r + 1;
    this.#added = n + 1;
    // Field numbers as literals: a named constant takes more bytecode than the limit allows.
    const o = (r & CHUNK_MASK) << 4; // * WIDTH
    const t = (x + 0.5) | 0;
    w[o] = t; // F_SUBMITTED
    w[o + 1] = t; // F_READY
    w[o + 5] = 0; // F_STATE: pending, no later field set
    w[o + 8] = 0; // F_AUX: not awaited, no retries
    w[o + 10] = (this.#lastNameId << 2) | kind; // F_NAME_KIND
    w[o + 11] = actor; // F_ACTOR
    w[o + 12] = -1; // F_PARENT
    w[o + 13] = argBytes; // F_ARG_BYTES
    w[o + 14] = id; // F_ID
    w[o + 15] = -1; // F_ID_HIGH: the id is an int32
    return n;
  }

  /** `add` in every case: a new name, chunk or block, a parent, odd values, errors or callsites. */
  #addAny(
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
      this.#added++; // counted as dropped
      return -1;
    }
    // Before the ring moves on: a compaction of the name table reads the records kept so far.
    const nameId = this.#nameId(name);
    const r = this.#next;
    this.#next = r + 1 === cap ? 0 : r + 1;
    const c = r >>> CHUNK_BITS;
    let w = this.#words[c];
    if (w === undefined) {
      const buf = this.#spare.pop() ??
        new ArrayBuffer(Math.min(CHUNK_MASK + 1, cap - (c << CHUNK_BITS)) * WIDTH * 4);
      w = new Int32Array(buf);
      this.#words.push(w);
      this.#floats.push(new Float64Array(buf));
      this.#wide.push(undefined);
    }
    const n = this.#added++;
    const b = (n >>> CHUNK_BITS) & this.#blockMask;
    if ((n & CHUNK_MASK) === 0) this.#bases[b] = now;
    const k = r & CHUNK_MASK;
    const o = k * WIDTH;
    // Not by the old record's status: reading the record first would wait for its cache line.
    if (this.#errors.size !== 0) this.#errors.delete(r);
    if (this.#callsites !== null) this.#callsites[r] = undefined;
    const x = (now - this.#bases[b]) * 1000;
    if (x < T_LIM && x >= 0) w[o + F_SUBMITTED] = w[o + F_READY] = (x + 0.5) | 0;
    else {
      this.#setTime(r, F_SUBMITTED, now, this.#bases[b]);
      this.#setTime(r, F_READY, now, this.#bases[b]);
    }
    w[o + F_STATE] = S_PENDING;
    w[o + F_AUX] = 0;
    w[o + F_NAME_KIND] = (nameId << 2) | kind;
    w[o + F_ACTOR] = actor;
    if (parent !== parent) w[o + F_PARENT] = -1;
    else this.#setCount(r, F_PARENT, W_PARENT, parent);
    if ((argBytes | 0) === argBytes && argBytes >= 0) w[o + F_ARG_BYTES] = argBytes;
    else this.#setCount(r, F_ARG_BYTES, W_ARG_BYTES, argBytes);
    if ((id | 0) === id) {
      w[o + F_ID] = id;
      w[o + F_ID_HIGH] = -1;
    } else this.#floats[c][(k << 3) + F64_ID] = id;
    return n;
  }

  /** The id of the record at ring index `r`. */
  #id(r: number): number {
    const w = this.#words[r >>> CHUNK_BITS];
    const o = (r & CHUNK_MASK) * WIDTH;
    return w[o + F_ID_HIGH] === -1
      ? w[o + F_ID]
      : this.#floats[r >>> CHUNK_BITS][((r & CHUNK_MASK) << 3) + F64_ID];
  }

  /** Ring index of record number `n`, or -1 when the ring no longer holds it. */
  #index(n: number): number {
    const back = this.#added - n; // 1 for the newest record
    if (back > this.capacity || n < this.#first) return -1;
    const r = this.#next - back;
    return r < 0 ? r + this.capacity : r;
  }

  /** Sets the callsite of record `n`. */
  setCallsite(n: number, callsite: string | undefined): void {
    const r = this.#index(n);
    if (r < 0 || callsite === undefined) return;
    (this.#callsites ??= new Array(this.capacity))[r] = callsite;
    this.#plain = false;
  }

  /** The task of record `n` is waiting for arguments (it was not ready when submitted). */
  notReady(n: number): void {
    const r = this.#index(n);
    if (r >= 0) this.#words[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_READY] = T_NONE;
  }

  /** The task of record `n` has its arguments and entered the queue at `now`. */
  ready(n: number, now: number): void {
    const r = this.#index(n);
    if (r < 0) return;
    const x = (now - this.#base(n)) * 1000;
    if (x < T_LIM && x >= 0) {
      this.#words[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_READY] = (x + 0.5) | 0;
    } else this.#setTime(r, F_READY, now, this.#base(n));
  }

  /** The result of the task of record `n` was asked for. */
  awaited(n: number): void {
    const r = this.#index(n);
    if (r >= 0) this.#words[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_AUX] |= 1;
  }

  /**
   * The results of the tasks with these ids were asked for (`get`/`wait` on the driver): the ids as
   * runs of consecutive ids, `[first, count, ...]` (see {@linkcode addTaskId}). Kept as runs and
   * applied when records are read, rather than written into each record: a `get` of 50,000 refs
   * would touch 50,000 records again, long after they left the cache (≈2–3% of no-op task
   * throughput in Bun, `bench/recording_ab.ts`).
   */
  awaitedIds(runs: number[]): void {
    const list = this.#awaitedRuns;
    for (let i = 0; i < runs.length; i += 2) {
      const n = list.length;
      // A run that continues the last one (a loop of gets, one per task) extends it.
      if (n !== 0 && list[n - 2] + list[n - 1] === runs[i]) list[n - 1] += runs[i + 1];
      else list.push(runs[i], runs[i + 1]);
    }
    if (list.length > this.#awaitedLimit) this.#applyAwaited();
  }

  /** Writes the awaited runs into the records they name and forgets them (the list's bound). */
  #applyAwaited(): void {
    const runs = mergedRuns(this.#awaitedRuns);
    this.#awaitedRuns = [];
    const cap = this.capacity;
    const size = this.size;
    for (let k = 0, r = this.#oldest(); k < size; k++, r = r + 1 === cap ? 0 : r + 1) {
      if (inRuns(runs, this.#id(r))) {
        this.#words[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_AUX] |= 1;
      }
    }
    // Applying costs a pass over the ring: only after as many runs again.
    this.#awaitedLimit = Math.max(AWAITED_RUNS, size >> 2);
  }

  /** The task of record `n` is run again. */
  retried(n: number): void {
    const r = this.#index(n);
    if (r >= 0) this.#words[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_AUX] += 2;
  }

  /** The task of record `n` was sent to `worker` at `now`. */
  dispatched(n: number, now: number, worker: number): void {
    // The common case apart, as in `ran`.
    const back = this.#added - n;
    const x = (now - this.#bases[(n >>> CHUNK_BITS) & this.#blockMask]) * 1000; // #base(n)
    if (back <= this.capacity && n >= this.#first && x >= 0 && x < T_LIM) {
      const r = this.#next - back;
      const i = r < 0 ? r + this.capacity : r;
      const w = this.#words[i >>> CHUNK_BITS];
      const o = (i & CHUNK_MASK) * WIDTH;
      w[o + F_DISPATCHED] = (x + 0.5) | 0;
      w[o + F_WORKER] = worker;
      w[o + F_STATE] = S_RUNNING | ST_DISPATCHED;
    } else this.#dispatchedAny(n, now, worker);
  }

  /** `dispatched` in every case: a record no longer held, a time far from the base. */
  #dispatchedAny(n: number, now: number, worker: number): void {
    const r = this.#index(n);
    if (r < 0) return;
    this.#setTime(r, F_DISPATCHED, now, this.#base(n));
    const o = (r & CHUNK_MASK) * WIDTH;
    this.#words[r >>> CHUNK_BITS][o + F_WORKER] = worker;
    this.#words[r >>> CHUNK_BITS][o + F_STATE] = S_RUNNING | ST_DISPATCHED;
  }

  /**
   * The task of record `n`, dispatched (see {@linkcode dispatched}), ran from `started` to
   * `finished` (driver clock) and returned `resultBytes`; with `ok` it succeeded, otherwise it stays
   * running for `failed` or a retry.
   */
  ran(n: number, started: number, finished: number, resultBytes: number, ok: boolean): void {
    // The common case only, all its checks in one condition before any write: with `#index`'s
    // check and return first and the time checks after, Bun took 2.5x as long (24 ns a task
    // against 9.5–12, bench/tasklog_ops.ts). Everything else goes to `#ranAny`.
    const back = this.#added - n;
    const base = this.#bases[(n >>> CHUNK_BITS) & this.#blockMask]; // #base(n)
    const x = (started - base) * 1000;
    const y = (finished - base) * 1000;
    if (
      back <= this.capacity && n >= this.#first && x >= 0 && y < T_LIM && x <= y &&
      (resultBytes & 0x7fffffff) === resultBytes
    ) {
      const r = this.#next - back;
      const i = r < 0 ? r + this.capacity : r;
      const w = this.#words[i >>> CHUNK_BITS];
      const o = (i & CHUNK_MASK) * WIDTH;
      w[o + F_STARTED] = (x + 0.5) | 0;
      w[o + F_FINISHED] = (y + 0.5) | 0;
      w[o + F_RESULT_BYTES] = resultBytes;
      // Written whole, not read first: `dispatched` came before.
      w[o + F_STATE] = (ok ? S_OK : S_RUNNING) | ST_DISPATCHED | ST_RAN;
    } else this.#ranAny(n, started, finished, resultBytes, ok);
  }

  /**
   * `ran` in every case: a record no longer held, times far from the base or out of order (a
   * worker's time mapped onto the driver's clock may fall a little before the base), a size from
   * 2 GB.
   */
  #ranAny(n: number, started: number, finished: number, resultBytes: number, ok: boolean): void {
    const r = this.#index(n);
    if (r < 0) return;
    const base = this.#base(n);
    this.#setTime(r, F_STARTED, started, base);
    this.#setTime(r, F_FINISHED, finished, base);
    this.#setCount(r, F_RESULT_BYTES, W_RESULT_BYTES, resultBytes);
    this.#words[r >>> CHUNK_BITS][(r & CHUNK_MASK) * WIDTH + F_STATE] = (ok ? S_OK : S_RUNNING) |
      ST_DISPATCHED | ST_RAN;
  }

  /**
   * The task of record `n` ended with `status` (error, cancelled or crashed) and `error`; it
   * finished at `now` unless a finish time was already recorded.
   */
  failed(n: number, status: number, error: string, now: number): void {
    const r = this.#index(n);
    if (r < 0) return;
    const w = this.#words[r >>> CHUNK_BITS];
    const o = (r & CHUNK_MASK) * WIDTH;
    const state = w[o + F_STATE];
    w[o + F_STATE] = (state & (ST_DISPATCHED | ST_RAN)) | ST_FINISHED | status;
    this.#errors.set(r, error);
    this.#plain = false;
    if ((state & (ST_RAN | ST_FINISHED)) === 0) this.#setTime(r, F_FINISHED, now, this.#base(n));
  }

  /** The record at ring index `r`, number `n`, as an object. */
  #record(r: number, n: number): TaskRecord {
    const w = this.#words[r >>> CHUNK_BITS];
    const o = (r & CHUNK_MASK) * WIDTH;
    const base = this.#base(n);
    const nameKind = w[o + F_NAME_KIND];
    const state = w[o + F_STATE], aux = w[o + F_AUX];
    const sent = (state & ST_DISPATCHED) !== 0, ran = (state & ST_RAN) !== 0;
    const rec: TaskRecord = {
      id: this.#id(r),
      name: this.#names[nameKind >> 2],
      kind: KINDS[nameKind & 3],
      worker: sent ? w[o + F_WORKER] : -1,
      submitted: this.#time(r, F_SUBMITTED, base),
      ready: this.#time(r, F_READY, base),
      dispatched: sent ? this.#time(r, F_DISPATCHED, base) : NaN,
      started: ran ? this.#time(r, F_STARTED, base) : NaN,
      finished: ran || (state & ST_FINISHED) !== 0 ? this.#time(r, F_FINISHED, base) : NaN,
      argBytes: this.#count(r, F_ARG_BYTES, W_ARG_BYTES),
      resultBytes: ran ? this.#count(r, F_RESULT_BYTES, W_RESULT_BYTES) : 0,
      status: STATUSES[state & STATUS_BITS],
      awaited: (aux & 1) === 1,
      retries: aux >>> 1,
    };
    if (w[o + F_ACTOR] >= 0) rec.actor = w[o + F_ACTOR];
    const parent = this.#count(r, F_PARENT, W_PARENT);
    if (!Number.isNaN(parent)) rec.parent = parent;
    const callsite = this.#callsites?.[r];
    if (callsite !== undefined) rec.callsite = callsite;
    if ((state & STATUS_BITS) >= S_ERROR) {
      const error = this.#errors.get(r);
      if (error !== undefined) rec.error = error;
    }
    return rec;
  }

  /** Records, oldest first; with `since`, only those submitted at or after it (newest only). */
  toArray(since?: number): TaskRecord[] {
    const out: TaskRecord[] = [];
    const cap = this.capacity;
    const awaited = this.#awaitedRuns.length ? mergedRuns(this.#awaitedRuns) : null;
    let r = this.#next;
    const size = this.size;
    for (let k = 0, n = this.#added - 1; k < size; k++, n--) {
      r = r === 0 ? cap - 1 : r - 1;
      if (since !== undefined && this.#time(r, F_SUBMITTED, this.#base(n)) < since) break;
      const rec = this.#record(r, n);
      if (awaited && !rec.awaited && inRuns(awaited, rec.id)) rec.awaited = true;
      out.push(rec);
    }
    return out.reverse();
  }

  /**
   * Takes the memory of `old`, a log nobody will read again, for records to come; `old` is left
   * empty, and writes for its records are dropped. A runtime started again (tests, the REPL, a
   * benchmark's rounds) then writes into memory that is already mapped: first writes to fresh
   * pages cost about as much as the recording itself.
   */
  takeChunks(old: TaskLog): void {
    // The runtime's state is shared by all copies of it in the thread (see hooks.ts): a log of
    // another copy is another class.
    if (old === this || !(#words in old)) return;
    for (const w of old.#words) if (w.buffer.byteLength === CHUNK_BYTES) this.#spare.push(w.buffer);
    for (const b of old.#spare) this.#spare.push(b);
    old.#words = [];
    old.#floats = [];
    old.#wide = [];
    old.#spare = [];
    old.clear();
  }

  /** Records kept. */
  get size(): number {
    return Math.min(this.#added - this.#first, this.capacity);
  }

  /** Records overwritten because the ring was full (or not kept, at capacity 0), since `clear`. */
  get dropped(): number {
    return this.#added - this.#first - this.size;
  }

  clear(): void {
    // Records keep their numbers: writes for those from before the clear are dropped (size is 0).
    this.#names = [];
    this.#nameIds = new Map();
    this.#nameLimit = 1024;
    this.#lastName = undefined;
    this.#callsites = null;
    this.#errors = new Map();
    this.#awaitedRuns = [];
    this.#awaitedLimit = AWAITED_RUNS;
    this.#plain = true;
    this.#next = 0;
    this.#first = this.#added;
  }
}

/** Holds the records of one runtime. */
export class Recorder {
  enabled: boolean;
  tasks: TaskLog;
  spans: Ring<SpanEntry>;
  workers: WorkerRecord[] = [];
  /** On a cluster: how node clocks map onto this one (see {@linkcode Recording.clock}). */
  clock?: { method: string; errorMs: number; nodes: Record<string, number> };
  /** On a cluster: the nodes seen (see {@linkcode Recording.nodes}). */
  nodes?: Record<string, ClusterNodeRecord>;
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
      ...(this.clock ? { clock: { ...this.clock, nodes: { ...this.clock.nodes } } } : {}),
      ...(this.nodes ? { nodes: structuredClone(this.nodes) } : {}),
    };
  }

  clear(): void {
    this.tasks.clear();
    this.spans.clear();
    this.workers = this.workers.filter((w) => Number.isNaN(w.ended));
  }
}
