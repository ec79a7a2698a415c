/**
 * A lead for the runtime's per-task objects, not a figure of the runtime: what it costs to make (and
 * touch once) 50,000 objects shaped like a pending task (11 fields), made by a pair of classes as
 * `Task extends Entry` is, or by an object literal, with a major or a minor collection before each
 * round. In Deno each major collection deoptimizes code that constructs class instances (V8:
 * "embedded weak objects cleared"; `--trace-deopt`), as it does the runtime's `submit`, `Task`,
 * `Entry` and `ObjectRef` (see `recording_ab.ts`); a loop making object literals showed no such
 * deopt. Interleaved rounds, medians, ns per object.
 *
 * 2026-11-26, two runs: Deno, class 86–92 and literal 80–88 after a major collection, class 76–90
 * and literal 54–59 after a minor one; Bun 80 and 86 either way. (Each case alone in its own
 * process, Deno gave class 108–134 and literal 32–42 after a major collection: how the cases
 * share a heap changes the answer, so this is a lead to test in the runtime itself.)
 *
 *   deno run -A --v8-flags=--expose-gc bench/object_shapes.ts      bun bench/object_shapes.ts
 *   options: --rounds=60 --n=50000
 *
 * @module
 */
import { collectGarbage, hostVersion, median, parseArgs } from "./_util.mjs";

class Entry {
  state = 0;
  value: unknown = undefined;
  waiters: unknown = null;
  slot = -1;
  constructor(readonly id: number, readonly gen: number, readonly name: string) {}
}

class Task extends Entry {
  args: unknown[];
  flags = 0;
  deps = 0;
  worker: unknown = null;
  seq = 0;
  constructor(id: number, args: unknown[]) {
    super(id, 1, "noop");
    this.args = args;
  }
}

function literal(id: number, args: unknown[]) {
  return {
    state: 0,
    value: undefined as unknown,
    waiters: null as unknown,
    slot: -1,
    id,
    gen: 1,
    name: "noop",
    args,
    flags: 0,
    deps: 0,
    worker: null as unknown,
    seq: 0,
  };
}

let keep: unknown[] = [];

function round(make: "class" | "literal", n: number): number {
  const t0 = performance.now();
  const a: { state: number }[] = new Array(n);
  if (make === "class") { for (let i = 0; i < n; i++) a[i] = new Task(i, []); }
  else for (let i = 0; i < n; i++) a[i] = literal(i, []);
  for (let i = 0; i < n; i++) a[i].state = 1;
  const ns = (performance.now() - t0) * 1e6 / n;
  keep = a; // alive until the next round, as pending tasks are
  return ns;
}

if (import.meta.main) {
  const opts = parseArgs({ rounds: 60, n: 50_000 }) as { rounds: number; n: number };
  const cases = [
    ["class", "major"],
    ["literal", "major"],
    ["class", "minor"],
    ["literal", "minor"],
  ] as const;
  const got = cases.map(() => [] as number[]);
  for (let r = 0; r < opts.rounds + 5; r++) {
    for (let c = 0; c < cases.length; c++) {
      const [make, gc] = cases[(c + r) % cases.length];
      if (!collectGarbage(gc)) throw new Error("Run Deno with --v8-flags=--expose-gc");
      const ns = round(make, opts.n);
      if (r >= 5) got[(c + r) % cases.length].push(ns);
    }
  }
  console.log(`${hostVersion()}, ${opts.n} objects a round, medians of ${opts.rounds} rounds:`);
  cases.forEach(([make, gc], i) => {
    console.log(`  ${make.padEnd(8)} after a ${gc} collection  ${median(got[i]).toFixed(1)} ns`);
  });
  if (keep.length !== opts.n) throw new Error("lost the last round");
}
