/**
 * A terminal Gantt chart of a recording: a row for the driver (blocked in `get`/`wait`, `.remote()`
 * calls), a row per worker, and a row counting the tasks waiting for a slot, over a time axis in
 * seconds. ex1's staircase of one task at a time and ex2's block of tasks side by side are told
 * apart at a glance.
 *
 * @example Draw a recording
 * ```ts ignore
 * import { gantt } from "./gantt.ts";
 * import { recording } from "../../runtime/mod.ts";
 * console.log(gantt(recording(), { width: 100, color: true }));
 * ```
 *
 * @module
 */

import type { Recording, TaskRecord } from "../../runtime/recorder.ts";
import { layOutLanes, workerStartups } from "../../runtime/chrome_trace.ts";
import { formatDuration, recordingWindow } from "./_tasks.ts";

/** Options for {@linkcode gantt}. */
export interface GanttOptions {
  /**
   * Total width in columns, labels included.
   * @default {80}
   */
  width?: number;
  /**
   * Use ANSI colours (the caller decides: only on a TTY, never with NO_COLOR).
   * @default {false}
   */
  color?: boolean;
  /**
   * Add a legend of the glyphs and functions.
   * @default {true}
   */
  legend?: boolean;
}

/** Glyphs of functions in order of first appearance, used without colour. */
const GLYPHS = ["█", "▓", "▒", "#", "=", "%", "@", "+"];
/** ANSI foreground colours of functions in order of first appearance. */
const COLOURS = ["32", "34", "35", "36", "33", "92", "94", "95"];
const BLOCKED = "░";
const SUBMIT = "↑";
const FAILED = "X";
const SHORT = "▏";
const NOTCH = "▐";
/** A worker starting (spawned, not ready yet) while tasks were submitted. */
const STARTING = "┈";

/**
 * Draws a recording as a Gantt chart.
 *
 * @param rec A recording snapshot.
 * @param options Width, colour and legend.
 * @returns Lines of text ending in a newline; a one-line note when nothing was recorded.
 * @throws {RangeError} If `width` is not an integer of at least 30.
 */
export function gantt(rec: Recording, options: GanttOptions = {}): string {
  const width = options.width ?? 80;
  if (!Number.isInteger(width) || width < 30) {
    throw new RangeError(
      `Cannot draw the Gantt chart as 'width' must be an integer ≥ 30: received ${width}`,
    );
  }
  const color = options.color ?? false;
  const paint = (code: string, s: string) => (color && s.trim() ? `\x1b[${code}m${s}\x1b[0m` : s);
  // A row is built as cells of [colour code, glyph] and rendered with one escape per run of a
  // colour, so coloured output stays small.
  type Cell = [string, string];
  const render = (cells: Cell[]): string => {
    if (!color) return cells.map((c) => c[1]).join("");
    let out = "", i = 0;
    while (i < cells.length) {
      let j = i;
      while (j < cells.length && cells[j][0] === cells[i][0]) j++;
      const text = cells.slice(i, j).map((c) => c[1]).join("");
      out += cells[i][0] ? paint(cells[i][0], text) : text;
      i = j;
    }
    return out;
  };
  const win = recordingWindow(rec);
  if (rec.tasks.length === 0 && rec.spans.length === 0) return "No tasks were recorded.\n";
  const span = Math.max(win.end - win.start, 1e-3);

  const lanes = layOutLanes(rec.tasks, win.end);
  const workerIds = new Set<number>(rec.workers.map((w) => w.id));
  for (const id of lanes.keys()) workerIds.add(id);
  const labels = new Map(rec.workers.map((w) => [w.id, w.label]));
  type Row = {
    label: string;
    tasks: { t: TaskRecord; start: number; stop: number }[];
    busy: number;
    /** The worker's start-up, drawn where the row is empty, when it held the tasks up. */
    startup?: [number, number];
  };
  const startups = new Map<number, [number, number]>();
  for (const s of workerStartups(rec)) {
    startups.set(s.worker, [Math.max(s.started, win.start), Math.min(s.ready, win.end)]);
  }
  const rows: Row[] = [];
  for (const id of [...workerIds].sort((a, b) => a - b)) {
    const ls = lanes.get(id) ?? [[]];
    for (const [i, lane] of ls.entries()) {
      const base = labels.get(id) ?? `worker ${id}`;
      const busy = lane.reduce((a, p) => a + (p.stop - p.start), 0);
      rows.push({
        label: i === 0 ? base : `${base} #${i + 1}`,
        tasks: lane.map((p) => ({ t: p.task, start: p.start, stop: p.stop })),
        busy,
        startup: i === 0 ? startups.get(id) : undefined,
      });
    }
  }

  const names: string[] = [];
  for (const t of [...rec.tasks].sort((a, b) => a.submitted - b.submitted)) {
    if (!names.includes(t.name)) names.push(t.name);
  }
  const style = (name: string) => {
    const i = names.indexOf(name);
    return { glyph: GLYPHS[i % GLYPHS.length], colour: COLOURS[i % COLOURS.length] };
  };

  const labelW = Math.max(6, ...rows.map((r) => r.label.length));
  const pctW = 5;
  const cols = width - labelW - 2 - pctW;
  if (cols < 10) {
    throw new RangeError(
      `Cannot draw the Gantt chart as 'width' leaves no room for bars: received ${width}`,
    );
  }
  const cell = span / cols;
  const col = (t: number) => Math.min(cols - 1, Math.max(0, Math.floor((t - win.start) / cell)));

  // Coverage of each cell by each function name, and by failed tasks.
  let notched = false;
  let started = false;
  const drawRow = (tasks: Row["tasks"], startup?: [number, number]): Cell[] => {
    const cover: Map<string, number>[] = Array.from({ length: cols }, () => new Map());
    const failed = new Array<number>(cols).fill(0);
    for (const { t, start, stop } of tasks) {
      const bad = t.status === "error" || t.status === "crashed";
      for (let c = col(start); c <= col(stop); c++) {
        const a = win.start + c * cell, b = a + cell;
        const o = Math.max(0, Math.min(b, stop) - Math.max(a, start));
        const m = cover[c];
        m.set(t.name, (m.get(t.name) ?? 0) + o);
        if (bad) failed[c] += o;
      }
    }
    const out: Cell[] = [];
    for (let c = 0; c < cols; c++) {
      let best = "", bestV = 0, total = 0;
      for (const [n, v] of cover[c]) {
        total += v;
        if (v > bestV) {
          best = n;
          bestV = v;
        }
      }
      if (total <= 0 && cover[c].size === 0) out.push(["", " "]);
      else if (failed[c] * 2 >= total && failed[c] > 0) out.push(["31", FAILED]);
      else {
        const s = style(best);
        out.push([s.colour, total >= cell * 0.5 ? (color ? "█" : s.glyph) : SHORT]);
      }
    }
    if (startup && startup[1] > startup[0]) {
      for (let c = col(startup[0]); c <= col(startup[1]); c++) {
        if (out[c][1] === " ") {
          out[c] = ["90", STARTING];
          started = true;
        }
      }
    }
    // Back-to-back tasks would merge into one bar: notch the first cell of each, so ex1's five
    // tasks in a row read as five.
    for (let i = 1; i < tasks.length; i++) {
      const { start, stop } = tasks[i];
      const c = col(start);
      if (start - tasks[i - 1].stop < cell && col(stop) - c >= 2 && out[c][1] !== FAILED) {
        out[c] = [out[c][0], NOTCH];
        notched = true;
      }
    }
    return out;
  };

  const lines: string[] = [];
  const tasksWord = `${rec.tasks.length} task${rec.tasks.length === 1 ? "" : "s"}`;
  const slots = `${rec.numCpus} slot${rec.numCpus === 1 ? "" : "s"}`;
  const title = `Task timeline: ${formatDuration(span)}, ${tasksWord} on ${slots}` +
    (rec.dropped ? ` (${rec.dropped} older tasks dropped)` : "");
  lines.push(title.length > width ? title.slice(0, width - 1) + "…" : title);
  lines.push(" ".repeat(labelW + 2) + axisLabels(span / 1000, cols));
  lines.push(" ".repeat(labelW + 2) + axisRule(span / 1000, cols));

  // Driver: blocked spans, then .remote() marks on top, since those are the moments it acted.
  const driver: Cell[] = Array.from({ length: cols }, (): Cell => ["", " "]);
  let blockedMs = 0;
  for (const s of rec.spans) {
    if (s.worker !== undefined || !Number.isFinite(s.start)) continue;
    const end = Number.isFinite(s.end) ? s.end : win.end;
    blockedMs += end - s.start;
    for (let c = col(s.start); c <= col(end); c++) driver[c] = ["90", BLOCKED];
  }
  for (const t of rec.tasks) {
    if (t.parent === undefined && Number.isFinite(t.submitted)) {
      driver[col(t.submitted)] = ["1", SUBMIT];
    }
  }
  const pct = (ms: number) => `${Math.round((100 * ms) / span)}%`.padStart(pctW - 1);
  lines.push(`${"driver".padEnd(labelW)} │${render(driver)} ${pct(blockedMs)}`);
  for (const r of rows) {
    lines.push(
      `${r.label.padEnd(labelW)} │${render(drawRow(r.tasks, r.startup))} ${pct(r.busy)}`,
    );
  }

  const queued = queueCounts(rec.tasks, win.start, cell, cols);
  if (queued.some((n) => n > 0)) {
    const text = queued.map((n) => (n === 0 ? " " : n < 10 ? String(n) : "+")).join("");
    lines.push(`${"queued".padEnd(labelW)} │${paint("33", text)}`);
  }

  if (options.legend ?? true) {
    const items = names.map((n) => {
      const s = style(n);
      return `${paint(s.colour, color ? "█" : s.glyph)} ${n}`;
    });
    items.push(`${paint("90", BLOCKED)} driver blocked in get/wait`, `${SUBMIT} .remote()`);
    if (rec.tasks.some((t) => t.status === "error" || t.status === "crashed")) {
      items.push(`${paint("31", FAILED)} failed`);
    }
    if (notched) items.push(`${NOTCH} next task`);
    if (started) items.push(`${paint("90", STARTING)} worker starting`);
    items.push(`${SHORT} < half a column`);
    if (queued.some((n) => n > 0)) items.push("1-9,+ tasks waiting for a slot");
    items.push("% time busy (driver: blocked)");
    lines.push(wrap(items, width, "  ", "Legend: "));
  }
  return lines.join("\n") + "\n";
}

function queueCounts(tasks: TaskRecord[], start: number, cell: number, cols: number): number[] {
  const out = new Array<number>(cols).fill(0);
  for (const t of tasks) {
    if (!Number.isFinite(t.ready)) continue;
    const end = Number.isFinite(t.dispatched)
      ? t.dispatched
      : t.status === "pending"
      ? Infinity
      : t.ready;
    if (!(end > t.ready)) continue;
    const a = Math.max(0, Math.floor((t.ready - start) / cell));
    const b = Math.min(
      cols - 1,
      Number.isFinite(end) ? Math.floor((end - start) / cell) : cols - 1,
    );
    // A task counts in a cell when it waited through the middle of it, so short waits do not smear.
    for (let c = a; c <= b; c++) {
      const mid = start + (c + 0.5) * cell;
      if (t.ready <= mid && mid < end) out[c]++;
    }
  }
  return out;
}

/** Tick step in seconds giving about one tick per 10 columns. */
function tickStep(seconds: number, cols: number): number {
  const raw = seconds / Math.max(1, Math.floor(cols / 10));
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function tickLabel(v: number, step: number): string {
  let decimals = 0;
  while (
    decimals < 6 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6
  ) {
    decimals++;
  }
  return `${v.toFixed(decimals)}s`;
}

function axisLabels(seconds: number, cols: number): string {
  const step = tickStep(seconds, cols);
  const chars = new Array<string>(cols + 8).fill(" ");
  let free = 0;
  for (let k = 0; k * step <= seconds * (1 + 1e-9); k++) {
    const c = Math.round((k * step * cols) / seconds);
    const label = tickLabel(k * step, step);
    const at = Math.max(0, c - (k === 0 ? 0 : Math.floor(label.length / 2)));
    if (at < free || at + label.length > chars.length) continue;
    for (let i = 0; i < label.length; i++) chars[at + i] = label[i];
    free = at + label.length + 1;
  }
  return chars.join("").trimEnd();
}

function axisRule(seconds: number, cols: number): string {
  const step = tickStep(seconds, cols);
  const chars = new Array<string>(cols).fill("─");
  for (let k = 0; k * step <= seconds * (1 + 1e-9); k++) {
    const c = Math.round((k * step * cols) / seconds);
    if (c < cols) chars[c] = "┬";
  }
  return chars.join("");
}

function wrap(items: string[], width: number, sep: string, first: string): string {
  // deno-lint-ignore no-control-regex -- strips the colour escapes this module writes
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").length;
  const lines: string[] = [];
  let line = first;
  for (const item of items) {
    const add = line === first ? item : sep + item;
    if (visible(line) + visible(add) > width && line !== first) {
      lines.push(line);
      line = " ".repeat(first.length) + item;
    } else line += add;
  }
  lines.push(line);
  return lines.join("\n");
}
