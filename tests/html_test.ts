// profile/views/html.ts: the self-contained HTML report (no external loads, escaping, heat map, task Gantt).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { htmlReport } from "../profile/views/html.ts";
import { ex1, ex3, Sim } from "./fixtures/timeline/simulate.ts";
import { LOOPS_FILE, LOOPS_SOURCE, loopsLineStats } from "./fixtures/timeline/line_stats_sample.ts";
import { Browser, findChromium } from "./fixtures/timeline/cdp.ts";

function fullReport(): string {
  return htmlReport({
    recording: ex3(2),
    title: "loops.ts",
    lineStats: loopsLineStats(),
    sources: { [LOOPS_FILE]: LOOPS_SOURCE },
    functions: [
      { name: "func", file: LOOPS_FILE, line: 3, ncalls: 5, tottime: 2.5, cumtime: 2.5 },
      {
        name: "fib",
        file: LOOPS_FILE,
        line: 30,
        ncalls: 177,
        primitiveCalls: 1,
        tottime: 0.01,
        cumtime: 0.02,
      },
    ],
    cwd: "/work/app",
  });
}

test("htmlReport() is one file that loads nothing from elsewhere", () => {
  const html = fullReport();
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  // No src/href attributes at all: scripts and styles are inline.
  assert.doesNotMatch(html, /\s(src|href)=/);
  assert.doesNotMatch(html, /@import|url\(/);
});

test("htmlReport() escapes names, sources and messages", () => {
  const sim = new Sim(2);
  sim.block([sim.submit(`<img onerror="x">`, 5, 1, { error: "Error: <b>&", status: "error" })]);
  const html = htmlReport({ recording: sim.recording() });
  assert.doesNotMatch(html, /<img onerror/);
  assert.match(html, /&lt;img onerror=&quot;x&quot;&gt;/);
  assert.match(html, /Error: &lt;b&gt;&amp;/);
});

test("htmlReport() shows the line heat map, darkest on the slowest line", () => {
  const html = fullReport();
  const rows = [
    ...html.matchAll(
      /<tr class="hit" style="background:rgba\(230,85,13,([\d.]+)\)"><td class="num">(\d+)</g,
    ),
  ];
  const alpha = new Map(rows.map((m) => [Number(m[2]), Number(m[1])]));
  assert.ok(alpha.get(10)! > alpha.get(8)! && alpha.get(10)! > alpha.get(9)!);
  assert.ok(alpha.get(19)! > alpha.get(17)!);
  assert.match(html, /list1\.push\(await ray\.get\(func\.remote\(\)\)\);/);
  assert.match(html, /<td class="num" data-sort="177">177\/1<\/td>/);
  assert.match(html, /loops\.ts:30\(fib\)/);
});

test("htmlReport() draws a worker's start-up where it held the first tasks up", () => {
  const rec = ex1(2); // first submission at 0.1 ms
  assert.doesNotMatch(htmlReport({ recording: rec }), /class="startup"|worker starting/);
  Object.assign(rec.workers[0], { started: -5, ready: 80 });
  Object.assign(rec.workers[1], { started: -90, ready: -10 }); // ready before: not drawn
  const html = htmlReport({ recording: rec });
  const rects = html.match(/<rect class="startup"[^>]*>/g) ?? [];
  assert.equal(rects.length, 1);
  assert.match(rects[0], /data-tip="worker 0 starting: 85\.0 ms from spawn to ready"/);
  assert.match(html, /worker starting<\/span>/);
});

test("htmlReport() leaves out the sections it has no data for", () => {
  const onlyTasks = htmlReport({ recording: ex1(2) });
  assert.match(onlyTasks, /id="gantt"/);
  assert.doesNotMatch(onlyTasks, /id="lines"|id="function-profile"/);
  const onlyLines = htmlReport({ lineStats: loopsLineStats() });
  assert.doesNotMatch(onlyLines, /id="gantt"|id="findings"/);
  assert.match(onlyLines, /id="lines"/);
  assert.match(htmlReport({}), /Nothing was recorded/);
});

const chromium = findChromium();

test(
  "htmlReport() renders in headless Chromium with no console error",
  {
    skip: chromium
      ? false
      : "Chromium is not installed (apt-get install chromium); .ci/run installs it",
    timeout: 60_000,
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "rayprof-html-"));
    const file = join(dir, "report.html");
    writeFileSync(file, fullReport());
    const browser = await Browser.launch(chromium!);
    try {
      const page = await browser.open(`file://${file}`);
      assert.equal(await page.eval(`document.documentElement.dataset.ready`), "1");
      // Timeline: a row per worker plus the driver, a bar per task, blocked spans on the driver.
      const gantt = await page.eval<
        { rows: string[]; tasks: number; blocked: number; width: number }
      >(`({
        rows: [...document.querySelectorAll("#gantt .row")].map((g) => g.dataset.row),
        tasks: document.querySelectorAll("#gantt rect.task").length,
        blocked: document.querySelectorAll("#gantt rect.blocked").length,
        width: document.getElementById("gantt").getBoundingClientRect().width,
      })`);
      // ex3 on 2 slots: tasks waited for a slot, drawn as a row of their own.
      assert.deepEqual(gantt.rows, ["driver", "worker 0", "worker 1", "queued"]);
      assert.match(
        await page.eval<string>(`document.querySelector("#gantt path.queue").getAttribute("d")`),
        /^M[\d.]+,[\d.]+(H[\d.]+V[\d.]+)+Z$/,
      );
      assert.equal(gantt.tasks, 10);
      assert.equal(gantt.blocked, 1);
      assert.ok(gantt.width > 500, `Gantt is ${gantt.width} px wide`);
      // Each bar is laid out inside the plot.
      const bars = await page.eval<number[][]>(
        `[...document.querySelectorAll("#gantt rect.task")].map((r) => { const b = r.getBBox(); return [b.x, b.width]; })`,
      );
      for (const [x, w] of bars) {
        assert.ok(x >= 120 && w > 0 && x + w <= 991, `bar at ${x} of ${w}`);
      }
      // Tables.
      const tables = await page.eval<Record<string, number>>(`Object.fromEntries(
        ["workers", "task-functions", "function-profile"].map((id) => [id, document.querySelectorAll("#" + id + " tbody tr").length])
      )`);
      assert.deepEqual(tables, { workers: 2, "task-functions": 2, "function-profile": 2 });
      assert.equal(await page.eval(`document.querySelectorAll("#lines table.heat").length`), 2);
      assert.equal(
        await page.eval(`document.querySelector("#findings .finding").dataset.code`),
        "never-awaited",
      );
      // Scripts work: sorting by a header and the tooltip of a bar.
      const order = await page.eval<string[]>(`(() => {
        const th = document.querySelectorAll("#function-profile th")[1];
        th.click();
        const asc = [...document.querySelectorAll("#function-profile tbody tr td:last-child")].map((td) => td.textContent);
        th.click();
        return asc.concat([...document.querySelectorAll("#function-profile tbody tr td:last-child")].map((td) => td.textContent));
      })()`);
      assert.deepEqual(order, [
        "loops.ts:3(func)",
        "loops.ts:30(fib)",
        "loops.ts:30(fib)",
        "loops.ts:3(func)",
      ]);
      const tip = await page.eval<string>(`(() => {
        const r = document.querySelector("#gantt rect.task");
        const b = r.getBoundingClientRect();
        r.dispatchEvent(new MouseEvent("mousemove", { bubbles: true, clientX: b.x + 2, clientY: b.y + 2 }));
        const tip = document.getElementById("tip");
        return tip.hidden ? "" : tip.textContent;
      })()`);
      assert.match(tip, /^(func|other_func) #\d+ \(task, ok\)/);
      const shot = await page.screenshot();
      assert.ok(shot.length > 10_000);
      // Kept for a person to look at.
      mkdirSync("tmp", { recursive: true });
      writeFileSync("tmp/html_report_test.png", shot);
      assert.deepEqual(page.errors, []);
      assert.deepEqual(page.requests.filter((u) => !u.startsWith("file:")), []);
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("htmlReport() draws no queue row when no task waited for a slot", () => {
  assert.doesNotMatch(htmlReport({ recording: ex1(2) }), /data-row="queued"/);
  assert.match(htmlReport({ recording: ex3(2) }), /data-row="queued"><text[^>]*>queued \(≤ 8\)/);
});

test("htmlReport() queue row drops back to zero between bursts", () => {
  const sim = new Sim(1);
  const burst = () => sim.block(Array.from({ length: 5 }, () => sim.submit("step", 0.05)));
  burst();
  sim.idle(100_000);
  burst();
  const html = htmlReport({ recording: sim.recording() });
  const d = /<path class="queue" d="([^"]+)"/.exec(html)![1];
  // Walk the path: the height at the middle of the idle 100 s must be the baseline.
  const [, , y0] = /^M([\d.]+),([\d.]+)/.exec(d)!.map(Number);
  const steps = [...d.matchAll(/H([\d.]+)V([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  const xs = steps.map(([x]) => x);
  const mid = (Math.min(...xs) + Math.max(...xs)) / 2;
  let y = y0;
  for (const [x, yy] of steps) if (x <= mid) y = yy;
  assert.equal(y, y0, d);
  assert.ok(steps.some(([, yy]) => yy < y0), "the bursts rise above the baseline");
});

test("htmlReport() of a cluster run has a Nodes table: slots, utilisation, queued / start / run", () => {
  const rec = ex3(2);
  rec.workers[0].node = "alpha";
  rec.workers[1].node = "beta<x>";
  rec.nodes = {
    alpha: { slots: 1, runtime: "deno 2.9.6" },
    "beta<x>": { slots: 2, runtime: "bun" },
  };
  const html = htmlReport({ recording: rec });
  const table = /<table id="nodes"[^]*?<\/table>/.exec(html)?.[0] ?? "";
  assert.match(table, /<th>queued<\/th><th>start<\/th><th>run<\/th>/);
  assert.match(table, /<td>alpha<\/td><td>deno 2\.9\.6<\/td><td class="num">1<\/td>/);
  assert.match(table, /<td>beta&lt;x&gt;<\/td>/); // escaped
  assert.doesNotMatch(htmlReport({ recording: ex3(2) }), /id="nodes"/); // one machine: none
});
