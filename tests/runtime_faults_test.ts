// Worker faults: crashes, exits, out-of-memory, forced cancels; retries and replacement workers.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ray from "../mod.ts";
import {
  add,
  closeWorker,
  crashAsync,
  crashRejection,
  exitWorker,
  flaky,
  RemoteCounter,
  sleepy,
} from "./fixtures/runtime/tasks.ts";

const isBun = "Bun" in globalThis;

describe("worker faults", () => {
  const dir = mkdtempSync(join(tmpdir(), "rayprof-faults-"));
  before(() => ray.init({ numCpus: 2 }));
  after(async () => {
    await ray.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test("an uncaught error in a timer fails the task with WorkerCrashedError; the pool recovers", async () => {
    const err = await ray.get(crashAsync.options({ maxRetries: 0 }).remote()).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof ray.WorkerCrashedError, String(err));
    assert.match(
      err.message,
      /^Task 'crashAsync' \(id \d+\) failed: worker \d+ died while running it \(uncaught Error: uncaught in a timer\); tried 1 time$/,
    );
    assert.equal((err.cause as Error).message, "uncaught in a timer");
    assert.deepEqual(await ray.get([add.remote(1, 1), add.remote(2, 2), add.remote(3, 3)]), [
      2,
      4,
      6,
    ]);
  });

  test("an unhandled rejection in a task's worker is a crash too", async () => {
    const err = await ray.get(crashRejection.options({ maxRetries: 0 }).remote()).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof ray.WorkerCrashedError, String(err));
    assert.match(err.message, /uncaught Error: nobody awaits this/);
    assert.equal(await ray.get(add.remote(1, 1)), 2);
  });

  test("Deno.exit / process.exit inside a worker fails the task with the exit code", async () => {
    const err = await ray.get(exitWorker.options({ maxRetries: 0 }).remote(3)).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof ray.WorkerCrashedError, String(err));
    assert.match(err.message, /died while running it \(exit code 3\)/);
    assert.equal(await ray.get(add.remote(5, 5)), 10);
  });

  test("self.close() inside a worker is noticed", async () => {
    const err = await ray.get(closeWorker.options({ maxRetries: 0 }).remote()).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof ray.WorkerCrashedError, String(err));
    assert.match(err.message, /died while running it \(exit code \d+\)/);
    assert.equal(await ray.get(add.remote(5, 6)), 11);
  });

  test("a crashed task is retried per maxRetries (default 3) and then succeeds", async () => {
    const marker = join(dir, "flaky-a");
    assert.equal(await ray.get(flaky.remote(marker, 2)), "survived");
    const recs = ray.recording().tasks.filter((t) => t.name === "flaky");
    assert.equal(recs.at(-1)!.retries, 2);
  });

  test("retries are bounded: maxRetries 1 and two crashes give WorkerCrashedError", async () => {
    const marker = join(dir, "flaky-b");
    const err = await ray.get(flaky.options({ maxRetries: 1 }).remote(marker, 2)).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof ray.WorkerCrashedError);
    assert.match(err.message, /\(exit code 7\); tried 2 times$/);
  });

  test("tasks queued behind a crashing task on the same worker are not lost", async () => {
    // Warm up the function's duration estimate so several tasks are sent to a worker at once.
    await ray.get(Array.from({ length: 50 }, (_, i) => add.remote(i, 0)));
    const refs = [];
    for (let i = 0; i < 200; i++) refs.push(add.remote(i, 1));
    const bad = exitWorker.options({ maxRetries: 0 }).remote(9);
    for (let i = 0; i < 200; i++) refs.push(add.remote(i, 2));
    const vals = await ray.get(refs);
    assert.deepEqual(vals, [
      ...Array.from({ length: 200 }, (_, i) => i + 1),
      ...Array.from({ length: 200 }, (_, i) => i + 2),
    ]);
    await assert.rejects(ray.get(bad), { name: "WorkerCrashedError" });
  });

  test("a task that throws is retried with retryExceptions", async () => {
    // The thrower always throws, so all attempts fail: 1 + 2 retries are made.
    const { thrower } = await import("./fixtures/runtime/tasks.ts");
    const err = await ray.get(
      thrower.options({ retryExceptions: true, maxRetries: 2 }).remote("again"),
    ).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof ray.TaskError);
    const rec = ray.recording().tasks.filter((t) => t.name === "thrower").at(-1)!;
    assert.equal(rec.retries, 2);
  });

  test("an actor whose worker dies rejects its calls with ActorDiedError", async () => {
    const c = RemoteCounter.remote(0);
    assert.equal(await ray.get(c.incr.remote()), 1);
    // Kill the actor's worker from outside its methods: kill() then call.
    ray.kill(c);
    await assert.rejects(ray.get(c.incr.remote()), {
      name: "ActorDiedError",
      message: /^Actor 'Counter' \(id \d+\) was killed$/,
    });
  });

  test("workers tell each other when they are awake; a worker that dies awake frees its place", async () => {
    // Idle workers poll only while a core is to spare, judged by these flags: a flag left set by
    // a dead worker would stop them polling for good.
    const awake = (globalThis as Record<symbol, { pool: { awake: Int32Array } }>)[
      Symbol.for("rayprof.state")
    ].pool.awake;
    const count = () => {
      let n = 0;
      for (let i = Atomics.load(awake, 0); i > 0; i--) n += Atomics.load(awake, i);
      return n;
    };
    const settle = async () => {
      for (let i = 0; i < 100 && count() !== 0; i++) await new Promise((r) => setTimeout(r, 10));
      return count();
    };
    await ray.get([add.remote(1, 2), add.remote(3, 4)]);
    assert.equal(await settle(), 0, "idle workers are asleep");
    const busy = sleepy.remote(300);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(count(), 1, `the worker running a task is awake (count ${count()})`);
    await ray.get(busy);
    for (let i = 0; i < 5; i++) {
      // Dies in the middle of a task, so awake.
      await ray.get(exitWorker.options({ maxRetries: 0 }).remote(4)).catch(() => {});
    }
    assert.equal(await ray.get(add.remote(2, 2)), 4);
    assert.equal(await settle(), 0, "no dead worker still counts as awake");
    assert.ok(Atomics.load(awake, 0) <= 8, `places in use: ${Atomics.load(awake, 0)}`);
  });

  test("the driver survives many crashes in a row", async () => {
    const refs = Array.from({ length: 6 }, () => exitWorker.options({ maxRetries: 0 }).remote(1));
    const results = await Promise.allSettled(refs.map((r) => ray.get(r)));
    assert.ok(results.every((r) => r.status === "rejected"));
    assert.equal(await ray.get(sleepy.remote(10, "alive")), "alive");
    assert.equal(ray.runtimeInfo()!.workers, 2, "the pool is back at its size");
  });
});

test("a worker that runs out of memory is ended by the memory monitor; the driver lives", async () => {
  const { hog } = await import("./fixtures/runtime/tasks.ts");
  ray.init({ numCpus: 2, memoryLimitMb: 600 });
  try {
    const calm = sleepy.remote(1500, "calm");
    await new Promise((r) => setTimeout(r, 100));
    const err = await ray.get(hog.options({ maxRetries: 0 }).remote()).then(() => null, (e) => e);
    assert.ok(err instanceof ray.WorkerCrashedError, String(err));
    assert.match(err.message, /out of memory: the process used \d+ MB, over memoryLimitMb 600/);
    assert.equal(await ray.get(calm), "calm", "the other task was not touched");
    assert.equal(await ray.get(add.remote(1, 2)), 3);
  } finally {
    await ray.shutdown();
  }
  // The runaway worker is really gone, not left allocating in the background.
  let rss = Infinity;
  for (let i = 0; i < 30 && rss > 500 * 1024 * 1024; i++) {
    await new Promise((r) => setTimeout(r, 100));
    rss = process.memoryUsage.rss();
  }
  assert.ok(
    rss < 500 * 1024 * 1024,
    `process memory after shutdown: ${Math.round(rss / 1048576)} MB`,
  );
});

test("runtime name for the record", () => {
  assert.ok(isBun || "Deno" in globalThis);
});
