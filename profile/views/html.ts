/**
 * A self-contained HTML report of a profiled run: the task Gantt per worker (inline SVG), the
 * parallelism diagnostics, the tasks by function, the profiled source with a heat map of line
 * times, and the function profile. One file with no network access (a Content-Security-Policy
 * forbids any), so it can be mailed, archived or opened offline.
 *
 * Every input but the recording is optional: a report of line stats alone, or of tasks alone,
 * is fine.
 *
 * @example Write a report
 * ```ts ignore
 * import { writeFile } from "node:fs/promises";
 * import { htmlReport } from "./html.ts";
 * import { recording } from "../../runtime/mod.ts";
 * await writeFile("report.html", htmlReport({ recording: recording(), title: "loops.ts" }));
 * ```
 *
 * @module
 */

import type { Recording, TaskRecord } from "../../runtime/recorder.ts";
import { layOutLanes, workerStartups } from "../../runtime/chrome_trace.ts";
import { diagnose, type Diagnosis } from "./diagnose.ts";
import type { FunctionTimings, LineStats } from "../line/stats.ts";
import { formatBytes, formatDuration, recordingWindow, showLocation } from "./_tasks.ts";

/** One row of the function profile (pstats' columns); times in seconds. */
export interface FunctionProfileRow {
  /** Function name. */
  name: string;
  /** Source file, when known. */
  file?: string;
  /** First line of the function, when known. */
  line?: number;
  /** Calls, including recursive ones. */
  ncalls: number;
  /** Calls that were not recursive; shown as "ncalls/primitive" when it differs. */
  primitiveCalls?: number;
  /** Time in the function itself, in seconds. */
  tottime: number;
  /** Time in the function and everything it called, in seconds. */
  cumtime: number;
}

/** What {@linkcode htmlReport} shows. */
export interface HtmlReportOptions {
  /**
   * Title of the page, e.g. the script's name.
   * @default {"rayprof report"}
   */
  title?: string;
  /** The task recording of the run; without it the task sections are left out. */
  recording?: Recording;
  /** Diagnostics of the recording; computed from it when omitted. */
  diagnosis?: Diagnosis;
  /** Line timings from the line profiler, shown as source with a heat map. */
  lineStats?: LineStats;
  /**
   * Source text by file path (as in `lineStats`), for functions whose timings carry no source.
   * @default {{}}
   */
  sources?: Record<string, string>;
  /** Rows of the function profile. */
  functions?: FunctionProfileRow[];
  /** Directory that paths are shown relative to. */
  cwd?: string;
  /**
   * Text shown as the time the report was made (the caller's choice keeps this function pure).
   * @default {""}
   */
  generated?: string;
}

/** Colours of functions in the Gantt, in order of first appearance. */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#b07aa1",
  "#76b7b2",
  "#edc948",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
  "#e15759",
];
const FAILED_COLOUR = "#d62728";
const BLOCKED_COLOUR = "#9e9e9e";
const MIXED_COLOUR = "#7f7f7f";
/** A worker starting (spawned, not ready yet): light, behind the tasks. */
const STARTUP_COLOUR = "#d9d4e8";

/**
 * Renders the report.
 *
 * @param options What to show.
 * @returns A complete HTML document.
 */
export function htmlReport(options: HtmlReportOptions): string {
  const title = options.title ?? "rayprof report";
  const rec = options.recording;
  const diag = options.diagnosis ?? (rec ? diagnose(rec) : undefined);
  const sections: string[] = [];
  if (diag) sections.push(summarySection(diag), findingsSection(diag, options.cwd));
  if (rec) sections.push(ganttSection(rec));
  if (diag?.nodes?.length) sections.push(nodesSection(diag));
  if (diag) sections.push(workersSection(diag), tasksByFunctionSection(diag, options.cwd));
  if (options.lineStats) {
    sections.push(linesSection(options.lineStats, options.sources ?? {}, options.cwd));
  }
  if (options.functions) sections.push(functionsSection(options.functions, options.cwd));
  if (sections.length === 0) sections.push(`<section><p>Nothing was recorded.</p></section>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1>${
    options.generated ? `<p class="muted">Generated ${esc(options.generated)} by rayprof</p>` : ""
  }</header>
<main>
${sections.join("\n")}
</main>
<div id="tip" role="tooltip" hidden></div>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function summarySection(d: Diagnosis): string {
  const items: [string, string][] = [
    ["Wall time", formatDuration(d.wallMs)],
    ["Task time", `${formatDuration(d.taskMs)} in ${d.tasks.total} tasks`],
    ["Parallelism", `${d.parallelism.toFixed(2)} of ${d.slots} slots`],
    ["Driver blocked", formatDuration(d.blocked.getMs + d.blocked.waitMs)],
    ["Queue wait", `mean ${formatDuration(d.queue.meanWaitMs)}, peak ${d.queue.peakQueued} queued`],
  ];
  if (d.tasks.failed) items.push(["Failed tasks", String(d.tasks.failed)]);
  return `<section id="summary"><h2>Parallelism</h2><dl class="figures">${
    items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join("")
  }</dl></section>`;
}

function findingsSection(d: Diagnosis, cwd?: string): string {
  if (d.findings.length === 0) {
    return `<section id="findings"><h2>Findings</h2><p class="ok">No anti-pattern found.</p></section>`;
  }
  const items = d.findings.map((f) =>
    `<li class="finding ${f.severity}" data-code="${
      esc(f.code)
    }"><span class="sev">${f.severity}</span> ${
      f.location ? `<code class="loc">${esc(showLocation(f.location, cwd))}</code> ` : ""
    }${codeSpans(esc(f.message))}${
      f.related
        ? ` <span class="muted">(.remote() at ${esc(showLocation(f.related, cwd))})</span>`
        : ""
    }<div class="advice">→ ${codeSpans(esc(f.advice))}</div></li>`
  );
  return `<section id="findings"><h2>Findings</h2><ul>${items.join("")}</ul></section>`;
}

function ganttSection(rec: Recording): string {
  const win = recordingWindow(rec);
  const span = Math.max(win.end - win.start, 1e-3);
  const lanes = layOutLanes(rec.tasks, win.end);
  const labels = new Map(rec.workers.map((w) => [w.id, w.label]));
  const ids = new Set<number>([...rec.workers.map((w) => w.id), ...lanes.keys()]);
  // A worker's start-up, drawn on its row when it held the first tasks up (as --gantt does).
  // [drawn from, drawn to, spawn to ready in ms]
  const startups = new Map<number, [number, number, number]>();
  for (const s of workerStartups(rec)) {
    startups.set(s.worker, [
      Math.max(s.started, win.start),
      Math.min(s.ready, win.end),
      s.ready - s.started,
    ]);
  }
  const rows: {
    label: string;
    tasks: { t: TaskRecord; start: number; stop: number }[];
    startup?: [number, number, number];
  }[] = [];
  for (const id of [...ids].sort((a, b) => a - b)) {
    for (const [i, lane] of (lanes.get(id) ?? [[]]).entries()) {
      const base = labels.get(id) ?? `worker ${id}`;
      rows.push({
        label: i ? `${base} #${i + 1}` : base,
        tasks: lane.map((p) => ({ t: p.task, start: p.start, stop: p.stop })),
        startup: i === 0 ? startups.get(id) : undefined,
      });
    }
  }
  const names: string[] = [];
  for (const t of [...rec.tasks].sort((a, b) => a.submitted - b.submitted)) {
    if (!names.includes(t.name)) names.push(t.name);
  }
  const index = new Map(names.map((n, i) => [n, i]));
  const colourOf = (t: TaskRecord) =>
    t.status === "error" || t.status === "crashed"
      ? FAILED_COLOUR
      : PALETTE[index.get(t.name)! % PALETTE.length];

  const W = 1000, labelW = 120, rowH = 22, top = 24;
  const plotW = W - labelW - 10;
  const x = (t: number) => labelW + ((t - win.start) / span) * plotW;
  const queue = queueSteps(rec.tasks);
  const queueRows = queue.max > 0 ? 2 : 0;
  const H = top + (rows.length + 1 + queueRows) * rowH + 6;
  const parts: string[] = [];
  // Time axis in seconds.
  const step = niceStep(span / 1000, 10);
  for (let k = 0; k * step <= (span / 1000) * (1 + 1e-9); k++) {
    const px = x(win.start + k * step * 1000);
    parts.push(
      `<line class="tick" x1="${f1(px)}" y1="${top - 4}" x2="${f1(px)}" y2="${H - 4}"/>` +
        `<text class="axis" x="${f1(px)}" y="${top - 8}" text-anchor="middle">${
          trimNumber(k * step)
        } s</text>`,
    );
  }
  const drawRow = (i: number, label: string, body: string) => {
    const y = top + i * rowH;
    parts.push(
      `<g class="row" data-row="${esc(label)}"><text class="label" x="${labelW - 8}" y="${
        y + rowH / 2 + 4
      }" text-anchor="end">${esc(label)}</text>` +
        `<rect class="lane" x="${labelW}" y="${y + 2}" width="${plotW}" height="${
          rowH - 4
        }"/>${body}</g>`,
    );
  };
  // Driver row: blocked spans, and a tick at each .remote().
  let driver = "";
  for (const s of rec.spans) {
    if (s.worker !== undefined || !Number.isFinite(s.start)) continue;
    const end = Number.isFinite(s.end) ? s.end : win.end;
    const tip =
      `${s.kind}() blocked ${formatDuration(end - s.start)} on ${s.taskIds.length} task(s)` +
      (s.callsite ? `\n${s.callsite}` : "");
    driver += `<rect class="blocked" x="${f1(x(s.start))}" y="${top + 6}" width="${
      f1(Math.max(1, x(end) - x(s.start)))
    }" height="${rowH - 12}" fill="${BLOCKED_COLOUR}" data-tip="${esc(tip)}"/>`;
  }
  // One tick per pixel at most: a loop of 100 000 .remote() calls is a solid mark, not 100 000 lines.
  const ticks = new Set<number>();
  for (const t of rec.tasks) {
    if (t.parent !== undefined || !Number.isFinite(t.submitted)) continue;
    ticks.add(Math.round(x(t.submitted)));
  }
  for (const px of ticks) {
    driver += `<line class="submit" x1="${px}" y1="${top + 3}" x2="${px}" y2="${top + rowH - 3}"/>`;
  }
  drawRow(0, "driver", driver);
  for (const [i, row] of rows.entries()) {
    const y = top + (i + 1) * rowH + 3;
    let body = "";
    if (row.startup && row.startup[1] > row.startup[0]) {
      const [a, b, ms] = row.startup;
      body += `<rect class="startup" x="${f1(x(a))}" y="${y}" width="${
        f1(Math.max(1, x(b) - x(a)))
      }" height="${rowH - 6}" fill="${STARTUP_COLOUR}" data-tip="${
        esc(`${row.label} starting: ${formatDuration(ms)} from spawn to ready`)
      }"/>`;
    }
    // Tasks narrower than a pixel that touch the previous one are merged into it, so a run of
    // 100 000 tiny tasks stays a few thousand rects.
    let run: { x0: number; x1: number; n: number; colour: string; first: TaskRecord } | undefined;
    const flush = () => {
      if (!run) return;
      const t = run.first;
      const tip = run.n > 1 ? `${run.n} tasks from ${t.name} #${t.id}` : taskTip(t, win.start);
      body += `<rect class="task" x="${f1(run.x0)}" y="${y}" width="${
        f1(Math.max(0.5, run.x1 - run.x0))
      }" height="${rowH - 6}" fill="${run.colour}" data-task-id="${t.id}" data-tip="${esc(tip)}"/>`;
      run = undefined;
    };
    for (const p of row.tasks) {
      const x0 = x(p.start), x1 = x(p.stop), colour = colourOf(p.t);
      if (
        run && x1 - x0 < 1 && x0 - run.x1 < 0.5 && (run.colour === colour || run.x1 - run.x0 < 1)
      ) {
        // Tasks of several functions within a pixel are drawn as one grey bar.
        if (run.colour !== colour) run.colour = MIXED_COLOUR;
        run.x1 = Math.max(run.x1, x1);
        run.n++;
        continue;
      }
      flush();
      run = { x0, x1, n: 1, colour, first: p.t };
    }
    flush();
    drawRow(i + 1, row.label, body);
  }
  if (queue.max > 0) {
    // Tasks waiting for a slot, as a step area two rows high, scaled to the peak.
    const y0 = top + (rows.length + 1) * rowH + 2, h = 2 * rowH - 4;
    const yOf = (n: number) => f1(y0 + h - (n / queue.max) * h);
    // One step per half pixel, at the most tasks queued within it, then back to the count it
    // ended with, so a 100 000-task run stays a short path.
    const buckets = new Map<number, { max: number; last: number }>();
    for (const [t, n] of queue.steps) {
      const px = Math.round(x(Math.min(Math.max(t, win.start), win.end)) * 2) / 2;
      const b = buckets.get(px);
      if (b) {
        b.max = Math.max(b.max, n);
        b.last = n;
      } else buckets.set(px, { max: n, last: n });
    }
    let d = `M${f1(x(win.start))},${yOf(0)}`;
    for (const [px, b] of buckets) {
      d += `H${px}V${yOf(b.max)}`;
      if (b.last !== b.max) d += `H${px + 0.5}V${yOf(b.last)}`;
    }
    d += `H${f1(x(win.end))}V${yOf(0)}Z`;
    parts.push(
      `<g class="row" data-row="queued"><text class="label" x="${labelW - 8}" y="${
        y0 + h / 2 + 4
      }" text-anchor="end">queued (≤ ${queue.max})</text><rect class="lane" x="${labelW}" y="${y0}" width="${plotW}" height="${h}"/>` +
        `<path class="queue" d="${d}" data-tip="${
          esc(`Tasks waiting for a slot: up to ${queue.max} (${rec.numCpus} slots)`)
        }"/></g>`,
    );
  }
  const legend =
    names.map((n, i) =>
      `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(n)}</span>`
    ).join("") +
    `<span><i style="background:${BLOCKED_COLOUR}"></i>driver blocked in get/wait</span>` +
    (rec.tasks.some((t) => t.status === "error" || t.status === "crashed")
      ? `<span><i style="background:${FAILED_COLOUR}"></i>failed</span>`
      : "") +
    (startups.size
      ? `<span><i style="background:${STARTUP_COLOUR}"></i>worker starting</span>`
      : "");
  return `<section id="timeline"><h2>Task timeline</h2>
<p class="muted">${rec.tasks.length} tasks on ${rec.numCpus} slots over ${formatDuration(span)}${
    rec.dropped ? `; ${rec.dropped} older tasks were dropped` : ""
  }. Hover a bar for details; ticks on the driver row mark <code>.remote()</code> calls.</p>
<div class="legend">${legend}</div>
<svg id="gantt" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Task timeline per worker">${
    parts.join("")
  }</svg></section>`;
}

/** The number of tasks waiting for a slot over time, as [time, count] steps. */
function queueSteps(tasks: TaskRecord[]): { steps: [number, number][]; max: number } {
  const points: [number, number][] = [];
  for (const t of tasks) {
    if (Number.isFinite(t.ready) && Number.isFinite(t.dispatched) && t.dispatched > t.ready) {
      points.push([t.ready, 1], [t.dispatched, -1]);
    }
  }
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const steps: [number, number][] = [];
  let n = 0, max = 0;
  for (const [t, delta] of points) {
    n += delta;
    max = Math.max(max, n);
    if (steps.length && steps[steps.length - 1][0] === t) steps[steps.length - 1][1] = n;
    else steps.push([t, n]);
  }
  return { steps, max };
}

function taskTip(t: TaskRecord, origin: number): string {
  const lines = [
    `${t.name} #${t.id} (${t.kind}, ${t.status})`,
    `ran ${formatDuration(t.finished - t.started)} from ${formatDuration(t.started - origin)}`,
    `queued ${formatDuration(t.dispatched - t.ready)}; args ${formatBytes(t.argBytes)}, result ${
      formatBytes(t.resultBytes)
    }`,
  ];
  if (t.error) lines.push(t.error);
  if (t.callsite) lines.push(t.callsite);
  return lines.join("\n");
}

/** A table cell with a utilisation bar and its percentage, sortable by the fraction. */
function utilCell(u: number): string {
  const pct = Math.round(u * 100);
  return `<td class="util" data-sort="${u}"><span class="bar" style="width:${pct}px"></span> ${pct}%</td>`;
}

/** A number cell showing a duration, sortable by its milliseconds. */
function msCell(ms: number): string {
  return `<td class="num" data-sort="${ms}">${esc(formatDuration(ms))}</td>`;
}

function nodesSection(d: Diagnosis): string {
  const rows = d.nodes.map((n) =>
    `<tr><td>${esc(n.name)}</td><td>${esc(n.runtime)}</td><td class="num">${n.slots}</td>${
      utilCell(n.utilization)
    }<td class="num">${n.tasks}</td>${msCell(n.busyMs)}${msCell(n.meanQueueMs)}${
      msCell(n.meanStartMs)
    }${msCell(n.meanRunMs)}</tr>`
  );
  return `<section id="nodes-section"><h2>Nodes</h2><p class="muted">Mean times per task: queued from ready to taken by the node, start from taken to running in one of its workers, then run.</p><table id="nodes" class="sortable">
<thead><tr><th>node</th><th>runtime</th><th>slots</th><th>utilization</th><th>tasks</th><th>busy</th><th>queued</th><th>start</th><th>run</th></tr></thead>
<tbody>${rows.join("")}</tbody></table></section>`;
}

function workersSection(d: Diagnosis): string {
  const rows = d.workers.map((w) =>
    `<tr><td>${esc(w.label)}</td><td class="num">${w.tasks}</td><td class="num">${
      esc(formatDuration(w.busyMs))
    }</td>${utilCell(w.utilization)}</tr>`
  );
  return `<section id="workers-section"><h2>Workers</h2><table id="workers" class="sortable">
<thead><tr><th>worker</th><th>tasks</th><th>busy</th><th>utilization</th></tr></thead>
<tbody>${rows.join("")}</tbody></table></section>`;
}

function tasksByFunctionSection(d: Diagnosis, cwd?: string): string {
  const rows = d.functions.map((f) =>
    `<tr><td><code>${esc(f.name)}</code></td><td>${
      f.location ? esc(showLocation(f.location, cwd)) : ""
    }</td><td class="num">${f.count}</td><td class="num">${f.failed}</td>${msCell(f.totalMs)}${
      msCell(f.meanMs)
    }${msCell(f.maxMs)}${msCell(f.meanQueueMs)}</tr>`
  );
  return `<section id="tasks-section"><h2>Tasks by function</h2><table id="task-functions" class="sortable">
<thead><tr><th>function</th><th>submitted at</th><th>tasks</th><th>failed</th><th>total</th><th>mean</th><th>max</th><th>mean queue wait</th></tr></thead>
<tbody>${rows.join("")}</tbody></table></section>`;
}

function linesSection(stats: LineStats, sources: Record<string, string>, cwd?: string): string {
  const fns = stats.functions.filter((f) => f.lines.length > 0);
  if (fns.length === 0) {
    return `<section id="lines"><h2>Line profile</h2><p class="muted">No profiled line ran.</p></section>`;
  }
  const fileLines = new Map<string, string[]>();
  const sourceOf = (fn: FunctionTimings, line: number): string | undefined => {
    if (fn.source) return fn.source[line - fn.line];
    let lines = fileLines.get(fn.file);
    if (!lines && sources[fn.file] !== undefined) {
      fileLines.set(fn.file, lines = sources[fn.file].split(/\r?\n/));
    }
    return lines?.[line - 1];
  };
  const unitMs = stats.unit * 1000;
  const blocks = fns.map((fn) => {
    const total = fn.lines.reduce((a, l) => a + l.time, 0);
    const byLine = new Map(fn.lines.map((l) => [l.line, l]));
    const rows: string[] = [];
    for (let n = fn.line; n <= fn.endLine; n++) {
      const l = byLine.get(n);
      const share = l && total > 0 ? l.time / total : 0;
      // sqrt spreads the small shares, so a 2% line still shows against a 95% one.
      const heat = l
        ? `background:rgba(230,85,13,${(0.08 + 0.72 * Math.sqrt(share)).toFixed(3)})`
        : "";
      rows.push(
        `<tr${l ? ` class="hit" style="${heat}"` : ""}><td class="num">${n}</td><td class="num">${
          l ? l.hits : ""
        }</td><td class="num">${
          l ? esc(formatDuration(l.time * unitMs)) : ""
        }</td><td class="num">${
          l && l.hits ? esc(formatDuration((l.time * unitMs) / l.hits)) : ""
        }</td><td class="num">${l ? (100 * share).toFixed(1) : ""}</td><td class="src"><code>${
          esc(sourceOf(fn, n) ?? "")
        }</code></td></tr>`,
      );
    }
    const file = showLocation({
      callsite: "",
      url: fn.file,
      file: fn.file,
      line: fn.line,
      column: 0,
    }, cwd);
    return `<div class="fn"><h3><code>${esc(fn.name)}</code> <span class="muted">${
      esc(file)
    } — total ${
      esc(formatDuration(total * unitMs))
    }</span></h3><table class="heat"><thead><tr><th>Line #</th><th>Hits</th><th>Time</th><th>Per hit</th><th>% Time</th><th>Line contents</th></tr></thead><tbody>${
      rows.join("")
    }</tbody></table></div>`;
  });
  return `<section id="lines"><h2>Line profile</h2><p class="muted">Timer unit: ${stats.unit} s. Darker lines took a larger share of their function's time.</p>${
    blocks.join("")
  }</section>`;
}

function functionsSection(rows: FunctionProfileRow[], cwd?: string): string {
  const sec = (s: number) => s.toFixed(3);
  const body = rows.map((r) => {
    const prim = r.primitiveCalls ?? r.ncalls;
    const where = r.file
      ? `${
        showLocation({ callsite: "", url: r.file, file: r.file, line: r.line ?? 0, column: 0 }, cwd)
      }(${r.name})`
      : r.name;
    return `<tr><td class="num" data-sort="${r.ncalls}">${
      prim === r.ncalls ? r.ncalls : `${r.ncalls}/${prim}`
    }</td>` +
      `<td class="num">${sec(r.tottime)}</td><td class="num">${
        sec(r.ncalls ? r.tottime / r.ncalls : 0)
      }</td>` +
      `<td class="num">${sec(r.cumtime)}</td><td class="num">${
        sec(prim ? r.cumtime / prim : 0)
      }</td>` +
      `<td><code>${esc(where)}</code></td></tr>`;
  });
  return `<section id="functions"><h2>Function profile</h2><table id="function-profile" class="sortable">
<thead><tr><th>ncalls</th><th>tottime</th><th>percall</th><th>cumtime</th><th>percall</th><th>filename:lineno(function)</th></tr></thead>
<tbody>${body.join("")}</tbody></table></section>`;
}

function niceStep(total: number, ticks: number): number {
  const raw = total / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function trimNumber(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/** Turns the `name` quoting of finding messages into code spans (on escaped text). */
function codeSpans(html: string): string {
  return html.replace(/`([^`]+)`/g, "<code>$1</code>");
}

function f1(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}

const CSS = `
:root{--fg:#1d1d1f;--muted:#6e6e73;--line:#e5e5ea;--bg:#fff}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0}
header{padding:16px 24px;border-bottom:1px solid var(--line)}
h1{font-size:20px;margin:0}
h2{font-size:16px;margin:24px 0 8px}
h3{font-size:14px;margin:16px 0 6px}
main{padding:0 24px 32px;max-width:1200px}
.muted{color:var(--muted)}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.figures{display:flex;flex-wrap:wrap;gap:12px;margin:0}
.figures div{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:140px}
.figures dt{color:var(--muted);font-size:12px}
.figures dd{margin:0;font-size:16px;font-weight:600}
#findings ul{list-style:none;padding:0;margin:0}
.finding{border-left:4px solid #999;padding:6px 10px;margin:6px 0;background:#fafafa}
.finding.error{border-color:#d62728}.finding.warning{border-color:#f0a30a}.finding.info{border-color:#2b8cbe}
.sev{text-transform:uppercase;font-size:11px;font-weight:700;color:var(--muted);margin-right:4px}
.advice{color:#2d6a2d;margin-top:2px}
.ok{color:#2d6a2d}
table{border-collapse:collapse;margin:4px 0}
th,td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;font-size:12px;color:var(--muted);white-space:nowrap}
.sortable th{cursor:pointer}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.util{white-space:nowrap;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:10px;background:#59a14f;vertical-align:middle}
.heat td{border-bottom:none;padding:1px 10px}
.heat td.src{white-space:pre}
.heat tr:not(.hit) td{color:var(--muted)}
#gantt{border:1px solid var(--line);border-radius:6px;background:#fff}
#gantt .lane{fill:#f6f6f8}
#gantt .tick{stroke:#e0e0e6;stroke-width:1}
#gantt .axis,#gantt .label{font-size:11px;fill:#555}
#gantt .submit{stroke:#333;stroke-width:1}
#gantt .queue{fill:#edc948;fill-opacity:.6;stroke:#b8961e;stroke-width:1}
#gantt .task{stroke:#fff;stroke-width:1}
#gantt .task:hover,#gantt .blocked:hover,#gantt .startup:hover{stroke:#000;stroke-width:1}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:6px 0;font-size:12px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-2px}
#tip{position:fixed;pointer-events:none;background:#222;color:#fff;font-size:12px;padding:6px 8px;border-radius:4px;white-space:pre;max-width:520px;z-index:10}
`;

// Tooltips for the Gantt and click-to-sort tables; marks the page ready for tests.
const SCRIPT = `
(function () {
  "use strict";
  var tip = document.getElementById("tip");
  var svg = document.getElementById("gantt");
  if (svg) {
    svg.addEventListener("mousemove", function (ev) {
      var t = ev.target && ev.target.getAttribute && ev.target.getAttribute("data-tip");
      if (!t) { tip.hidden = true; return; }
      tip.textContent = t;
      tip.hidden = false;
      tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 320) + "px";
      tip.style.top = (ev.clientY + 12) + "px";
    });
    svg.addEventListener("mouseleave", function () { tip.hidden = true; });
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var desc = th.getAttribute("data-dir") !== "desc";
        var key = function (row) {
          var cell = row.cells[col];
          var v = cell.getAttribute("data-sort");
          if (v === null) v = cell.textContent;
          var n = parseFloat(v);
          return isNaN(n) ? v : n;
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var r = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
          return desc ? -r : r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        th.setAttribute("data-dir", desc ? "desc" : "asc");
      });
    });
  });
  document.documentElement.setAttribute("data-ready", "1");
})();
`;
