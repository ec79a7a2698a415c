// runtime/timing.ts: timeThis, @timed, time(), sleepSync and the document's timing line.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ray from "../mod.ts";

function collect(): { records: ray.TimingRecord[]; restore(): void } {
  const records: ray.TimingRecord[] = [];
  const prev = ray.setTimingSink((r) => records.push(r));
  return { records, restore: () => ray.setTimingSink(prev) };
}

test("formatTiming() prints the document's line", () => {
  const line = ray.formatTiming({
    name: "ex1",
    args: [],
    seconds: 2.50834,
    start: 0,
    end: 2508.34,
  });
  assert.equal(line, "| func:'ex1' args:[] took: 2.5083 seconds |");
  const withArgs = ray.formatTiming({
    name: "f",
    args: [1, "a", { k: [2] }],
    seconds: 0.1,
    start: 0,
    end: 100,
  });
  assert.equal(withArgs, "| func:'f' args:[1, 'a', { k: [ 2 ] }] took: 0.1000 seconds |");
});

test("timeThis() times sync calls, keeps this, arguments and the return value", () => {
  const c = collect();
  try {
    const obj = {
      base: 10,
      add(this: { base: number }, x: number) {
        ray.sleepSync(20);
        return this.base + x;
      },
    };
    const timedAdd = ray.timeThis(obj.add);
    assert.equal(timedAdd.call(obj, 5), 15);
    assert.equal(c.records.length, 1);
    assert.equal(c.records[0].name, "add");
    assert.deepEqual(c.records[0].args, [5]);
    assert.ok(c.records[0].seconds >= 0.019, String(c.records[0].seconds));
  } finally {
    c.restore();
  }
});

test("timeThis() awaits async functions and times the whole call", async () => {
  const c = collect();
  try {
    const slow = ray.timeThis(async function slow() {
      await new Promise((r) => setTimeout(r, 60));
      return "v";
    });
    assert.equal(await slow(), "v");
    assert.ok(c.records[0].seconds >= 0.055, String(c.records[0].seconds));
  } finally {
    c.restore();
  }
});

test("timeThis() rethrows errors (sync and async) and still records the call", async () => {
  const c = collect();
  try {
    const boom = ray.timeThis(function boom() {
      throw new TypeError("sync boom");
    });
    assert.throws(() => boom(), { name: "TypeError", message: "sync boom" });
    const aboom = ray.timeThis(async function aboom() {
      await null;
      throw new RangeError("async boom");
    });
    await assert.rejects(aboom(), { name: "RangeError", message: "async boom" });
    assert.equal(c.records.length, 2);
    assert.ok(c.records.every((r) => r.error instanceof Error));
    assert.match(ray.formatTiming(c.records[0]), /\(threw\) \|$/);
  } finally {
    c.restore();
  }
});

test("@timed times class methods (TC39 decorator)", async () => {
  const c = collect();
  try {
    class Loops {
      n = 3;
      @ray.timed
      count(extra: number) {
        return this.n + extra;
      }
      @ray.timed
      async later() {
        await new Promise((r) => setTimeout(r, 30));
        return this.n;
      }
    }
    const l = new Loops();
    assert.equal(l.count(2), 5);
    assert.equal(await l.later(), 3);
    assert.deepEqual(c.records.map((r) => r.name), ["count", "later"]);
    assert.deepEqual(c.records[0].args, [2]);
    assert.ok(c.records[1].seconds >= 0.025);
  } finally {
    c.restore();
  }
});

test("time() times a block", async () => {
  const c = collect();
  try {
    assert.equal(ray.time("block", () => 7), 7);
    assert.equal(await ray.time("async block", async () => await Promise.resolve(8)), 8);
    assert.deepEqual(c.records.map((r) => r.name), ["block", "async block"]);
  } finally {
    c.restore();
  }
});

test("timeThis() prints to standard output by default", () => {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    ray.timeThis(function ex2() {})();
  } finally {
    console.log = orig;
  }
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^\| func:'ex2' args:\[\] took: 0\.\d{4} seconds \|$/);
});

test("sleepSync() blocks for the time asked, and rejects bad input", () => {
  const t0 = performance.now();
  ray.sleepSync(50);
  const dt = performance.now() - t0;
  assert.ok(dt >= 49.5, String(dt));
  assert.throws(() => ray.sleepSync(-1), {
    name: "RangeError",
    message: "Cannot sleep as 'ms' must be a non-negative number: received -1",
  });
  assert.throws(() => ray.sleepSync(Number.NaN), { name: "RangeError" });
});

test("timeThis() of a non-function throws a TypeError", () => {
  assert.throws(() => ray.timeThis(3 as never), {
    name: "TypeError",
    message: "Cannot time a call as 'fn' must be a function: received number",
  });
});
