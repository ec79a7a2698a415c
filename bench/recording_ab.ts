/**
 * Cost of task recording: pipelined no-op tasks on 2 workers (submit `--n`, then get them all),
 * recording off and on, interleaved `--pairs` times in one process. One pool runs all rounds (its
 * workers stay warm); between rounds the bench switches the pool's recorder on or off, or to the
 * task log of another mode, and runs a full GC. Each pair gives a ratio on/off − 1 from rounds run
 * back to back; the figure is the median of those ratios (with their range and quartiles), so a
 * burst of load from elsewhere on the machine spoils a few pairs instead of one mode's median.
 *
 * Two ratios per pair: wall-clock time (the target: ≤ 5% of no-op task throughput) and the CPU
 * time of the driver's thread, where all recording happens (Linux: /proc/thread-self/schedstat).
 * Neither is steady on 2 cores shared by the driver and 2 workers: how many results each message
 * carries, and so the driver's work per task, changes with how the three threads are scheduled.
 * Read the quartiles, and run it more than once. The time and load average at start and end are
 * printed for that reason.
 *
 * `--capacity=100000,8192` runs one "on" mode per ring capacity ("default": the recorder's own log,
 * of init's default capacity), each paired with the same round's "off": an A/B of the ring's size.
 *
 *   deno run -A --v8-flags=--expose-gc bench/recording_ab.ts      bun bench/recording_ab.ts
 *   options: --pairs=150 --n=50000 --capacity=default --warm=2 (rounds of each mode not counted)
 *            --gc=minor|major|all|none (collection between rounds; "all" is `gc()`)
 *
 * Between rounds Deno collects the young generation only (`--gc=minor`, since 2026-11-26), where
 * a round's garbage is. After a major collection (`gc()`, as before, or `--gc=major`) every round
 * ran slower in both modes, in a state a program does not stay in: a task cost 3.5–4.3 µs instead
 * of 2.2–2.4, `.remote()` 0.32–0.43 µs instead of 0.14–0.15; recording's share then came out
 * between 1.5% and 16% in runs an hour apart (quartiles of one run −11%…+37%). Each major
 * collection deoptimizes most of the runtime's hot functions (`--trace-deopt`: "embedded weak
 * objects cleared" for `submit`, `Task`, `Entry`, `ObjectRef`, `settle`, `#done`, ...: 387 deopts
 * in 10 pairs against 64 with minor collections), so each round starts in slower code; a program
 * meets a major collection now and then, not before every burst of 50,000 tasks. The young
 * generation keeps its size (`--trace-gc-verbose`). `gc(undefined)` is not a major collection (it
 * ran as fast as `--gc=minor`).
 *
 * 150 pairs, as medians of 40 scattered too widely to tell 5% from 0: in one hour of 2026-11-26
 * the same Deno code gave medians of 40 pairs from −0.3% to 16% (quartiles −16%…+37%), and of 150
 * pairs 0.3% and 2.3%.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import * as ray from "../mod.ts";
import { type Recorder, TaskLog } from "../runtime/recorder.ts";
import { collectGarbage, hostVersion, median, parseArgs } from "./_util.mjs";

/** The task whose cost is all overhead. */
export const noop = ray.remote(function noop() {});

/** CPU time of this thread in ms (Linux), or NaN. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** The 1-, 5- and 15-minute load averages (Linux), or "?". */
function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

/** One mode: recording off, or on into a task log of its own (with a ring capacity). */
interface Mode {
  label: string;
  log: TaskLog | null;
}

/** Per task, in µs: the `.remote()` loop, submission to the last result, the driver's CPU. */
interface Round {
  submit: number;
  total: number;
  cpu: number;
}

/** The running pool's recorder (the bench switches it between modes, between rounds). */
function recorder(): Recorder {
  const s = (globalThis as { [k: symbol]: { pool: { recorder: Recorder } | null } })[
    Symbol.for("rayprof.state")
  ];
  if (!s?.pool) throw new Error("Cannot find the runtime's recorder: the pool is not running");
  return s.pool.recorder;
}

async function round(mode: Mode, n: number, gc: string): Promise<Round> {
  const rec = recorder();
  rec.enabled = mode.log !== null;
  if (mode.log) rec.tasks = mode.log;
  collectGarbage(gc);
  const c0 = threadCpuMs();
  const t0 = performance.now();
  const refs = new Array(n);
  for (let i = 0; i < n; i++) refs[i] = noop.remote();
  const t1 = performance.now();
  await ray.get(refs);
  const t2 = performance.now();
  const c2 = threadCpuMs();
  return { submit: (t1 - t0) * 1000 / n, total: (t2 - t0) * 1000 / n, cpu: (c2 - c0) * 1000 / n };
}

/** "median (min…max, quartiles q1…q3)" of ratios, as percentages. */
function ratios(xs: number[]): string {
  const s = xs.slice().sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const pc = (x: number) => `${(x * 100).toFixed(1)}%`;
  return `${pc(median(s))} (range ${pc(s[0])}…${pc(s[s.length - 1])}, quartiles ${pc(q(0.25))}…${
    pc(q(0.75))
  })`;
}

if (import.meta.main) {
  const opts = parseArgs({ pairs: 150, n: 50_000, capacity: "default", warm: 2, gc: "minor" }) as {
    pairs: number;
    n: number;
    capacity: string;
    warm: number;
    gc: string;
  };
  if (!["minor", "major", "all", "none"].includes(opts.gc)) {
    throw new RangeError(`--gc must be minor, major, all or none: received ${opts.gc}`);
  }
  ray.init({ numCpus: 2 });
  const modes: Mode[] = [{ label: "off", log: null }];
  for (const c of opts.capacity.split(",")) {
    modes.push(
      c === "default"
        ? { label: `on (capacity ${recorder().tasks.capacity})`, log: recorder().tasks }
        : { label: `on, capacity ${c}`, log: new TaskLog(Number(c)) },
    );
  }
  console.log(
    `${hostVersion()}, ${navigator.hardwareConcurrency} CPUs, ${opts.n} tasks a round, ${opts.pairs} rounds of ${modes.length} modes, --gc=${opts.gc}`,
  );
  console.log(`start ${new Date().toISOString().slice(11, 19)} UTC, load ${loadAverage()}`);
  if (!collectGarbage(opts.gc)) {
    console.log("(no GC between rounds: run Deno with --v8-flags=--expose-gc)");
  }
  for (let k = 0; k < opts.warm; k++) for (const m of modes) await round(m, opts.n, opts.gc);
  const res = modes.map(() => [] as Round[]);
  for (let p = 0; p < opts.pairs; p++) {
    // The order turns each round, so that no mode always runs first or right after another.
    const order = modes.map((_, i) => i);
    for (let k = 0; k < p % modes.length; k++) order.push(order.shift()!);
    if (p % 2) order.reverse();
    const got: Round[] = new Array(modes.length);
    for (const i of order) got[i] = await round(modes[i], opts.n, opts.gc);
    got.forEach((r, i) => res[i].push(r));
  }
  await ray.shutdown();
  console.log(`end   ${new Date().toISOString().slice(11, 19)} UTC, load ${loadAverage()}`);
  for (let i = 0; i < modes.length; i++) {
    const r = res[i];
    console.log(
      `${modes[i].label.padEnd(24)} .remote() ${
        median(r.map((x) => x.submit)).toFixed(3)
      } µs/task` +
        `  total ${median(r.map((x) => x.total)).toFixed(3)} µs/task` +
        `  driver CPU ${median(r.map((x) => x.cpu)).toFixed(3)} µs/task`,
    );
  }
  for (let i = 1; i < modes.length; i++) {
    const wall = res[i].map((r, p) => r.total / res[0][p].total - 1);
    const cpu = res[i].map((r, p) => r.cpu / res[0][p].cpu - 1);
    console.log(`${modes[i].label} vs off, median of ${opts.pairs} pairs:`);
    console.log(`  wall time  ${ratios(wall)}  (target ≤ 5%)`);
    if (!cpu.some(Number.isNaN)) console.log(`  driver CPU ${ratios(cpu)}`);
  }
}
