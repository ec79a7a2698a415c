// runtime/chrome_trace.ts and ray.timeline(): the task timeline as Chrome Trace Event JSON.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DRIVER_PID,
  DRIVER_TID,
  FALLBACK_COLOUR,
  toChromeTrace,
  toTraceFile,
  traceColour,
  type TraceEvent,
  WORKERS_PID,
} from "../runtime/chrome_trace.ts";
import {
  addTaskId,
  K_ACTOR_CALL,
  K_TASK,
  Recorder,
  type Recording,
  Ring,
  S_CANCELLED,
  S_ERROR,
  TaskLog,
  type TaskRecord,
} from "../runtime/recorder.ts";
import { ex1, ex2, ex3, Sim } from "./fixtures/timeline/simulate.ts";
import { validateTrace } from "./fixtures/timeline/validate_trace.ts";

function valid(rec: Recording): TraceEvent[] {
  const events = toChromeTrace(rec);
  assert.deepEqual(validateTrace(JSON.stringify(toTraceFile(rec, events))), []);
  return events;
}

function threadNames(events: TraceEvent[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) {
    if (e.ph === "M" && e.name === "thread_name") {
      out.set(`${e.pid}:${e.tid}`, String(e.args?.name));
    }
  }
  return out;
}

test("toChromeTrace() puts each task on its worker's track with name, id and µs times", () => {
  const rec = ex1(2);
  const events = valid(rec);
  const names = threadNames(events);
  const tasks = events.filter((e) => e.ph === "X" && e.pid === WORKERS_PID);
  assert.equal(tasks.length, 5);
  for (const [i, e] of tasks.entries()) {
    const t = rec.tasks[i];
    assert.equal(e.name, "func");
    assert.equal(e.args?.taskId, t.id);
    assert.equal(e.args?.status, "ok");
    assert.equal(e.args?.argBytes, 16);
    assert.equal(e.args?.resultBytes, 8);
    assert.equal(e.args?.callsite, "file:///work/app/loops.ts:14:20");
    assert.equal(e.ts, Math.round(t.started * 1e6) / 1000);
    assert.equal(e.dur, 500_000);
    assert.equal(names.get(`${e.pid}:${e.tid}`), `worker ${t.worker}`);
  }
  // ex1 alternates between the two workers: two tracks are used.
  assert.equal(new Set(tasks.map((e) => e.tid)).size, 2);
});

test("toChromeTrace() draws the driver's blocked get spans on the driver track", () => {
  const events = valid(ex1(2));
  const gets = events.filter((e) => e.ph === "X" && e.pid === DRIVER_PID);
  assert.equal(gets.length, 5);
  for (const g of gets) {
    assert.equal(g.name, "get");
    assert.equal(g.cname, traceColour("get"));
    assert.equal((g.args?.taskIds as number[]).length, 1);
    assert.equal(g.args?.tasks, "func");
    assert.ok((g.dur ?? 0) > 500_000);
  }
  assert.equal(threadNames(events).get(`${DRIVER_PID}:${DRIVER_TID}`), "driver");
  const ex2Get = valid(ex2(2)).find((e) => e.ph === "X" && e.name === "get");
  assert.equal(ex2Get?.args?.tasks, "func ×5");
});

test("toChromeTrace() shows queue wait as async slices from .remote() to start", () => {
  const rec = ex2(2);
  const events = valid(rec);
  const begins = events.filter((e) => e.ph === "b");
  const ends = events.filter((e) => e.ph === "e");
  assert.equal(begins.length, 5);
  assert.equal(ends.length, 5);
  // The fifth task waited for a slot until the first two finished twice over (≈1000 ms).
  const t5 = rec.tasks[4];
  const b5 = begins.find((e) => e.args?.taskId === t5.id)!;
  const e5 = ends.find((e) => e.id === b5.id)!;
  assert.equal(b5.name, "queued func");
  assert.ok(e5.ts - b5.ts > 900_000, `queued for ${e5.ts - b5.ts} µs`);
  assert.ok((b5.args?.queueWaitMs as number) > 900);
});

test("toChromeTrace() shows a worker's start-up before its first task, when it held the tasks up", () => {
  const sim = new Sim(3);
  sim.now = 5; // the first submission
  for (let i = 0; i < 3; i++) sim.submit("f", 10, 7);
  const rec = sim.recording();
  // Worker 0 was ready at 20, after its first task started (its clock mapped onto the driver's
  // puts it a little early), worker 1 just after its first task; worker 2 before any submission.
  const firstOn = (w: number) =>
    Math.min(...rec.tasks.filter((t) => t.worker === w).map((t) => t.started));
  Object.assign(rec.workers[0], { started: 0, ready: 20 });
  Object.assign(rec.workers[1], { started: 1, ready: firstOn(1) + 0.05 });
  Object.assign(rec.workers[2], { started: 0, ready: 2 });
  const ups = valid(rec).filter((e) => e.name === "worker start-up");
  assert.deepEqual(ups.map((e) => [e.tid, e.ts, e.cat, e.args?.worker]), [
    [1, 0, "worker", 0],
    [2, 1000, "worker", 1],
  ]);
  // Both cut at their worker's first task, so that the track's slices do not overlap.
  const near = (a: number | undefined, b: number) =>
    assert.ok(Math.abs((a ?? NaN) - b) < 0.01, `${a} against ${b}`);
  near(ups[0].dur, firstOn(0) * 1000);
  near(ups[1].dur, firstOn(1) * 1000 - 1000);
  assert.equal(ups[0].cname, traceColour("startup"));
});

test("toChromeTrace() marks failures, running tasks and dead workers", () => {
  const sim = new Sim(2);
  const a = sim.submit("boom", 10, 5, { status: "error", error: "Error: bad input" });
  sim.submit("slow", 50, 6, { status: "running", finished: NaN });
  sim.block([a], 7);
  sim.idle(100);
  const rec = sim.recording();
  rec.workers[1].ended = 40;
  rec.workers[1].exit = "exit code 1";
  const events = valid(rec);
  const boom = events.find((e) => e.ph === "X" && e.name === "boom")!;
  assert.equal(boom.args?.error, "Error: bad input");
  assert.equal(boom.cname, traceColour("error"));
  const slow = events.find((e) => e.ph === "X" && e.name === "slow")!;
  assert.equal(slow.cname, traceColour("running"));
  assert.ok(Number.isFinite(slow.dur) && (slow.dur ?? 0) > 0);
  const exit = events.find((e) => e.ph === "i")!;
  assert.equal(exit.name, "worker exited: exit code 1");
  assert.equal(exit.tid, 2);
});

test("toChromeTrace() moves overlapping tasks of one worker to extra lanes", () => {
  const sim = new Sim(1);
  sim.submit("a", 100);
  sim.submit("b", 100);
  const rec = sim.recording();
  // An async task: b started while a was still running on the same worker.
  rec.tasks[1].started = rec.tasks[0].started + 10;
  rec.tasks[1].finished = rec.tasks[1].started + 100;
  const events = valid(rec);
  const [a, b] = ["a", "b"].map((n) => events.find((e) => e.ph === "X" && e.name === n)!);
  assert.notEqual(a.tid, b.tid);
  assert.match(threadNames(events).get(`${b.pid}:${b.tid}`)!, /worker 0 \(lane 2\)/);
});

test("toChromeTrace() trims sub-0.1 ms overlaps from worker clock mapping instead of laning", () => {
  const sim = new Sim(1);
  sim.submit("a", 100);
  sim.submit("b", 100);
  const rec = sim.recording();
  rec.tasks[1].started = rec.tasks[0].finished - 0.05;
  const events = valid(rec);
  const [a, b] = ["a", "b"].map((n) => events.find((e) => e.ph === "X" && e.name === n)!);
  assert.equal(a.tid, b.tid);
  assert.equal(b.ts, a.ts + (a.dur ?? 0));
});

test("toChromeTrace() nests a task's own blocked span inside its slice", () => {
  const sim = new Sim(2);
  const parent = sim.submit("parent", 100);
  const rec = sim.recording();
  const p = rec.tasks[parent - 1];
  // Worker clocks are mapped; the span sticks out of the parent by a few µs on both sides.
  rec.spans.push({
    kind: "get",
    start: p.started - 0.003,
    end: p.finished + 0.004,
    taskIds: [],
    worker: 0,
  });
  const events = valid(rec);
  const host = events.find((e) => e.name === "parent")!;
  const span = events.find((e) => e.name === "get")!;
  assert.equal(span.tid, host.tid);
  assert.ok(span.ts >= host.ts && span.ts + (span.dur ?? 0) <= host.ts + (host.dur ?? 0));
});

test("toChromeTrace() of an empty recording has only the track names", () => {
  const events = valid({
    timeOrigin: 0,
    numCpus: 2,
    tasks: [],
    spans: [],
    workers: [],
    dropped: 0,
  });
  assert.ok(events.every((e) => e.ph === "M"));
});

test("traceColour() falls back for kinds it does not know", () => {
  assert.equal(traceColour("task"), "thread_state_running");
  assert.equal(traceColour("no such kind"), FALLBACK_COLOUR);
  assert.equal(traceColour("toString"), FALLBACK_COLOUR);
});

test("toTraceFile() wraps the events in the JSON Object Format with metadata", () => {
  const rec = ex3(2);
  const file = toTraceFile(rec);
  assert.equal(file.displayTimeUnit, "ms");
  assert.equal(file.otherData.timeOrigin, rec.timeOrigin);
  assert.equal(file.otherData.tasks, 10);
  const names = new Set(file.traceEvents.filter((e) => e.ph === "X").map((e) => e.name));
  assert.deepEqual([...names].sort(), ["func", "get", "other_func"]);
  assert.deepEqual(validateTrace(JSON.stringify(file)), []);
});

test("validateTrace() rejects slices that overlap without nesting", () => {
  const bad = {
    traceEvents: [
      { name: "process_name", ph: "M", ts: 0, pid: 1, tid: 0, args: { name: "p" } },
      { name: "thread_name", ph: "M", ts: 0, pid: 1, tid: 0, args: { name: "t" } },
      { name: "a", ph: "X", ts: 0, dur: 10, pid: 1, tid: 0 },
      { name: "b", ph: "X", ts: 5, dur: 10, pid: 1, tid: 0 },
    ],
  };
  assert.equal(validateTrace(JSON.stringify(bad)).length, 1);
});

test("timeline() returns the events of a real run, or writes them as a trace file", async () => {
  const ray = await import("../mod.ts");
  const { clearRecording } = await import("../runtime/mod.ts");
  const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { func, otherFunc } = await import("./fixtures/timeline/loops_small.ts");
  ray.init({ numCpus: 2, ignoreReinitError: true });
  const dir = mkdtempSync(join(tmpdir(), "rayprof-timeline-"));
  try {
    clearRecording();
    await ray.get([func.remote(), otherFunc.remote(), func.remote()]);
    const events = ray.timeline();
    // Tasks' slices; the workers' start-up shows too when it held the tasks up (cat "worker").
    const slices = events.filter((e) =>
      e.ph === "X" && e.pid === WORKERS_PID && e.cat !== "worker"
    );
    assert.deepEqual(slices.map((e) => e.name).sort(), ["func", "func", "other_func"]);
    for (const s of slices) {
      assert.equal(typeof s.args?.taskId, "number");
      assert.equal(s.args?.status, "ok");
      // 40 ms and 20 ms of sleepSync: a slice cannot be shorter than its task's sleep.
      assert.ok(
        (s.dur ?? 0) >= (s.name === "func" ? 39_000 : 19_000),
        `${s.name} lasted ${s.dur} µs`,
      );
    }
    const get = events.find((e) => e.ph === "X" && e.pid === DRIVER_PID && e.name === "get");
    assert.equal((get?.args?.taskIds as number[]).length, 3);
    const path = join(dir, "trace.json");
    assert.equal(await ray.timeline(path), undefined);
    const text = readFileSync(path, "utf8");
    assert.deepEqual(validateTrace(text), []);
    assert.equal(
      JSON.parse(text).traceEvents.filter((e: TraceEvent) => e.ph === "X" && e.cat !== "worker")
        .length,
      4,
    );
  } finally {
    await ray.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("toChromeTrace() of a real run with nested tasks, actors and async actor calls is valid", async () => {
  const ray = await import("../mod.ts");
  const { clearRecording, recording } = await import("../runtime/mod.ts");
  const { fanOutTwice, RemoteCounter, RemoteAsyncWorker, thrower } = await import(
    "./fixtures/runtime/tasks.ts"
  );
  ray.init({ numCpus: 2, ignoreReinitError: true });
  try {
    clearRecording();
    await ray.get(fanOutTwice.remote(3));
    const counter = RemoteCounter.remote(0);
    await ray.get([counter.incr.remote(), counter.slowIncr.remote(20)]);
    const aw = RemoteAsyncWorker.remote();
    const maxActive = Math.max(
      ...(await ray.get([aw.work.remote(40), aw.work.remote(40), aw.work.remote(40)])),
    );
    await assert.rejects(ray.get(thrower.remote("bad")));
    const rec = recording();
    const events = valid(rec);
    const names = [...threadNames(events).values()];
    assert.ok(names.includes("actor Counter#1"), names.join(", "));
    const asyncLanes = names.filter((n) => n.startsWith("actor AsyncWorker")).length;
    // Calls that overlapped inside the actor are laid on lanes of its track (the constructor's
    // slice may overlap them too: it includes loading the actor's module).
    assert.ok(asyncLanes >= maxActive && maxActive >= 2, `${maxActive}: ${names.join(", ")}`);
    const failed = events.find((e) => e.ph === "X" && e.name === "thrower");
    assert.equal(failed?.args?.status, "error");
    assert.match(String(failed?.args?.error), /bad/);
    // fanOut and add ran nested: their parents are recorded.
    const add = events.find((e) => e.ph === "X" && e.name === "add");
    assert.equal(typeof add?.args?.parent, "number");
  } finally {
    await ray.shutdown();
  }
});

test("toChromeTrace() counts the tasks waiting for a slot on a counter track", () => {
  const events = valid(ex2(2));
  const samples = events.filter((e) => e.ph === "C" && e.name === "tasks queued");
  // 5 tasks on 2 slots: 3 wait; one leaves as each worker frees up, the last after round two.
  assert.deepEqual(samples.map((e) => e.args?.queued), [1, 2, 3, 2, 1, 0]);
  assert.ok(samples.every((e, i) => i === 0 || e.ts > samples[i - 1].ts));
  assert.equal(valid(ex1(2)).filter((e) => e.ph === "C").length, 0);
});

test("TaskLog keeps every field of a record through its encoding", () => {
  const log = new TaskLog(8);
  const r = log.add(7, "Counter.incr", K_ACTOR_CALL, 10.25, 123, 3, 5);
  log.setCallsite(r, "file:///x.ts:12:5");
  log.ready(r, 10.5);
  log.awaited(r);
  log.dispatched(r, 11, 2);
  log.ran(r, 11.5, 12.75, 456, false);
  log.retried(r);
  log.failed(r, S_ERROR, "Error: bad", 20);
  const plain = log.add(8, "f", K_TASK, 13, 0, -1, NaN);
  const waiting = log.add(9, "g", K_TASK, 13.5, 0, -1, NaN);
  log.notReady(waiting);
  log.dispatched(plain, 13.75, 1);
  log.ran(plain, 14, 15, 8, true);
  const expected: TaskRecord[] = [{
    id: 7,
    name: "Counter.incr",
    kind: "actor_call",
    worker: 2,
    actor: 3,
    submitted: 10.25,
    ready: 10.5,
    dispatched: 11,
    started: 11.5,
    finished: 12.75, // already set: a failure keeps it
    argBytes: 123,
    resultBytes: 456,
    status: "error",
    error: "Error: bad",
    callsite: "file:///x.ts:12:5",
    parent: 5,
    awaited: true,
    retries: 1,
  }, {
    id: 8,
    name: "f",
    kind: "task",
    worker: 1,
    submitted: 13,
    ready: 13, // ready when submitted, unless told otherwise
    dispatched: 13.75,
    started: 14,
    finished: 15,
    argBytes: 0,
    resultBytes: 8,
    status: "ok",
    awaited: false,
    retries: 0,
  }, {
    id: 9,
    name: "g",
    kind: "task",
    worker: -1,
    submitted: 13.5,
    ready: NaN,
    dispatched: NaN,
    started: NaN,
    finished: NaN,
    argBytes: 0,
    resultBytes: 0,
    status: "pending",
    awaited: false,
    retries: 0,
  }];
  assert.deepEqual(log.toArray(), expected);
  assert.deepEqual(log.toArray(13), expected.slice(1));
});

test("TaskLog keeps the newest records when the ring wraps, and drops writes to overwritten ones", () => {
  const cap = 2500; // over two chunks of the ring, the last one partial
  const log = new TaskLog(cap);
  const slots: number[] = [];
  for (let id = 1; id <= 6000; id++) {
    slots[id] = log.add(id, `f${id % 3}`, K_TASK, id, id, -1, NaN);
    if (id % 7 === 0) log.failed(slots[id], S_CANCELLED, `E${id}`, id + 0.5);
    if (id % 5 === 0) log.setCallsite(slots[id], `site${id}`);
  }
  // Records of tasks 1..3500 now hold tasks 3501..6000: writes for the old records do nothing.
  log.dispatched(slots[1], 99, 9);
  log.awaited(slots[2]);
  const recs = log.toArray();
  assert.equal(recs.length, cap);
  assert.equal(log.dropped, 6000 - cap);
  recs.forEach((t, i) => {
    const id = 3501 + i;
    assert.equal(t.id, id);
    assert.equal(t.name, `f${id % 3}`);
    assert.equal(t.submitted, id);
    assert.equal(t.argBytes, id);
    assert.equal(t.dispatched, NaN);
    assert.equal(t.awaited, false);
    assert.equal(t.error, id % 7 === 0 ? `E${id}` : undefined, `error of ${id}`);
    assert.equal(t.status, id % 7 === 0 ? "cancelled" : "pending");
    assert.equal(t.callsite, id % 5 === 0 ? `site${id}` : undefined, `callsite of ${id}`);
  });
  assert.deepEqual(log.toArray(5999).map((t) => t.id), [5999, 6000]);
  log.dispatched(slots[3501], 3507.5, 3); // the oldest record kept, and the newest
  log.dispatched(slots[6000], 6008.25, 4);
  log.ran(slots[3501], 3510, 3511.125, 4, true);
  assert.deepEqual(
    log.toArray().filter((t) => t.worker >= 0).map((t) => [t.id, t.dispatched, t.finished]),
    [[3501, 3507.5, 3511.125], [6000, 6008.25, NaN]],
  );
  log.clear();
  assert.deepEqual(log.toArray(), []);
  log.awaited(slots[6000]);
  assert.equal(log.add(1, "g", K_TASK, 1, 0, -1, NaN), 6000); // numbers go on after a clear
  assert.deepEqual(log.toArray().map((t) => [t.id, t.name, t.awaited, t.error]), [
    [1, "g", false, undefined],
  ]);
});

test("TaskLog's new records show nothing of the records whose memory they take", () => {
  // A new record leaves the fields of later stages unwritten: they must read as "none", whether
  // the ring wrapped over older records or the memory came from another log (takeChunks).
  const used = (log: TaskLog, from: number) => {
    for (let id = from; id < from + 1030; id++) {
      const n = log.add(id, "old", K_TASK, id, 9, -1, NaN);
      log.dispatched(n, id + 1, 3);
      log.ran(n, id + 2, id + 3, 77, false);
      log.awaited(n);
      log.retried(n);
      log.failed(n, S_ERROR, "Error: old", id + 4);
    }
  };
  const fresh = (log: TaskLog, from: number) => {
    for (let id = from; id < from + 1030; id++) log.add(id, "new", K_TASK, id, 1, -1, NaN);
    const recs = log.toArray().filter((t) => t.name === "new");
    assert.equal(recs.length, 1030);
    for (const t of recs) {
      assert.deepEqual(
        [t.worker, t.dispatched, t.started, t.finished, t.resultBytes, t.status, t.awaited],
        [-1, NaN, NaN, NaN, 0, "pending", false],
        `record ${t.id}`,
      );
      assert.equal(t.retries, 0);
      assert.equal(t.error, undefined);
      assert.equal(t.ready, t.submitted);
    }
  };
  const ring = new TaskLog(1030);
  used(ring, 1);
  fresh(ring, 2000);
  const old = new TaskLog(2048);
  used(old, 1);
  const next = new TaskLog(2048);
  next.takeChunks(old);
  fresh(next, 5000);
  assert.deepEqual(old.toArray(), []);
});

test("TaskLog marks awaited the tasks named by runs of ids, when read and when its list is full", () => {
  const log = new TaskLog(200_000);
  for (let id = 1; id <= 150_000; id++) log.add(id, "f", K_TASK, id, 0, -1, NaN);
  log.awaitedIds([10, 3, 20, 1]); // 10, 11, 12 and 20
  log.awaitedIds([13, 2]); // continues 10..12: one run
  const awaited = () => log.toArray().filter((t) => t.awaited).map((t) => t.id);
  assert.deepEqual(awaited(), [10, 11, 12, 13, 14, 20]);
  assert.deepEqual(log.toArray(149_999).map((t) => [t.id, t.awaited]), [[149_999, false], [
    150_000,
    false,
  ]]);
  // Every other task awaited, one get each: 70,000 runs, more than the list keeps, so it is written
  // into the records (and the marks above stay).
  for (let id = 1_001; id < 141_001; id += 2) log.awaitedIds([id, 1]);
  const got = new Set(awaited());
  assert.equal(got.size, 6 + 70_000);
  assert.ok(got.has(1_001) && got.has(140_999) && !got.has(1_002) && !got.has(141_001));
  assert.ok(got.has(10) && got.has(20) && !got.has(15));
  log.clear();
  assert.equal(log.add(7, "g", K_TASK, 1, 0, -1, NaN), 150_000);
  assert.deepEqual(log.toArray().map((t) => t.awaited), [false], "a clear forgets the runs");
});

test("TaskLog writes the same fields whichever way add() takes (common case, or in full)", () => {
  // The second and later adds of one name take add()'s short path; a parent, an error recorded
  // before or a new block of 1,024 records take the full one. Both must write the same record.
  const log = new TaskLog(4096);
  const want: TaskRecord[] = [];
  for (let i = 0; i < 2100; i++) {
    const parent = i % 500 === 7 ? i - 1 : NaN;
    const n = log.add(i + 10, "Counter.incr", K_ACTOR_CALL, 100 + i / 8, i * 3, 4, parent);
    const rec: TaskRecord = {
      id: i + 10,
      name: "Counter.incr",
      kind: "actor_call",
      worker: -1,
      actor: 4,
      submitted: 100 + i / 8,
      ready: 100 + i / 8,
      dispatched: NaN,
      started: NaN,
      finished: NaN,
      argBytes: i * 3,
      resultBytes: 0,
      status: "pending",
      awaited: false,
      retries: 0,
    };
    if (!Number.isNaN(parent)) rec.parent = parent;
    if (i === 1500) {
      log.failed(n, S_ERROR, "Error: x", 300);
      Object.assign(rec, { status: "error", error: "Error: x", finished: 300 });
    }
    want.push(rec);
  }
  assert.deepEqual(log.toArray(), want);
});

test("TaskLog keeps sizes over 2 GB, large ids and parents, and times far from their base exactly", () => {
  const log = new TaskLog(8);
  const big = log.add(2 ** 40, "big", K_TASK, 5, 5e9, 7, 2 ** 31 + 5);
  log.ready(big, 5 + 3 * 3600_000); // a dependency that took 3 hours
  log.dispatched(big, 5 + 3 * 3600_000 + 0.25, 1);
  log.ran(big, 4.75, 5 + 5 * 3600_000, 3e9, true); // started before its base (worker clock)
  const neg = log.add(2, "neg", K_TASK, 6, 0, -1, 0);
  log.ran(neg, 5.9996, 6.0004, 0, true); // just before and after the base: rounded, not escaped
  const [a, b] = log.toArray();
  assert.deepEqual(
    [a.id, a.argBytes, a.resultBytes, a.parent, a.actor, a.submitted, a.ready, a.dispatched],
    [2 ** 40, 5e9, 3e9, 2 ** 31 + 5, 7, 5, 5 + 3 * 3600_000, 5 + 3 * 3600_000 + 0.25],
  );
  assert.deepEqual([a.started, a.finished], [4.75, 5 + 5 * 3600_000]);
  assert.equal(b.parent, 0);
  assert.ok(Math.abs(b.started - 5.9996) <= 0.0005 && Math.abs(b.finished - 6.0004) <= 0.0005);
});

test("TaskLog times stay within 0.5 µs after hours of running, at any rate of submission", () => {
  // Times as performance.now() gives them after 10 hours; tasks every 0.7 µs to every 50 minutes.
  const t0 = 10 * 3600_000 + 0.123456789;
  for (const gap of [0.0007, 1.3, 3000_000]) {
    const log = new TaskLog(3000);
    const slots: number[] = [];
    const times: number[][] = [];
    let now = t0;
    for (let i = 0; i < 5000; i++) {
      now += gap;
      const t = [now, now + 0.0003, now + 1.00049, now + 2.5e-7, now + 40 + i * 0.00011];
      slots.push(log.add(i, "f", K_TASK, t[0], 0, -1, NaN));
      times.push(t);
      log.ready(slots[i], t[1]);
      if (i >= 1000) { // written late, as pipelined tasks are: after 1,000 later submissions
        const j = i - 1000;
        log.dispatched(slots[j], times[j][2], 0);
        log.ran(slots[j], times[j][3], times[j][4], 0, true);
      }
    }
    const recs = log.toArray();
    assert.equal(recs.length, 3000);
    let worst = 0;
    for (const r of recs) {
      const t = times[r.id];
      assert.ok(r.submitted <= r.ready, `gap ${gap}: ${JSON.stringify(r)}`);
      const got = [r.submitted, r.ready];
      if (r.id < 4000) got.push(r.dispatched, r.started, r.finished);
      else assert.deepEqual([r.dispatched, r.started, r.finished], [NaN, NaN, NaN]);
      got.forEach((x, k) => (worst = Math.max(worst, Math.abs(x - t[k]))));
    }
    assert.ok(worst <= 0.0005, `gap ${gap} ms: off by ${worst * 1000} µs`);
  }
});

test("TaskLog times of equal or ordered events keep their order in a record", () => {
  const log = new TaskLog(4);
  const n = log.add(1, "f", K_TASK, 100.0001, 0, -1, NaN);
  log.ready(n, 100.0001);
  log.dispatched(n, 100.00049, 1);
  log.ran(n, 100.00051, 100.00051, 0, true);
  const [r] = log.toArray();
  assert.equal(r.ready, r.submitted);
  assert.equal(r.started, r.finished);
  assert.ok(r.submitted <= r.dispatched && r.dispatched <= r.started);
});

test("Recorder keeps 100,000 task records by default, and any non-negative integer capacity", () => {
  assert.equal(new Recorder().tasks.capacity, 100_000);
  const log = new Recorder({ capacity: 3 }).tasks;
  for (let id = 1; id <= 7; id++) log.add(id, "f", K_TASK, id, 0, -1, NaN);
  assert.deepEqual(log.toArray().map((t) => [t.id, t.submitted]), [[5, 5], [6, 6], [7, 7]]);
  assert.throws(() => new Recorder({ capacity: -1 }), {
    name: "RangeError",
    message: "Cannot record tasks as 'capacity' must be a non-negative integer: received -1",
  });
  assert.throws(() => new Recorder({ capacity: 1.5 }), RangeError);
});

test("TaskLog keeps the names of the records it holds when tasks are named anew each time", () => {
  const log = new TaskLog(100);
  for (let id = 1; id <= 50_000; id++) log.add(id, `task ${id}`, K_TASK, id, 0, -1, NaN);
  assert.deepEqual(
    log.toArray().map((t) => t.name),
    Array.from({ length: 100 }, (_, i) => `task ${49_901 + i}`),
  );
});

test("TaskLog with capacity 0 keeps nothing and counts the drops", () => {
  const log = new TaskLog(0);
  const r = log.add(1, "f", K_TASK, 1, 0, -1, NaN);
  assert.equal(r, -1);
  log.ready(r, 2);
  log.failed(r, S_ERROR, "Error: x", 3);
  assert.deepEqual(log.toArray(), []);
  assert.equal(log.dropped, 1);
});

test("Recorder keeps a span's task ids as runs and gives them back in order, repeats included", () => {
  const rec = new Recorder();
  const ids = [5, 6, 7, 3, 4, 4, 10, 9, 11, 12];
  const runs: number[] = [];
  for (const id of ids) addTaskId(runs, id);
  assert.deepEqual(runs, [5, 3, 3, 2, 4, 1, 10, 1, 9, 1, 11, 2]);
  rec.spans.push({ kind: "get", start: 1, end: 2, runs, callsite: "file:///x.ts:1:1" });
  rec.spans.push({ kind: "wait", start: 3, end: 4, runs: [], worker: 2, task: 8 });
  assert.deepEqual(rec.snapshot().spans, [
    { kind: "get", start: 1, end: 2, taskIds: ids, callsite: "file:///x.ts:1:1" },
    { kind: "wait", start: 3, end: 4, taskIds: [], worker: 2, task: 8 },
  ]);
  assert.deepEqual(rec.snapshot(3).spans.map((s) => s.kind), ["wait"]);
});

test("TaskLog.takeChunks() reuses a discarded log's memory: the old log ignores writes, the new one starts empty", () => {
  const old = new TaskLog(3000);
  const slots: number[] = [];
  for (let id = 1; id <= 3000; id++) slots[id] = old.add(id, "old", K_TASK, id, 0, -1, NaN);
  old.failed(slots[3], S_ERROR, "Error: old", 4);
  const log = new TaskLog(3000);
  log.takeChunks(old);
  assert.deepEqual(old.toArray(), []);
  old.dispatched(slots[1], 5, 1); // a late write to the old log: no effect, no throw
  for (let id = 1; id <= 3; id++) log.add(id, "new", K_TASK, 10 + id, 0, -1, NaN);
  old.awaited(slots[2]);
  assert.deepEqual(
    log.toArray().map((t) => [t.id, t.name, t.submitted, t.status, t.error, t.awaited, t.worker]),
    [
      [1, "new", 11, "pending", undefined, false, -1],
      [2, "new", 12, "pending", undefined, false, -1],
      [3, "new", 13, "pending", undefined, false, -1],
    ],
  );
});

test("Ring keeps the newest records up to its capacity, in order, and counts the ones it dropped", () => {
  const r = new Ring<number>(3);
  assert.equal(r.capacity, 3);
  r.push(1);
  r.push(2);
  assert.deepEqual(r.toArray(), [1, 2]);
  for (let i = 3; i <= 7; i++) r.push(i);
  assert.deepEqual(r.toArray(), [5, 6, 7]);
  assert.equal(r.dropped, 4);
  r.clear();
  assert.deepEqual(r.toArray(), []);
  assert.equal(r.dropped, 0);
  r.push(8);
  assert.deepEqual(r.toArray(), [8]);
  const none = new Ring<number>(0);
  none.push(1);
  assert.deepEqual(none.toArray(), []);
  assert.equal(none.dropped, 1);
});
