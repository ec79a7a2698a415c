/**
 * The scheduler's queue: first in, first out, with cheap removal at both ends (a retried task goes
 * back to the front).
 *
 * @module
 */

/** A first-in first-out queue with cheap removal at both ends. */
export class Deque<T> {
  #a: (T | undefined)[] = [];
  #h = 0;
  get size(): number {
    return this.#a.length - this.#h;
  }
  push(v: T): void {
    this.#a.push(v);
  }
  peek(): T | undefined {
    return this.#a[this.#h];
  }
  shift(): T | undefined {
    if (this.#h >= this.#a.length) return undefined;
    const v = this.#a[this.#h];
    this.#a[this.#h++] = undefined;
    if (this.#h > 4096 && this.#h * 2 > this.#a.length) {
      this.#a = this.#a.slice(this.#h);
      this.#h = 0;
    }
    return v;
  }
  unshift(v: T): void {
    if (this.#h > 0) this.#a[--this.#h] = v;
    else this.#a.unshift(v);
  }
  drain(): T[] {
    const out = this.#a.slice(this.#h) as T[];
    this.#a = [];
    this.#h = 0;
    return out;
  }
}
