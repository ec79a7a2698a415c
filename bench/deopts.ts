/**
 * Deoptimizations over a run with periodic major collections (issue 14): rounds of pipelined and
 * sync no-op tasks on 2 workers, a major collection before each round (`--gc`: the kind, see
 * collectGarbage in _util.mjs). Run under `--v8-flags=--trace-deopt,--expose-gc`: bench/run.mjs
 * does, and counts what V8 prints: every deoptimization (`[bailout` lines, and `[marking dependent
 * code` lines for code thrown away because what it assumed changed), and among them those for
 * "embedded weak objects cleared", the ones a major collection causes when it frees the hidden
 * classes (maps) that optimized code was built for. The counts cover the driver and the workers.
 *
 *   deno run -A --v8-flags=--trace-deopt,--expose-gc bench/deopts.ts [--rounds=20 --n=10000 --rt=200 --gc=major]
 *
 * @module
 */
import * as ray from "../mod.ts";
import { collectGarbage, parseArgs } from "./_util.mjs";

/** The task whose cost is all overhead. */
export const noop = ray.remote(function noop() {});

if (import.meta.main) {
  const o = parseArgs({ rounds: 20, n: 10_000, rt: 200, gc: "major" });
  ray.init({ numCpus: 2 });
  for (let r = 0; r < o.rounds; r++) {
    if (!collectGarbage(o.gc)) throw new Error("Run Deno with --v8-flags=--expose-gc");
    const refs = new Array<ray.ObjectRef<void>>(o.n);
    for (let i = 0; i < o.n; i++) refs[i] = noop.remote();
    await ray.get(refs);
    for (let i = 0; i < o.rt; i++) await ray.get(noop.remote());
  }
  await ray.shutdown();
}
