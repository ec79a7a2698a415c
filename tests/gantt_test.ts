// deno-lint-ignore-file no-control-regex -- the tests look for colour escapes
import { test } from "node:test";
import assert from "node:assert/strict";
import { gantt } from "../profile/views/gantt.ts";
import { ex1, ex2, Sim } from "./fixtures/timeline/simulate.ts";

const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** The bar cells of a row ("worker 0 │....  40%" → "...."). */
function bars(chart: string, label: string): string {
  const line = chart.split("\n").find((l) => l.startsWith(label + " "));
  assert.ok(line, `no row ${label} in\n${chart}`);
  const body = line.slice(line.indexOf("│") + 1);
  // Rows other than "queued" end in " NNN%".
  return label === "queued" ? body : body.slice(0, -5);
}

const busy = (ch: string) => ch !== " ";

test("gantt() shows ex1 as one task at a time across the whole run", () => {
  const chart = gantt(ex1(2), { width: 80 });
  const w0 = [...bars(chart, "worker 0")], w1 = [...bars(chart, "worker 1")];
  assert.equal(w0.length, w1.length);
  let both = 0, none = 0;
  for (let c = 0; c < w0.length; c++) {
    if (busy(w0[c]) && busy(w1[c])) both++;
    if (!busy(w0[c]) && !busy(w1[c])) none++;
  }
  assert.ok(both <= 2, `workers overlap in ${both} columns:\n${chart}`);
  assert.ok(none <= 2, `nothing runs in ${none} columns:\n${chart}`);
  // The driver is blocked in get nearly all along, with a .remote() mark at each of the 5 rounds.
  const driver = bars(chart, "driver");
  assert.equal([...driver].filter((c) => c === "↑").length, 5);
  assert.match(chart, /Task timeline: 2\.50 s, 5 tasks on 2 slots/);
});

test("gantt() shows ex2 as tasks side by side, then the remainder", () => {
  const chart = gantt(ex2(2), { width: 80 });
  const w0 = [...bars(chart, "worker 0")], w1 = [...bars(chart, "worker 1")];
  const both = w0.filter((c, i) => busy(c) && busy(w1[i])).length;
  // 5 tasks on 2 slots: both busy for two rounds of three, worker 0 alone for the last.
  assert.ok(
    Math.abs(both / w0.length - 2 / 3) < 0.05,
    `both busy in ${both}/${w0.length}:\n${chart}`,
  );
  assert.ok(bars(chart, "queued").includes("3"), chart);
  assert.match(chart, /worker 0 .*100%/);
});

test("gantt() fits the requested width and labels the axis in seconds", () => {
  for (const width of [40, 80, 140]) {
    const chart = gantt(ex1(2), { width });
    const lines = chart.trimEnd().split("\n");
    for (const l of lines) assert.ok([...l].length <= width, `line longer than ${width}: ${l}`);
    const axis = lines[1];
    assert.match(axis, /^\s+0(\.0+)?s\s/);
    assert.match(axis, /2(\.0+)?s/);
    // Wider charts get more bar cells.
    assert.equal([...bars(chart, "worker 0")].length, width - "worker 0".length - 2 - 5);
  }
});

test("gantt() colours only when asked", () => {
  assert.doesNotMatch(gantt(ex1(2)), /\x1b\[/);
  const coloured = gantt(ex1(2), { color: true });
  assert.match(coloured, /\x1b\[32m█+\x1b\[0m/);
  assert.equal(plain(coloured).split("\n").length, gantt(ex1(2)).split("\n").length);
});

test("gantt() tells functions apart and marks failed tasks", () => {
  const sim = new Sim(2);
  const a = sim.submit("first", 100);
  const b = sim.submit("second", 100);
  const c = sim.submit("broken", 100, undefined, { status: "error", error: "Error: x" });
  sim.block([a, b, c]);
  const chart = gantt(sim.recording(), { width: 60 });
  assert.match(chart, /█ first {2}▓ second {2}▒ broken/);
  assert.match(bars(chart, "worker 0"), /X{5,}/);
  assert.match(chart, /X failed/);
});

test("gantt() says so when nothing was recorded", () => {
  assert.equal(
    gantt({ timeOrigin: 0, numCpus: 2, tasks: [], spans: [], workers: [], dropped: 0 }),
    "No tasks were recorded.\n",
  );
});

test("gantt() rejects a width with no room for bars", () => {
  assert.throws(() => gantt(ex1(2), { width: 20 }), {
    name: "RangeError",
    message: "Cannot draw the Gantt chart as 'width' must be an integer ≥ 30: received 20",
  });
  assert.throws(() => gantt(ex1(2), { width: 80.5 }), RangeError);
});

test("gantt() notches back-to-back tasks so they do not merge into one bar", () => {
  // ex1 on one slot: five tasks in a row on worker 0.
  const chart = gantt(ex1(1), { width: 80 });
  const row = bars(chart, "worker 0");
  assert.equal([...row].filter((c) => c === "▐").length, 4, chart);
  assert.match(chart, /▐ next task/);
  // Tasks with a gap between them need no notch.
  assert.doesNotMatch(gantt(ex1(2), { width: 80 }), /▐/);
});

test("gantt() marks a worker's start-up where it held the first tasks up", () => {
  const rec = ex2(2); // tasks from 0.1 ms, 500 ms each
  Object.assign(rec.workers[0], { started: -50, ready: -10 }); // ready before: not drawn
  Object.assign(rec.workers[1], { started: 0, ready: 400 });
  // Worker 1's tasks as if they waited for it.
  for (const t of rec.tasks.filter((t) => t.worker === 1)) {
    t.started += 400;
    t.finished += 400;
  }
  const text = gantt(rec, { width: 80 });
  const row = (label: string) => text.split("\n").find((l) => l.startsWith(label))!;
  assert.doesNotMatch(row("worker 0"), /┈/);
  const w1 = row("worker 1").split("│")[1];
  assert.match(w1, /^┈{5,}/, w1);
  assert.match(text, /┈ worker starting/);
  assert.doesNotMatch(gantt(ex2(2), { width: 80 }), /┈/, "no start-up recorded, none drawn");
});
