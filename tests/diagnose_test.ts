// deno-lint-ignore-file no-control-regex -- the tests look for colour escapes
import { test } from "node:test";
import assert from "node:assert/strict";
import { diagnose, formatDiagnosis } from "../profile/views/diagnose.ts";
import {
  backlog,
  ex1,
  ex2,
  ex3,
  getEachAfterSubmitAll,
  Sim,
  tiny,
} from "./fixtures/timeline/simulate.ts";

const codes = (rec: Parameters<typeof diagnose>[0]) => diagnose(rec).findings.map((f) => f.code);

test("diagnose() measures wall time, task time, parallelism and utilization", () => {
  const d = diagnose(ex2(2));
  // 5 × 500 ms on 2 slots: three rounds of 500 ms.
  assert.ok(Math.abs(d.wallMs - 1501) < 2, `wall ${d.wallMs}`);
  assert.ok(Math.abs(d.taskMs - 2500) < 1e-6);
  assert.ok(Math.abs(d.parallelism - 2500 / d.wallMs) < 1e-9);
  assert.equal(d.slots, 2);
  assert.deepEqual(d.workers.map((w) => [w.label, w.tasks]), [["worker 0", 3], ["worker 1", 2]]);
  assert.ok(d.workers[0].utilization > 0.99 && Math.abs(d.workers[1].utilization - 2 / 3) < 0.01);
  assert.equal(d.blocked.gets, 1);
  assert.equal(d.queue.peakQueued, 3);
  assert.ok(Math.abs(d.queue.maxWaitMs - 1000.4) < 0.5, `max wait ${d.queue.maxWaitMs}`);
  assert.deepEqual(d.functions.map((f) => [f.name, f.count, f.totalMs]), [["func", 5, 2500]]);
});

test("diagnose() finds ex1's get right after .remote() in a loop, at its line", () => {
  const d = diagnose(ex1(4));
  assert.deepEqual(d.findings.map((f) => f.code), ["get-in-loop"]);
  const f = d.findings[0];
  assert.equal(f.location?.file, "/work/app/loops.ts");
  assert.equal(f.location?.line, 14);
  assert.equal(f.taskIds.length, 5);
  assert.match(
    f.message,
    /^get\(\) right after \.remote\(\) in a loop: 5 `func` tasks ran one at a time/,
  );
  assert.match(f.message, /parallelism 1\.0 of 4 slots/);
  assert.match(f.advice, /Submit them all, then get once.*≈1\.00 s instead of 2\.50 s/);
  assert.ok(Math.abs(d.parallelism - 1) < 0.01);
});

test("diagnose() finds nothing wrong with ex2, on a big or a small pool", () => {
  assert.deepEqual(codes(ex2(8)), []);
  assert.deepEqual(codes(ex2(2)), []);
  assert.deepEqual(codes(ex2(1)), []);
});

test("diagnose() does not take get on each of refs submitted first for ex1", () => {
  assert.deepEqual(codes(getEachAfterSubmitAll(4)), []);
});

test("diagnose() does not flag a get loop on a single slot, where nothing could overlap", () => {
  assert.deepEqual(codes(ex1(1)), []);
});

test("diagnose() finds ex3's other_func tasks that were never awaited", () => {
  const d = diagnose(ex3(4));
  assert.deepEqual(d.findings.map((f) => f.code), ["never-awaited"]);
  const f = d.findings[0];
  assert.equal(f.name, "other_func");
  assert.equal(f.location?.line, 27);
  assert.equal(f.taskIds.length, 5);
  assert.match(f.message, /^5 `other_func` tasks were never awaited/);
});

test("diagnose() leaves unfinished tasks of a live session alone when complete is false", () => {
  const sim = new Sim(2);
  sim.submit("later", 100, 3, { status: "running", finished: NaN });
  const rec = sim.recording();
  assert.deepEqual(diagnose(rec, { complete: false }).findings, []);
  const f = diagnose(rec).findings[0];
  assert.equal(f.code, "never-awaited");
  assert.match(f.message, /1 had not finished when the run ended/);
});

test("diagnose() finds tasks so short that overhead dominates", () => {
  const d = diagnose(tiny(2));
  const f = d.findings.find((x) => x.code === "tiny-tasks");
  assert.ok(f, JSON.stringify(d.findings));
  assert.equal(f.location?.line, 40);
  assert.match(
    f.message,
    /^200 `add` tasks ran 50 µs each \(median\), against 200 µs to dispatch each/,
  );
  // Fewer than 10 tiny tasks are not worth a finding, and 500 ms tasks are not tiny.
  const few = new Sim(2);
  few.block([1, 2, 3].map(() => few.submit("add", 0.05, 40)));
  assert.deepEqual(codes(few.recording()), []);
  assert.deepEqual(codes(tiny(2)).includes("tiny-tasks"), true);
  assert.equal(
    diagnose(tiny(2), { tinyMs: 0.01 }).findings.some((x) => x.code === "tiny-tasks"),
    false,
  );
});

test("diagnose() finds more tasks queued than slots, as a warning when they hold much memory", () => {
  const d = diagnose(backlog(2));
  assert.deepEqual(d.findings.map((f) => [f.code, f.severity]), [["queue-backlog", "warning"]]);
  assert.equal(d.queue.peakQueued, 98);
  assert.match(
    d.findings[0].message,
    /up to 98 tasks waited for 2 slots \(holding 98\.0 MB of arguments\)/,
  );
  assert.equal(d.findings[0].location?.line, 50);
  // A queue of a few tasks per slot is normal use of the pool.
  assert.deepEqual(codes(backlog(30)), []);
});

test("diagnose() reports failed tasks first, with their error", () => {
  const sim = new Sim(2);
  const ids = [
    sim.submit("parse", 5, 9, { status: "error", error: "SyntaxError: bad" }),
    sim.submit("parse", 5, 9),
  ];
  sim.block(ids, 10);
  const d = diagnose(sim.recording());
  assert.equal(d.findings[0].code, "failed-tasks");
  assert.equal(d.findings[0].severity, "error");
  assert.match(d.findings[0].message, /1 of 2 `parse` tasks failed; first: SyntaxError: bad/);
  assert.equal(d.tasks.failed, 1);
});

test("diagnose() notes dropped records", () => {
  const rec = ex2(4);
  rec.dropped = 7;
  assert.deepEqual(codes(rec), ["dropped-records"]);
});

test("diagnose() handles an empty recording", () => {
  const d = diagnose({ timeOrigin: 0, numCpus: 2, tasks: [], spans: [], workers: [], dropped: 0 });
  assert.equal(d.wallMs, 0);
  assert.equal(d.parallelism, 0);
  assert.deepEqual(d.findings, []);
  assert.match(formatDiagnosis(d), /Findings: none/);
});

test("formatDiagnosis() prints the figures and each finding at its source line", () => {
  const text = formatDiagnosis(diagnose(ex1(4)), { cwd: "/work/app" });
  assert.match(text, /wall time\s+2\.50 s/);
  assert.match(text, /parallelism\s+1\.00 of 4 slots {2}\(25% of the pool\)/);
  assert.match(text, /▲ loops\.ts:14 {2}get\(\) right after \.remote\(\) in a loop/);
  assert.match(text, /→ Submit them all, then get once/);
  assert.match(text, /func\s+loops\.ts:14\s+5\s+2\.50 s\s+500 ms/);
  assert.doesNotMatch(text, /\x1b\[/);
  assert.match(formatDiagnosis(diagnose(ex1(4)), { color: true }), /\x1b\[33m▲\x1b\[0m/);
});

test("diagnose() counts the workers still starting at the first .remote(), and says so", () => {
  const rec = ex2(3); // first submission at 0.1 ms
  const none = diagnose(rec);
  assert.deepEqual(none.startup, { workers: 0, minMs: NaN, maxMs: NaN });
  assert.doesNotMatch(formatDiagnosis(none), /start-up/);
  Object.assign(rec.workers[0], { started: -5, ready: 60 });
  Object.assign(rec.workers[1], { started: 10, ready: 95 });
  Object.assign(rec.workers[2], { started: -100, ready: -20 }); // ready before: not counted
  const d = diagnose(rec);
  assert.deepEqual(d.startup, { workers: 2, minMs: 65, maxMs: 85 });
  assert.match(
    formatDiagnosis(d),
    /^ {2}worker start-up +2 workers still starting at the first \.remote\(\), ready after 65\.0 ms–85\.0 ms each$/m,
  );
  Object.assign(rec.workers[1], { ready: NaN }); // never ready: not counted either
  assert.match(
    formatDiagnosis(diagnose(rec)),
    /1 worker still starting .*, ready after 65\.0 ms$/m,
  );
});

test("diagnose() on a cluster: per node its slots, utilisation, and queued / start / run means", () => {
  const rec = ex2(2); // 5 tasks of 500 ms on workers 0 and 1
  rec.workers[0].node = "alpha";
  rec.workers[1].node = "beta";
  rec.nodes = {
    alpha: { slots: 1, runtime: "deno 2.9.6" },
    beta: { slots: 4, runtime: "bun 1.4.5" },
  };
  // The times a node reports: taken off the queue (dispatched) 2 ms before it started the task.
  for (const t of rec.tasks) t.dispatched = t.started - 2;
  const d = diagnose(rec);
  assert.deepEqual(d.nodes.map((n) => [n.name, n.runtime, n.slots, n.tasks]), [
    ["alpha", "deno 2.9.6", 1, 3],
    ["beta", "bun 1.4.5", 4, 2],
  ]);
  const [alpha, beta] = d.nodes;
  assert.ok(alpha.utilization > 0.99, `alpha ${alpha.utilization}`);
  // beta ran 1000 ms of its 4 slots × 1501 ms.
  assert.ok(Math.abs(beta.utilization - 1000 / (4 * d.wallMs)) < 1e-9, `beta ${beta.utilization}`);
  assert.ok(Math.abs(alpha.meanStartMs - 2) < 1e-9 && Math.abs(beta.meanRunMs - 500) < 1e-9);
  const waits = rec.tasks.filter((t) => t.worker === rec.workers[0].id)
    .map((t) => Math.max(0, t.dispatched - t.ready)); // a node clock a little behind: not below 0
  assert.ok(Math.abs(alpha.meanQueueMs - waits.reduce((a, b) => a + b) / waits.length) < 1e-9);
  const text = formatDiagnosis(d);
  assert.match(text, /^Nodes /m);
  assert.match(text, /^ {2}alpha +deno 2\.9\.6 +1 +100% +3 +1\.50 s +\S+ ms +2\.00 ms +500 ms$/m);
  assert.match(text, /^ {2}beta +bun 1\.4\.5 +4 +17% +2 +1\.00 s /m);
  // One machine: no Nodes block.
  assert.deepEqual(diagnose(ex2(2)).nodes, []);
  assert.doesNotMatch(formatDiagnosis(diagnose(ex2(2))), /^Nodes/m);
});
