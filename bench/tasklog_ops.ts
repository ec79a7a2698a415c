/**
 * What the task log's own writes cost per task, without the runtime around them: the calls a
 * pipelined round makes (`add` for each of `--n` submissions, sharing a clock read per 32 as the
 * pool does; then `dispatched`; then `ran`; then one `awaitedIds`), in ns per task, medians of
 * `--rounds` rounds after `--warm` rounds. `recording_ab.ts` measures the whole cost in the
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

if (import.meta.main) {
  const opts = parseArgs({ n: 50_000, rounds: 60, warm: 10, capacity: 100_000 }) as {
    n: number;
    rounds: number;
    warm: number;
    capacity: number;
  };
  const log = new TaskLog(opts.capacity);
  const slots = new Int32Array(opts.n);
  const got: Round[] = [];
  for (let k = 0; k < opts.warm + opts.rounds; k++) {
    const r = round(log, slots, k * opts.n);
    if (k >= opts.warm) got.push(r);
  }
  const ns = (f: (r: Round) => number) => median(got.map(f)).toFixed(1);
  console.log(
    `${hostVersion()}, ring of ${opts.capacity}, ${opts.n} tasks a round, medians of ${opts.rounds} rounds (ns per task):`,
  );
  console.log(
    `  add ${ns((r) => r.add)}  dispatched ${ns((r) => r.dispatched)}  ran ${
      ns((r) => r.ran)
    }  all ${ns((r) => r.add + r.dispatched + r.ran)}`,
  );
  if (log.size !== Math.min(opts.capacity, opts.n * (opts.warm + opts.rounds))) {
    throw new Error(`The log holds ${log.size} records`);
  }
}
