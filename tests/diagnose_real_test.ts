// Diagnostics of real runs of the document's loops through the runtime (40 ms tasks, 3 slots).
// Assertions are about the shape of the run, never about how long it took.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as ray from "../mod.ts";
import { clearRecording, recording } from "../runtime/mod.ts";
import { hooks } from "../runtime/hooks.ts";
import { diagnose } from "../profile/views/diagnose.ts";
import { toChromeTrace, toTraceFile } from "../runtime/chrome_trace.ts";
import { ex1, ex2, ex3, tinyTasks } from "./fixtures/timeline/loops_small.ts";
import { validateTrace } from "./fixtures/timeline/validate_trace.ts";

const FIXTURE = new URL("./fixtures/timeline/loops_small.ts", import.meta.url);
const lines = readFileSync(FIXTURE, "utf8").split("\n");
const lineOf = (marker: string) => lines.findIndex((l) => l.includes(`// ${marker}`)) + 1;

let captured = false;
before(() => {
  captured = hooks().captureCallsites;
  hooks().captureCallsites = true;
  ray.init({ numCpus: 3, ignoreReinitError: true });
});
after(async () => {
  await ray.shutdown();
  hooks().captureCallsites = captured;
});

test("diagnose() names ex1's get-in-a-loop at its line on a real run", async () => {
  clearRecording();
  await ex1();
  const d = diagnose(recording());
  const f = d.findings.find((x) => x.code === "get-in-loop");
  assert.ok(f, JSON.stringify(d.findings));
  assert.equal(f.location?.url, FIXTURE.href);
  assert.equal(f.location?.line, lineOf("EX1"));
  assert.equal(f.taskIds.length, 4);
  assert.match(f.message, /4 `func` tasks ran one at a time/);
  assert.deepEqual(d.findings.map((x) => x.code), ["get-in-loop"]);
  assert.ok(d.parallelism < 1.2, `parallelism ${d.parallelism}`);
});

test("diagnose() finds nothing in ex2 on a real run", async () => {
  clearRecording();
  await ex2();
  const d = diagnose(recording());
  assert.deepEqual(d.findings, []);
  assert.equal(d.tasks.total, 4);
  assert.equal(d.blocked.gets, 1);
  assert.equal(d.functions[0].location?.line, lineOf("EX2 REMOTE"));
});

test("diagnose() finds ex3's other_func never awaited on a real run", async () => {
  clearRecording();
  await ex3();
  // Let the other_func tasks finish: they are not awaited, which is the point.
  await new Promise((r) => setTimeout(r, 150));
  const d = diagnose(recording());
  assert.deepEqual(d.findings.map((x) => [x.code, x.name, x.location?.line]), [
    ["never-awaited", "other_func", lineOf("EX3 OTHER")],
  ]);
});

test("diagnose() finds tiny tasks on a real run, and the trace of it is valid", async () => {
  clearRecording();
  await tinyTasks(60);
  const rec = recording();
  const d = diagnose(rec);
  const f = d.findings.find((x) => x.code === "tiny-tasks");
  assert.ok(f, JSON.stringify(d.findings));
  assert.equal(f.location?.line, lineOf("TINY"));
  assert.deepEqual(validateTrace(JSON.stringify(toTraceFile(rec, toChromeTrace(rec)))), []);
});
