/**
 * One fresh process's figures, the bench's default protocol (issue 14): a program's first tasks.
 * Run once per process; `bench/run.mjs` runs it in many new processes, interleaved with the
 * floors and the peers, and takes medians.
 *
 * `--mode=ours` (the default), in this order:
 * 1. time to the first result: from `init()` to the first `get` resolving (2 slots);
 * 2. the warm-up: 1,000 sync round trips, then 1,000 pipelined tasks (2,000 tasks in all);
 * 3. the first 20,000 pipelined no-op tasks (submit them all, then get them), tasks/s;
 * 4. 2,000 sync round trips (`await get(f.remote())`), interleaved in 10 slices with a raw
 *    postMessage ping-pong to a bare `node:worker_threads` worker, which got its own warm-up of
 *    2,000 round trips first.
 *
 * `--mode=bare`: the floor of the first result: spawn a bare `node:worker_threads` worker and get
 * one message back, ms (what a process pays for its first worker).
 *
 *   deno run -A bench/fresh.ts [--mode=ours|bare] [--json]      bun bench/fresh.ts
 *
 * Options: --warm=2000 (warm-up tasks: half sync, half pipelined) --n=20000 (pipelined tasks)
 * --rt=2000 (sync round trips) --numCpus=2 --json
 *
 * @module
 */
import * as ray from "../mod.ts";
import {
  bareFirstMessage,
  fmt,
  hostVersion,
  JSON_MARK,
  nodeEcho,
  parseArgs,
  roundTrips,
} from "./_util.mjs";

/** The task whose cost is all overhead. */
export const noop = ray.remote(function noop() {});

/** What one fresh process measured. */
export interface FreshResult {
  host: string;
  mode: "ours" | "bare";
  /** init() (or the bare Worker's constructor) to the first result, ms. */
  firstMs: number;
  /** The first pipelined tasks after the warm-up, tasks/s. */
  pipelinedPerSec?: number;
  /** Sync round trip, µs, and the raw ping-pong interleaved with it. */
  syncUs?: number;
  rawUs?: number;
}

async function syncRoundTrips(n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await ray.get(noop.remote());
  return (performance.now() - t0) * 1000 / n;
}

async function pipelined(n: number): Promise<number> {
  const refs = new Array<ray.ObjectRef<void>>(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) refs[i] = noop.remote();
  await ray.get(refs);
  return n / (performance.now() - t0) * 1000;
}

/** Our figures, in a fresh process (see the module doc). */
export async function runOurs(
  o: { warm: number; n: number; rt: number; numCpus: number },
): Promise<FreshResult> {
  const t0 = performance.now();
  ray.init({ numCpus: o.numCpus });
  await ray.get(noop.remote());
  const firstMs = performance.now() - t0;
  await syncRoundTrips(Math.max(0, Math.ceil(o.warm / 2) - 1));
  await pipelined(Math.floor(o.warm / 2));
  const pipelinedPerSec = await pipelined(o.n);
  const echo = await nodeEcho();
  await roundTrips(echo, o.warm);
  const slices = 10;
  const per = Math.max(1, Math.round(o.rt / slices));
  let raw = 0, ours = 0;
  for (let s = 0; s < slices; s++) {
    raw += await roundTrips(echo, per);
    ours += await syncRoundTrips(per);
  }
  await echo.close();
  await ray.shutdown();
  return {
    host: hostVersion(),
    mode: "ours",
    firstMs,
    pipelinedPerSec,
    syncUs: ours / slices,
    rawUs: raw / slices,
  };
}

/** The floor of the first result: a bare worker's first message back (fresh process). */
export async function runBare(): Promise<FreshResult> {
  return { host: hostVersion(), mode: "bare", firstMs: await bareFirstMessage() };
}

if (import.meta.main) {
  const o = parseArgs({ mode: "ours", warm: 2000, n: 20_000, rt: 2000, numCpus: 2, json: false });
  const r = o.mode === "bare" ? await runBare() : await runOurs(o);
  console.log(
    `${r.host} ${r.mode}: first result ${fmt(r.firstMs, 1)} ms` +
      (r.mode === "ours"
        ? `, pipelined ${fmt(r.pipelinedPerSec!)} tasks/s, sync ${fmt(r.syncUs!, 1)} µs, raw ${
          fmt(r.rawUs!, 1)
        } µs`
        : ""),
  );
  if (o.json) console.log(JSON_MARK + JSON.stringify(r));
}
