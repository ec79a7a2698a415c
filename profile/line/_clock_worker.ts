// A thread that advances a shared tick counter, the cheap clock of `--sample` mode.
import { workerData } from "node:worker_threads";

const { buffer, periodMs } = workerData as { buffer: SharedArrayBuffer; periodMs: number };
const cells = new Int32Array(buffer);
const nap = new Int32Array(new SharedArrayBuffer(4));
const t0 = performance.now();
for (;;) {
  Atomics.store(cells, 0, Math.floor((performance.now() - t0) / periodMs));
  if (Atomics.load(cells, 1) !== 0) break;
  Atomics.wait(nap, 0, 0, periodMs / 2);
}
