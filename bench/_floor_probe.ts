/**
 * One fresh process's time to a first message back from a new worker, ms, for one case (printed as
 * a number). Run by bench/first_floor.mjs.
 *
 * - `node-bare`: a `node:worker_threads` worker that answers at once (bench/fresh.ts's floor);
 * - `node-mod`: one that first imports mod.ts, as our worker does when it loads a user module;
 * - `web-bare`, `web-mod`: the same as a Web Worker;
 * - `ours`: `init()` to the first `get` of a no-op task resolving (bench/fresh.ts's figure).
 *
 * @module
 */
import { Worker as NodeWorker } from "node:worker_threads";
import * as ray from "../mod.ts";

/** The no-op task of the `ours` case. */
export const noop = ray.remote(function noop() {});

const MOD = new URL("../mod.ts", import.meta.url).href;
const ENTRY = new URL("./_floor_worker.mjs", import.meta.url);

function nodeFirst(urls: string[]): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const w = new NodeWorker(ENTRY, { workerData: urls });
    w.once("message", () => {
      const ms = performance.now() - t0;
      w.terminate().then(() => resolve(ms));
    });
    w.postMessage(0);
  });
}

function webFirst(urls: string[]): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const w = new Worker(ENTRY, { type: "module" });
    w.onmessage = () => {
      const ms = performance.now() - t0;
      w.terminate();
      resolve(ms);
    };
    w.postMessage(urls);
  });
}

async function ours(): Promise<number> {
  const t0 = performance.now();
  ray.init({ numCpus: 2 });
  await ray.get(noop.remote());
  const ms = performance.now() - t0;
  await ray.shutdown();
  return ms;
}

if (import.meta.main) {
  const g = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
  const which = g.Deno ? g.Deno.args[0] : g.process!.argv[2];
  const cases: Record<string, () => Promise<number>> = {
    "node-bare": () => nodeFirst([]),
    "node-mod": () => nodeFirst([MOD]),
    "web-bare": () => webFirst([]),
    "web-mod": () => webFirst([MOD]),
    ours,
  };
  const run = cases[which];
  if (!run) throw new TypeError(`Cannot run the probe: unknown case '${which}'`);
  console.log((await run()).toFixed(3));
}
