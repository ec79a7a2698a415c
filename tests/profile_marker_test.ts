// runtime/profile_marker.ts: `profile` does nothing (function, decorator) when the profiler is off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { profile } from "../runtime/profile_marker.ts";

test("profile() returns the function unchanged without the profiler", () => {
  const f = (x: number) => x + 1;
  assert.equal(profile(f), f);
  assert.equal(profile(f)(1), 2);
});

test("profile as a method decorator keeps the method without the profiler", () => {
  class Counter {
    n = 0;
    @profile
    add(k: number): number {
      this.n += k;
      return this.n;
    }
  }
  const c = new Counter();
  assert.equal(c.add(2), 2);
  assert.equal(c.add(3), 5);
  assert.equal(Object.getOwnPropertyNames(Counter.prototype).includes("add"), true);
});

test("profile() as a legacy decorator returns the descriptor", () => {
  const descriptor = { value: () => 1, writable: true, enumerable: false, configurable: true };
  assert.equal(profile({}, "m", descriptor), descriptor);
});
