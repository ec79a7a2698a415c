/**
 * The tail of the sync round trip (`await get(f.remote())` of a no-op task on a one-worker pool)
 * beside a raw worker_threads ping-pong, interleaved in slices: percentiles, how many round trips
 * took over 120 µs, and how far apart those came (a slow one every few round trips points at a
 * periodic cause, such as an idle worker's poll holding a core the driver needs). A diagnostic for
 * the round-trip target, which is on the mean.
 *
 *   deno run -A bench/roundtrip_tail.ts      bun bench/roundtrip_tail.ts
 *
 * Options: --n=20000 (round trips of each per rep, in slices of 1,000) --reps=3 --warm=30000
 *
 * @module
 */
import * as ray from "../mod.ts";
import { hostVersion, nodeEcho, parseArgs } from "./_util.mjs";

/** The task whose cost is all overhead. */
export const noop = ray.remote(function noop() {});

const SLOW_US = 120;

function summary(name: string, us: number[]): string {
  const slow: number[] = [];
  us.forEach((t, i) => t > SLOW_US && slow.push(i));
  const gaps = slow.slice(1).map((x, k) => x - slow[k]).sort((a, b) => a - b);
  const s = us.slice().sort((a, b) => a - b);
  const p = (q: number) => s[Math.floor(q * (s.length - 1))].toFixed(1).padStart(6);
  const mean = (us.reduce((a, b) => a + b, 0) / us.length).toFixed(1).padStart(6);
  const gap = gaps.length ? String(gaps[gaps.length >> 1]) : "-";
  return `  ${name.padEnd(5)} mean ${mean}  p50 ${p(0.5)}  p90 ${p(0.9)}  p99 ${p(0.99)}  ` +
    `over ${SLOW_US} µs: ${String(slow.length).padStart(5)} (median spacing ${gap})`;
}

if (import.meta.main) {
  const o = parseArgs({ n: 20000, reps: 3, warm: 30000 });
  const echo = await nodeEcho();
  const raw = () =>
    new Promise<void>((resolve) => {
      echo.onReply(() => resolve());
      echo.send(0);
    });
  const ours = () => ray.get(noop.remote());
  ray.init({ numCpus: 1 });
  for (let i = 0; i < o.warm; i++) {
    await raw();
    await ours();
  }
  console.log(`${hostVersion()}: round trips, µs (${o.n} of each per rep, slices of 1,000)`);
  for (let rep = 0; rep < o.reps; rep++) {
    const times: Record<"raw" | "ours", number[]> = { raw: [], ours: [] };
    for (let done = 0; done < o.n; done += 1000) {
      for (const [name, f] of [["raw", raw], ["ours", ours]] as const) {
        for (let i = 0; i < Math.min(1000, o.n - done); i++) {
          const t = performance.now();
          await f();
          times[name].push((performance.now() - t) * 1000);
        }
      }
    }
    console.log(`rep ${rep + 1}\n${summary("raw", times.raw)}\n${summary("ours", times.ours)}`);
  }
  await echo.close();
  await ray.shutdown();
}
