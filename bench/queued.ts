/**
 * Memory of tasks waiting for a slot, in a fresh process: one slot, held by a task that blocks
 * until the figures are taken; `--n` no-op tasks are submitted behind it and kept in an array (as
 * a program keeps its refs), then heap and RSS growth are read after a full collection. Heap bytes
 * per pending task include the array's slot (8 bytes). Then how fast one worker drains them.
 *
 *   deno run -A --v8-flags=--expose-gc bench/queued.ts      bun bench/queued.ts
 *
 * Options: --n=1000000 --recording=true --json
 *
 * @module
 */
import * as ray from "../mod.ts";
import { fmt, gc, hostVersion, JSON_MARK, memoryMB, parseArgs, sleep } from "./_util.mjs";

/** The task whose cost is all overhead. */
export const noop = ray.remote(function noop() {});

/** Blocks its worker until the driver sets `cell[0]`; sets `cell[1]` once it runs. */
export const hold = ray.remote(function hold(cell: Int32Array) {
  Atomics.store(cell, 1, 1);
  Atomics.wait(cell, 0, 0);
});

/** What {@linkcode queuedMemory} measured. */
export interface QueuedResult {
  host: string;
  n: number;
  recording: boolean;
  /** Whether a full collection ran before each reading (Deno needs --expose-gc). */
  gc: boolean;
  /** Growth while the tasks wait, MB. */
  rssMB: number;
  heapMB: number;
  /** Heap growth per pending task, bytes (the refs array's slot included). */
  heapBytesPerTask: number;
  /** RSS once they are queued, MB. */
  rssTotalMB: number;
  submitPerSec: number;
  drainPerSec: number;
}

/** Queues `n` tasks behind a blocked slot and measures the memory they take. */
export async function queuedMemory(n: number, recording: boolean): Promise<QueuedResult> {
  ray.init({ numCpus: 1, recording: { enabled: recording } });
  const cell = new Int32Array(new SharedArrayBuffer(8));
  const held = hold.remote(cell);
  while (Atomics.load(cell, 1) === 0) await sleep(5);
  const collected = gc();
  const before = memoryMB();
  const refs = new Array<ray.ObjectRef<void>>(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) refs[i] = noop.remote();
  const submitPerSec = n / (performance.now() - t0) * 1000;
  gc();
  const after = memoryMB();
  const t1 = performance.now();
  Atomics.store(cell, 0, 1);
  Atomics.notify(cell, 0);
  await ray.get(held);
  await ray.get(refs);
  const drainPerSec = n / (performance.now() - t1) * 1000;
  await ray.shutdown();
  refs.length = 0;
  gc();
  const heapMB = after.heap - before.heap;
  return {
    host: hostVersion(),
    n,
    recording,
    gc: collected,
    rssMB: after.rss - before.rss,
    heapMB,
    heapBytesPerTask: heapMB * 2 ** 20 / n,
    rssTotalMB: after.rss,
    submitPerSec,
    drainPerSec,
  };
}

if (import.meta.main) {
  const o = parseArgs({ n: 1_000_000, recording: true, json: false });
  const r = await queuedMemory(o.n, o.recording);
  console.log(
    `${r.host}, ${fmt(r.n)} queued (recording ${r.recording ? "on" : "off"}${
      r.gc ? "" : ", no gc: rough"
    }): heap ${fmt(r.heapBytesPerTask)} B a task, RSS growth ${fmt(r.rssMB)} MB (then ${
      fmt(r.rssTotalMB)
    } MB), submitted at ${fmt(r.submitPerSec)}/s, drained at ${fmt(r.drainPerSec)}/s`,
  );
  if (o.json) console.log(JSON_MARK + JSON.stringify(r));
}
