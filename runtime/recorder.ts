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
  /**
   * Who still updates each item (a task not yet settled), told when its item is overwritten so it
   * lets go of it: a dropped record is never seen again, and 1,000,000 queued tasks would otherwise
   * keep 1,000,000 records alive behind a ring of 100,000.
   */
  #owners: ({ rec: T | null } | undefined)[] | null = null;
  #next = 0;
  #size = 0;
  dropped = 0;

  constructor(capacity: number) {
    this.#items = new Array(capacity);
  }

  get capacity(): number {
    return this.#items.length;
  }

  /** Adds an item, overwriting the oldest when full; returns its slot (-1 if dropped at once). */
  push(item: T, owner?: { rec: T | null }): number {
    const cap = this.#items.length;
    if (cap === 0) {
      this.dropped++;
      if (owner) owner.rec = null;
      return -1;
    }
    const slot = this.#next;
    if (this.#size === cap) {
      this.dropped++;
      const old = this.#owners?.[slot];
      if (old) old.rec = null;
    } else this.#size++;
    this.#items[slot] = item;
    if (owner || this.#owners) (this.#owners ??= new Array(cap))[slot] = owner;
    this.#next = slot + 1 === cap ? 0 : slot + 1;
    return slot;
  }

  /** `owner` no longer updates its item (it settled): forget it, so the ring does not keep it. */
  release(slot: number, owner: { rec: T | null }): void {
    const owners = this.#owners;
    if (owners && slot >= 0 && owners[slot] === owner) owners[slot] = undefined;
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

  /** The newest items for which `keep` holds, walking back from the newest (oldest first). */
  newestWhile(keep: (item: T) => boolean): T[] {
    const cap = this.#items.length;
    const out: T[] = [];
    let i = this.#next;
    for (let k = 0; k < this.#size; k++) {
      i = i === 0 ? cap - 1 : i - 1;
      const item = this.#items[i] as T;
      if (!keep(item)) break;
      out.push(item);
    }
    return out.reverse();
  }

  clear(): void {
    this.#items = new Array(this.#items.length);
    this.#owners = null;
    this.#next = 0;
    this.#size = 0;
    this.dropped = 0;
  }
}

/** Holds the records of one runtime. */
export class Recorder {
  enabled: boolean;
  tasks: Ring<TaskRecord>;
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
    this.tasks = new Ring(capacity);
    this.spans = new Ring(Math.max(16, Math.min(capacity, 100_000)));
  }

  /**
   * A copy of the records. With `since`, only tasks submitted and spans started at or after it
   * (ms on the performance.now() clock): records are in submission order, so this reads only the
   * newest ones.
   */
  snapshot(since?: number): Recording {
    const tasks = since === undefined
      ? this.tasks.toArray()
      : this.tasks.newestWhile((t) => t.submitted >= since);
    const spans = since === undefined
      ? this.spans.toArray()
      : this.spans.toArray().filter((s) => s.start >= since);
    return {
      timeOrigin: performance.timeOrigin,
      numCpus: this.numCpus,
      tasks: tasks.map((r) => ({ ...r })),
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
