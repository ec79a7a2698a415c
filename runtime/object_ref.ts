/**
 * Object references: the futures returned by `.remote()` and `put()`.
 *
 * @module
 */

/** The runtime's own record of one object (a task's result or a `put` value). */
export class Entry {
  /** 0 pending, 1 ok, 2 failed. */
  state: 0 | 1 | 2 = 0;
  value: unknown = undefined;
  waiters: ((e: Entry) => void)[] | null = null;
  /**
   * Number of its task's record in the recorder's TaskLog (the order it was added, which tells
   * whether the ring still holds it); -1 for `put` values or none.
   */
  slot = -1;

  constructor(
    readonly id: number,
    /** Runtime generation it belongs to; refs of a shut-down runtime are dead. */
    readonly gen: number,
    /** Display name of what produces it ("func", "Counter.incr", "put"). */
    readonly name: string,
  ) {}

  settle(state: 1 | 2, value: unknown): void {
    if (this.state !== 0) return;
    this.state = state;
    this.value = value;
    const w = this.waiters;
    if (w) {
      this.waiters = null;
      for (const f of w) f(this);
    }
  }

  onSettled(f: (e: Entry) => void): void {
    if (this.state !== 0) f(this);
    else (this.waiters ??= []).push(f);
  }
}

/** Tag carried by a reference when it is copied into a worker. */
export const REF_TAG = "__rayprofRef";

/**
 * A reference to a value that a task will produce (or that `put` stored). Pass it to `get` or
 * `wait`, or to other tasks: as a top-level argument it is replaced by its value before the task
 * runs; nested inside arrays or objects it arrives as a reference.
 */
export class ObjectRef<T = unknown> {
  /** Unique id of the object (the task id for task results); copied along into workers. */
  readonly __rayprofRef: number;
  /** Phantom field carrying the value type. */
  declare readonly __type?: T;
  // A private field is not copied by structured clone: the entry stays on the driver.
  #entry: Entry | undefined;

  /** @internal Created by the runtime only. */
  constructor(id: number, entry?: Entry) {
    this.__rayprofRef = id;
    this.#entry = entry;
  }

  /** @internal */
  static entryOf(ref: ObjectRef<unknown>): Entry | undefined {
    return ref.#entry;
  }

  /** The object's id. */
  get id(): number {
    return this.__rayprofRef;
  }

  toString(): string {
    return `ObjectRef(${this.id})`;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** @internal The entry behind a reference (driver side), if any. */
export function entryOf(ref: ObjectRef<unknown>): Entry | undefined {
  return ObjectRef.entryOf(ref);
}
