// The Ray-style API on a pool of 2: remote, get, wait, put, cancel, actors, nested tasks, recording.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as ray from "../mod.ts";
import {
  add,
  asyncSleepy,
  Counter,
  customThrower,
  describeArgs,
  fanOut,
  fanOutTwice,
  getNested,
  identity,
  makesRef,
  noop,
  RemoteAsyncWorker,
  RemoteBroken,
  RemoteCounter,
  scaled,
  sleepy,
  thrower,
  useCounter,
} from "./fixtures/runtime/tasks.ts";

describe("runtime on a pool of 2", () => {
  before(() => ray.init({ numCpus: 2 }));
  after(() => ray.shutdown());

  test("remote() runs a function in a worker and get() returns its result", async () => {
    assert.equal(await ray.get(add.remote(2, 3)), 5);
  });

  test("get() of an array returns values in order", async () => {
    const refs = [5, 1, 3].map((ms) => sleepy.remote(ms * 20, ms));
    assert.deepEqual(await ray.get(refs), [5, 1, 3]);
  });

  test("tasks see their module's top-level constants", async () => {
    assert.equal(await ray.get(scaled.remote(4)), 40);
  });

  test("structured values survive the round trip", async () => {
    const v = {
      a: [1, 2, { b: "x" }],
      d: new Date(0),
      m: new Map([[1, "one"]]),
      u: new Uint8Array([1, 2]),
    };
    assert.deepEqual(await ray.get(identity.remote(v)), v);
  });

  test("arguments and results of every size and kind arrive intact and in order", async () => {
    // Small JSON-exact values travel through the shared-memory ring, long strings (more than a
    // quarter of the ring) and non-JSON values (Map, -0, undefined) by postMessage: mixed, in
    // sequence, many times round the ring, both ways.
    const values: unknown[] = [];
    for (let i = 0; i < 3000; i++) {
      values.push(
        i % 97 === 0
          ? "é—".repeat(9000 + i)
          : i % 31 === 0
          ? new Map([[i, "m"]])
          : i % 53 === 0
          ? -0
          : i % 89 === 0
          ? undefined
          : { i, s: "x".repeat(i % 200) },
      );
    }
    const got = await ray.get(values.map((v) => identity.remote(v)), { timeout: 30_000 });
    assert.equal(got.length, values.length);
    for (let i = 0; i < values.length; i++) assert.deepStrictEqual(got[i], values[i], `item ${i}`);
  });

  test("a ref copies as its id alone: the driver's state on it stays out of clones and JSON", async () => {
    const ref = add.remote(1, 2);
    const settled = ray.put({ big: "x".repeat(1000) });
    await ray.get(ref);
    for (const r of [ref, settled]) {
      assert.ok(r instanceof ray.ObjectRef);
      assert.deepEqual(structuredClone(r), { __rayprofRef: r.id });
      assert.equal(JSON.stringify(r), `{"__rayprofRef":${r.id}}`);
      assert.deepEqual(Object.keys(r), ["__rayprofRef"]);
    }
  });

  test("top-level refs are resolved before the task runs; nested refs arrive as refs", async () => {
    const top = add.remote(1, 1);
    const nested = ray.put(41);
    const out = await ray.get(describeArgs.remote(top, [nested]));
    assert.deepEqual(out, { top: 2, nestedIsRef: true });
    assert.equal(await ray.get(getNested.remote([nested])), 41);
  });

  test("a ref made in a worker can be returned and got on the driver", async () => {
    const out = await ray.get(makesRef.remote(9));
    assert.ok(out.inner instanceof ray.ObjectRef);
    assert.equal(await ray.get(out.inner), 9);
  });

  test("put() stores a value for many tasks", async () => {
    const ref = ray.put(10);
    assert.deepEqual(await ray.get([add.remote(ref, 1), add.remote(ref, 2)]), [11, 12]);
    assert.equal(await ray.get(ref), 10);
  });

  test("async remote functions are awaited in the worker", async () => {
    assert.equal(await ray.get(asyncSleepy.remote(10, "done")), "done");
  });

  test("wait() returns [ready, notReady] in input order", async () => {
    const slow = sleepy.remote(600, "slow");
    const fast1 = sleepy.remote(10, "f1");
    const fast2 = add.remote(1, 2);
    const [ready, notReady] = await ray.wait([slow, fast1, fast2], { numReturns: 2 });
    assert.deepEqual(ready, [fast1, fast2]);
    assert.deepEqual(notReady, [slow]);
    const [r2, n2] = await ray.wait([slow], { timeout: 10 });
    assert.deepEqual([r2.length, n2.length], [0, 1]);
    await ray.get(slow);
  });

  test("wait() rejects a numReturns larger than the list", async () => {
    const r = add.remote(1, 1);
    await assert.rejects(ray.wait([r], { numReturns: 2 }), {
      name: "RangeError",
      message:
        "Cannot wait as 'numReturns' must be an integer from 1 to 1 (the number of refs): received 2",
    });
    await ray.get(r);
  });

  test("get() with a timeout rejects with GetTimeoutError, and the task still completes", async () => {
    const r = sleepy.remote(400, "late");
    await assert.rejects(ray.get(r, { timeout: 20 }), (e: Error) => {
      assert.ok(e instanceof ray.GetTimeoutError);
      assert.match(e.message, /^Cannot get the object within 20 ms: 1 not ready$/);
      return true;
    });
    assert.equal(await ray.get(r), "late");
  });

  test("a throwing task rejects get() with TaskError carrying the remote stack; the worker stays usable", async () => {
    const err = await ray.get(thrower.remote("bad input")).then(() => null, (e) => e);
    assert.ok(err instanceof ray.TaskError);
    assert.equal(err.remoteName, "RangeError");
    assert.equal(err.taskName, "thrower");
    assert.match(err.message, /^Task 'thrower' \(id \d+\) failed: RangeError: bad input$/);
    assert.ok(err.cause instanceof Error);
    assert.equal((err.cause as Error).name, "RangeError");
    assert.equal((err.cause as Error).message, "bad input");
    const src = await import("node:fs").then((fs) =>
      fs.readFileSync(new URL("./fixtures/runtime/tasks.ts", import.meta.url), "utf8")
    );
    const line = src.split("\n").findIndex((l) => l.includes("THROW_LINE")) + 1;
    assert.match(err.stack!, new RegExp(`fixtures/runtime/tasks\\.ts:${line}:\\d+`));
    assert.doesNotMatch(err.stack!, /runtime\/worker\.ts/);
    assert.equal(await ray.get(add.remote(1, 1)), 2);
  });

  test("a custom error keeps its name and own properties in cause", async () => {
    const err = await ray.get(customThrower.remote()).then(() => null, (e) => e);
    assert.ok(err instanceof ray.TaskError);
    assert.equal(err.remoteName, "CustomError");
    assert.equal((err.cause as { code?: string }).code, "E_CUSTOM");
  });

  test("a task whose argument failed fails with that error", async () => {
    const bad = thrower.remote("upstream");
    await assert.rejects(ray.get(add.remote(bad, 1)), /RangeError: upstream/);
  });

  test("non-cloneable arguments throw a TypeError naming the position, before anything is queued", () => {
    const before = ray.recording().tasks.length;
    assert.throws(() => add.remote(1, (() => 2) as unknown as number), {
      name: "TypeError",
      message: "Cannot submit 'add' as argument 2 is a function, which cannot be sent to a worker",
    });
    assert.throws(() => identity.remote({ deep: [1, Symbol("s")] }), {
      name: "TypeError",
      message:
        "Cannot submit 'identity' as argument 1.deep[1] is a symbol, which cannot be sent to a worker",
    });
    assert.throws(() => identity.remote(Promise.resolve(1)), {
      name: "TypeError",
      message: /^Cannot submit 'identity' as argument 1 is a promise/,
    });
    assert.equal(ray.recording().tasks.length, before);
  });

  test("nested tasks do not deadlock the pool", async () => {
    assert.equal(await ray.get(fanOut.remote(6)), 6 * 7 / 2 - 0 + 0);
    assert.deepEqual(await ray.get(fanOutTwice.remote(3)), [6, 6]);
  });

  test("cancel() drops a queued task; get rejects with TaskCancelledError", async () => {
    const blockers = [sleepy.remote(300), sleepy.remote(300)];
    const queued = add.remote(1, 1);
    ray.cancel(queued);
    await assert.rejects(ray.get(queued), {
      name: "TaskCancelledError",
      message: /^Task 'add' \(id \d+\) was cancelled before it ran$/,
    });
    await ray.get(blockers);
  });

  test("cancel({ force: true }) stops a running task; the pool replaces its worker", async () => {
    const running = sleepy.remote(5000);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    ray.cancel(running, { force: true });
    await assert.rejects(ray.get(running), { name: "TaskCancelledError" });
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(await ray.get(add.remote(2, 2)), 4);
    assert.deepEqual(await ray.get([noop.remote(), noop.remote(), noop.remote()]), [
      undefined,
      undefined,
      undefined,
    ]);
  });

  test("cancel({ force: true }) right after submission stops the task even if its worker is taking it", async () => {
    for (let i = 0; i < 3; i++) {
      const r = asyncSleepy.remote(3000, "late");
      await new Promise((res) => setTimeout(res, i * 2)); // let the dispatch race the cancel
      const t0 = performance.now();
      ray.cancel(r, { force: true });
      await assert.rejects(ray.get(r), { name: "TaskCancelledError" });
      assert.ok(performance.now() - t0 < 2000, "cancelled long before the task's end");
    }
    assert.equal(await ray.get(add.remote(1, 2)), 3);
  });

  test("recording({ since }) returns only the newer tasks", async () => {
    await ray.get(add.remote(0, 0));
    const since = performance.now();
    await ray.get([add.remote(1, 1), add.remote(2, 2)]);
    const rec = ray.recording({ since });
    assert.equal(rec.tasks.length, 2);
    assert.ok(rec.tasks.every((t) => t.submitted >= since));
  });

  test("options() validates and applies", async () => {
    const named = add.options({ name: "adder" });
    assert.equal(named.name, "adder");
    assert.equal(await ray.get(named.remote(1, 2)), 3);
    for (
      const [bad, cls, msg] of [
        [
          0,
          RangeError,
          "Cannot set options of 'add' as 'numCpus' must be a positive integer: received 0",
        ],
        [
          -1,
          RangeError,
          "Cannot set options of 'add' as 'numCpus' must be a positive integer: received -1",
        ],
        [
          1.5,
          RangeError,
          "Cannot set options of 'add' as 'numCpus' must be a positive integer: received 1.5",
        ],
        [
          "4",
          TypeError,
          "Cannot set options of 'add' as 'numCpus' must be a number: received string \"4\"",
        ],
      ] as const
    ) {
      assert.throws(() => add.options({ numCpus: bad as number }), (e: Error) => {
        assert.ok(e instanceof cls, `${bad}: ${e}`);
        assert.equal(e.message, msg);
        return true;
      });
    }
    assert.throws(() => add.options({ numCPUs: 2 } as never), {
      name: "TypeError",
      message:
        "Cannot set options of 'add' as 'numCPUs' is not a known option: expected one of numCpus, maxRetries, retryExceptions, name",
    });
    assert.throws(() => add.options({ maxRetries: -2 }), { name: "RangeError" });
  });

  test("a task with numCpus 2 holds both slots", async () => {
    const big = sleepy.options({ numCpus: 2 });
    const t0 = performance.now();
    await ray.get([big.remote(200), sleepy.remote(200)]);
    assert.ok(performance.now() - t0 >= 390, "the one-slot task waited for the two-slot task");
  });

  test("actors run calls in submission order and keep state", async () => {
    const c = RemoteCounter.remote(10);
    const refs = [c.slowIncr.remote(50), c.incr.remote(), c.incr.remote(5)];
    assert.deepEqual(await ray.get(refs), [11, 12, 17]);
    assert.deepEqual(await ray.get(c.history.remote()), [11, 12, 17]);
    const err = await ray.get(c.fail.remote()).then(() => null, (e) => e);
    assert.ok(err instanceof ray.TaskError);
    assert.equal(err.remoteName, "TypeError");
    assert.equal(await ray.get(c.incr.remote()), 18, "the actor survives a throwing method");
    ray.kill(c);
    await assert.rejects(ray.get(c.incr.remote()), { name: "ActorDiedError" });
  });

  test("actor handles can be passed to tasks", async () => {
    const c = RemoteCounter.remote(0);
    assert.equal(await ray.get(useCounter.remote({ c })), 100);
    assert.equal(await ray.get(c.incr.remote()), 101);
    ray.kill(c);
  });

  test("async actors run up to maxConcurrency calls at once", async () => {
    const a = RemoteAsyncWorker.remote();
    const maxima = await ray.get([1, 2, 3, 4, 5, 6].map(() => a.work.remote(100)));
    assert.equal(Math.max(...maxima), 4);
    ray.kill(a);
  });

  test("an actor whose constructor throws is dead: calls reject with ActorDiedError", async () => {
    const b = RemoteBroken.remote();
    await assert.rejects(ray.get(b.ping.remote()), {
      name: "ActorDiedError",
      message: /constructor threw Error: constructor failed/,
    });
  });

  test("kill() of something that is not a handle throws a TypeError", () => {
    assert.throws(() => ray.kill({}), {
      name: "TypeError",
      message: "Cannot kill as 'handle' must be an actor handle: received [object Object]",
    });
  });

  test("init() twice is an error unless asked to ignore it", () => {
    assert.throws(() => ray.init(), {
      name: "RayError",
      message:
        "Cannot init as the runtime is already running: call shutdown() first, or pass ignoreReinitError: true",
    });
    ray.init({ ignoreReinitError: true });
  });

  test("recording() has a record per task with times in order", async () => {
    ray.clearRecording();
    await ray.get([sleepy.remote(30), sleepy.remote(30)]);
    const tasks = ray.recording().tasks.filter((t) => t.name === "sleepy");
    assert.equal(tasks.length, 2);
    for (const t of tasks) {
      assert.equal(t.status, "ok");
      assert.ok(t.submitted <= t.ready && t.ready <= t.dispatched, JSON.stringify(t));
      assert.ok(t.finished - t.started >= 25, JSON.stringify(t));
      assert.ok(t.worker > 0);
      assert.equal(t.awaited, true);
    }
    assert.notEqual(tasks[0].worker, tasks[1].worker, "two slots, two workers");
    const workers = ray.recording().workers;
    for (const t of tasks) {
      const w = workers.find((w) => w.id === t.worker)!;
      assert.ok(w.started <= w.ready! && w.ready! <= t.started, JSON.stringify([w, t]));
    }
  });

  test("recording(): a task waiting for an argument is ready when the argument is", async () => {
    ray.clearRecording();
    const first = sleepy.remote(60, 1);
    const second = identity.remote(first);
    const failed = thrower.remote("no");
    const after = identity.remote(failed);
    const waiting = ray.recording().tasks.find((t) => t.name === "identity")!;
    assert.ok(Number.isNaN(waiting.ready), `not ready while its argument runs: ${waiting.ready}`);
    assert.equal(await ray.get(second), 1);
    await assert.rejects(ray.get(after));
    const recs = ray.recording().tasks;
    const [s, i] = [
      recs.find((t) => t.name === "sleepy")!,
      recs.find((t) => t.name === "identity")!,
    ];
    assert.ok(s.ready === s.submitted, JSON.stringify(s));
    assert.ok(i.ready >= s.finished && i.ready <= i.dispatched, JSON.stringify([s, i]));
    const dead = recs.filter((t) => t.name === "identity")[1];
    assert.deepEqual([dead.status, dead.ready, dead.dispatched], ["error", NaN, NaN]);
    // Submitted after its argument failed: never ready either.
    const late = identity.remote(failed);
    await assert.rejects(ray.get(late));
    const lateRec = ray.recording().tasks.at(-1)!;
    assert.deepEqual([lateRec.status, lateRec.ready], ["error", NaN]);
  });
});

describe("remote() argument checks", () => {
  test("remote() of a non-function throws a TypeError", () => {
    assert.throws(() => ray.remote(42 as never), {
      name: "TypeError",
      message:
        "Cannot make a remote function as 'fn' must be a function or a class: received number 42",
    });
  });

  test("init() rejects bad numCpus with precise messages", () => {
    for (
      const [bad, cls, msg] of [
        [0, RangeError, "Cannot init as 'numCpus' must be a positive integer: received 0"],
        [-1, RangeError, "Cannot init as 'numCpus' must be a positive integer: received -1"],
        [1.5, RangeError, "Cannot init as 'numCpus' must be a positive integer: received 1.5"],
        ["4", TypeError, "Cannot init as 'numCpus' must be a number: received string \"4\""],
      ] as const
    ) {
      assert.throws(() => ray.init({ numCpus: bad as number }), (e: Error) => {
        assert.ok(e instanceof cls);
        assert.equal(e.message, msg);
        return true;
      });
      assert.equal(ray.isInitialized(), false);
    }
  });
});

describe("after shutdown()", () => {
  test("old refs and remote functions give clear errors, never a hang", async () => {
    ray.init({ numCpus: 1 });
    const done = add.remote(1, 1);
    await ray.get(done);
    const pending = sleepy.remote(2000);
    const stop = ray.shutdown();
    await assert.rejects(ray.get(pending), {
      name: "RuntimeShutdownError",
    });
    await stop;
    await ray.shutdown(); // twice is fine
    await assert.rejects(ray.get(done), {
      name: "RuntimeShutdownError",
      message: /^Cannot get ObjectRef\(\d+\) as the runtime it belongs to was shut down$/,
    });
    assert.throws(() => add.remote(1, 2), {
      name: "RuntimeShutdownError",
      message: "Cannot submit 'add' as the runtime was shut down: call init() to start it again",
    });
    ray.init({ numCpus: 1 });
    assert.throws(() => add.remote(done, 1), { name: "RuntimeShutdownError" });
    assert.equal(
      await ray.get(add.remote(2, 2)),
      4,
      "old remote functions work after a new init()",
    );
    await ray.shutdown();
  });
});

// Type-level checks: these lines must compile (deno check) — and the @ts-expect-error ones must not.
function _typeChecks() {
  const r: ray.ObjectRef<number> = add.remote(1, 2);
  const viaRef: ray.ObjectRef<number> = add.remote(r, 2);
  // @ts-expect-error: wrong argument type
  add.remote("1", 2);
  const c = RemoteCounter.remote(1);
  const n: ray.ObjectRef<number> = c.incr.remote(2);
  // @ts-expect-error: not a method of Counter
  c.nope.remote();
  const vals: Promise<[number, number]> = ray.get([r, viaRef] as const);
  void n;
  void vals;
  void Counter;
}
void _typeChecks;
