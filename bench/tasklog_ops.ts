/**
 * What the task log's own writes cost per task, without the runtime around them: the calls a
 * pipelined round makes (`add` for each of `--n` submissions, sharing a clock read per 32 as the
 * pool does; then `dispatched`; then `ran`; then one `awaitedIds`), in ns per task, medians of
 * `--rounds` rounds after `--warm` rounds, beside the floor of writing the same words into a ring by
 * plain loops. `recording_ab.ts` measures the whole cost in the
 * runtime; this splits out the log's part of it, and runs in a second (for A/B of the log's code).
 *
 *   deno run -A bench/tasklog_ops.ts        bun bench/tasklog_ops.ts
 *   options: --n=50000 --rounds=60 --warm=10 --capacity=100000
 *
 * 2026-11-26, against the log before 37a8ec4 (its copy of this file also calling `ready` after each
 * `add`, as the pool then did), three interleaved runs each, ns per task in all: Bun 86–88 before,
 * 42–80 after; Deno 97–104 before, 68–83 after.
 *
 * @module
 */
import { K_TASK, TaskLog } from "../runtime/recorder.ts";
import { hostVersion, median, parseArgs } from "./_util.mjs";

/** ns per task of each step of one round. */
interface Round {
  add: number;
  dispatched: number;
  ran: number;
}

function round(log: TaskLog, slots: Int32Array, firstId: number): Round {
  const n = slots.length;
  const t0 = performance.now();
  let now = t0;
  for (let i = 0; i < n; i++) {
    if ((i & 31) === 0) now = performance.now();
    slots[i] = log.add(firstId + i, "noop", K_TASK, now, 2, -1, NaN);
  }
  const t1 = performance.now();
  for (let i = 0; i < n; i++) log.dispatched(slots[i], t1, i & 1);
  const t2 = performance.now();
  for (let i = 0; i < n; i++) log.ran(slots[i], t2 + 0.001, t2 + 0.002, 2, true);
  const t3 = performance.now();
  log.awaitedIds([firstId, n]);
  return {
    add: (t1 - t0) * 1e6 / n,
    dispatched: (t2 - t1) * 1e6 / n,
    ran: (t3 - t2) * 1e6 / n,
  };
}

/**
 * The floor: the same words written into a ring of 64-byte records by plain loops (10 a new
 * record, 3 a dispatch, 4 a result), with none of the log's bookkeeping.
 */
function floorRound(ring: Int32Array, start: number, n: number): Round {
  const cap = ring.length >> 4;
  const t0 = performance.now();
  let now = t0;
  for (let i = 0; i < n; i++) {
    if ((i & 31) === 0) now = performance.now();
    const o = ((start + i) % cap) << 4;
    const t = ((now - t0) * 1000 + 0.5) | 0;
    ring[o] = t;
    ring[o + 1] = t;
    ring[o + 5] = 0;
    ring[o + 8] = 0;
    ring[o + 10] = 4;
    ring[o + 11] = -1;
    ring[o + 12] = -1;
    ring[o + 13] = 2;
    ring[o + 14] = start + i;
    ring[o + 15] = -1;
  }
  const t1 = performance.now();
  for (let i = 0; i < n; i++) {
    const o = ((start + i) % cap) << 4;
    ring[o + 2] = ((t1 - t0) * 1000 + 0.5) | 0;
    ring[o + 6] = i & 1;
    ring[o + 5] = 9;
  }
  const t2 = performance.now();
  for (let i = 0; i < n; i++) {
    const o = ((start + i) % cap) << 4;
    ring[o + 3] = ((t2 - t0) * 1000 + 1.5) | 0;
    ring[o + 4] = ((t2 - t0) * 1000 + 2.5) | 0;
    ring[o + 7] = 2;
    ring[o + 5] = 26;
  }
  const t3 = performance.now();
  return {
    add: (t1 - t0) * 1e6 / n,
    dispatched: (t2 - t1) * 1e6 / n,
    ran: (t3 - t2) * 1e6 / n,
  };
}

if (import.meta.main) {
  const opts = parseArgs({ n: 50_000, rounds: 60, warm: 10, capacity: 100_000 }) as {
    n: number;
    rounds: number;
    warm: number;
    capacity: number;
  };
  const log = new TaskLog(opts.capacity);
  const ring = new Int32Array(Math.max(1, opts.capacity) * 16);
  const slots = new Int32Array(opts.n);
  const got: Round[] = [];
  const floor: Round[] = [];
  // Interleaved, so that both see the machine in the same state.
  for (let k = 0; k < opts.warm + opts.rounds; k++) {
    const r = round(log, slots, k * opts.n);
    const f = floorRound(ring, k * opts.n, opts.n);
    if (k >= opts.warm) (got.push(r), floor.push(f));
  }
  const line = (label: string, rs: Round[]) => {
    const ns = (f: (r: Round) => number) => median(rs.map(f)).toFixed(1);
    console.log(
      `  ${label.padEnd(6)} add ${ns((r) => r.add)}  dispatched ${ns((r) => r.dispatched)}  ran ${
        ns((r) => r.ran)
      }  all ${ns((r) => r.add + r.dispatched + r.ran)}`,
    );
  };
  console.log(
    `${hostVersion()}, ring of ${opts.capacity}, ${opts.n} tasks a round, medians of ${opts.rounds} rounds (ns per task):`,
  );
  line("log", got);
  line("floor", floor);
  if (log.size !== Math.min(opts.capacity, opts.n * (opts.warm + opts.rounds))) {
    throw new Error(`The log holds ${log.size} records`);
  }
}
