/**
 * Real CPU work: count the primes below 6,000,000 in 12 ranges, serially on the driver and then
 * as tasks on one worker per core, and print the speed-up.
 *
 *   deno run -A examples/primes.ts [limit]      bun examples/primes.ts [limit]
 *
 * On a 2-core machine expect close to 2x; the work is split in more ranges than cores so that the
 * uneven ranges (higher ones take longer) balance out.
 */
import * as ray from "../mod.ts";

/** Counts primes in [lo, hi) by trial division (deliberately CPU-bound). */
export function countPrimes(lo: number, hi: number): number {
  let n = 0;
  for (let x = Math.max(2, lo); x < hi; x++) {
    let prime = true;
    for (let d = 2; d * d <= x; d++) {
      if (x % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) n++;
  }
  return n;
}

export const countPrimesRemote = ray.remote(countPrimes);

function ranges(limit: number, parts: number): [number, number][] {
  const step = Math.ceil(limit / parts);
  return Array.from({ length: parts }, (_, i) => [i * step, Math.min(limit, (i + 1) * step)]);
}

export function serial(limit: number): number {
  return ranges(limit, 12).reduce((sum, [lo, hi]) => sum + countPrimes(lo, hi), 0);
}

export async function parallel(limit: number): Promise<number> {
  const refs = ranges(limit, 12).map(([lo, hi]) => countPrimesRemote.remote(lo, hi));
  const counts = await ray.get(refs);
  return counts.reduce((a, b) => a + b, 0);
}

if (import.meta.main) {
  const limit = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 6_000_000);
  const cores = navigator.hardwareConcurrency;
  ray.init({ numCpus: cores });
  // Let the workers start and load this module before timing.
  await ray.get(countPrimesRemote.remote(0, 10));

  let t = performance.now();
  const s = serial(limit);
  const serialSeconds = (performance.now() - t) / 1000;

  t = performance.now();
  const p = await parallel(limit);
  const parallelSeconds = (performance.now() - t) / 1000;

  if (s !== p) throw new Error(`Counts differ: serial ${s}, parallel ${p}`);
  console.log(`primes below ${limit}: ${p}`);
  console.log(`serial:   ${serialSeconds.toFixed(3)} s`);
  console.log(`parallel: ${parallelSeconds.toFixed(3)} s on ${cores} workers`);
  console.log(`speed-up: ${(serialSeconds / parallelSeconds).toFixed(2)}x (ideal ${cores}x)`);
  await ray.shutdown();
}
