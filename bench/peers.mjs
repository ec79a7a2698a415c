/**
 * Peer worker pools on the same no-op task, beside the raw worker_threads floor of the same host:
 * piscina and tinypool with 2 threads, sync round trip (`await pool.run()`) and pipelined
 * submission (submit N, then await all). Two protocols, as bench/fresh.ts and bench/tasks.ts give
 * ours:
 *
 * - `--protocol=fresh` (one pool, `--pools=piscina`, in a process of its own; bench/run.mjs starts
 *   many): time to the first result (constructor to the first `run()` resolving), a warm-up of
 *   1,000 sync round trips and 1,000 pipelined tasks, the first 20,000 pipelined tasks, then 2,000
 *   sync round trips interleaved in 10 slices with a raw ping-pong (which gets 2,000 warm-up round
 *   trips of its own). `--protocol=bare`: a bare worker's first message, the floor of the first
 *   result on this host.
 * - `--protocol=long` (the default): each pool after 30,000 warm-up round trips, `--reps` times.
 *
 *   node bench/peers.mjs [--protocol=long|fresh|bare]      bun bench/peers.mjs
 *
 * Options: --reps=5 --rt=2000 --warm=30000 (fresh: 2000) --n=100000 (fresh: 20000)
 * --pools=piscina,tinypool --json
 * Figures are medians over the reps; a pool that does not run on this host is reported, not fatal.
 *
 * @module
 */
import process from "node:process";
import { pathToFileURL } from "node:url";
import {
  bareFirstMessage,
  fmt,
  host,
  hostVersion,
  JSON_MARK,
  median,
  nodeEcho,
  parseArgs,
  roundTrips,
  table,
} from "./_util.mjs";

const TASK = new URL("./_noop_task.mjs", import.meta.url).href;

/**
 * Makes a pool of 2 threads with its library's defaults otherwise.
 * @param {string} name
 * @returns {Promise<{ run(): Promise<unknown>, destroy(): Promise<unknown> }>}
 */
async function makePool(name) {
  if (name === "piscina") {
    const { Piscina } = await import("piscina");
    const p = new Piscina({ filename: TASK, minThreads: 2, maxThreads: 2 });
    return { run: () => p.run(null), destroy: () => p.destroy() };
  }
  if (name === "tinypool") {
    const { Tinypool } = await import("tinypool");
    const p = new Tinypool({ filename: TASK, minThreads: 2, maxThreads: 2 });
    return { run: () => p.run(null), destroy: () => p.destroy() };
  }
  throw new TypeError(`Cannot make pool '${name}': expected piscina or tinypool`);
}

/**
 * @param {{ run(): Promise<unknown> }} pool
 * @param {number} n
 * @returns {Promise<number>} µs per round trip
 */
async function syncRoundTrip(pool, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await pool.run();
  return (performance.now() - t0) * 1000 / n;
}

/**
 * @param {{ run(): Promise<unknown> }} pool
 * @param {number} n
 * @returns {Promise<number>} tasks per second
 */
async function pipelined(pool, n) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ps = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = pool.run();
  await Promise.all(ps);
  const cpu = process.cpuUsage(cpu0);
  return { perSec: n / (performance.now() - t0) * 1000, cpuUs: (cpu.user + cpu.system) / n };
}

/**
 * Measures each pool; round trips are interleaved in slices with the raw floor.
 * @param {{ reps: number, rt: number, warm: number, n: number, pools: string }} o
 */
export async function runPeers(o) {
  const names = o.pools.split(",").filter(Boolean);
  /** @type {Record<string, { syncUs: number[], rawUs: number[], ratio: number[], tasksPerSec: number[], cpuUsPerTask: number[], error?: string }>} */
  const pools = {};
  const echo = await nodeEcho();
  for (const name of names) {
    const r = pools[name] = { syncUs: [], rawUs: [], ratio: [], tasksPerSec: [], cpuUsPerTask: [] };
    console.error(`[peers ${hostVersion()}] ${name}`);
    try {
      const pool = await makePool(name);
      // Warm: both threads up, JIT warm; as many warm-up round trips as bench/tasks.ts gives ours.
      for (let i = 0; i < 3; i++) await pipelined(pool, 5000);
      await roundTrips(echo, o.warm);
      await syncRoundTrip(pool, o.warm);
      const slices = 10;
      const per = Math.max(1, Math.round(o.rt / slices));
      for (let rep = 0; rep < o.reps; rep++) {
        let raw = 0, ours = 0;
        for (let s = 0; s < slices; s++) {
          raw += await roundTrips(echo, per);
          ours += await syncRoundTrip(pool, per);
        }
        r.rawUs.push(raw / slices);
        r.syncUs.push(ours / slices);
        r.ratio.push(ours / raw);
        const t = await pipelined(pool, o.n);
        r.tasksPerSec.push(t.perSec);
        r.cpuUsPerTask.push(t.cpuUs);
      }
      await pool.destroy();
    } catch (e) {
      r.error = `${/** @type {Error} */ (e).name}: ${/** @type {Error} */ (e).message}`;
    }
  }
  await echo.close();
  return { host: hostVersion(), runtime: host, options: o, pools };
}

/**
 * One pool in a fresh process (see the module doc): the first result, then the first tasks.
 * @param {{ rt: number, warm: number, n: number, pools: string }} o
 */
export async function runPeerFresh(o) {
  const name = o.pools.split(",")[0];
  const out = { host: hostVersion(), runtime: host, pool: name, protocol: "fresh" };
  try {
    const t0 = performance.now();
    const pool = await makePool(name);
    await pool.run();
    const firstMs = performance.now() - t0;
    await syncRoundTrip(pool, Math.max(0, Math.ceil(o.warm / 2) - 1));
    await pipelined(pool, Math.floor(o.warm / 2));
    const t = await pipelined(pool, o.n);
    const echo = await nodeEcho();
    await roundTrips(echo, o.warm);
    const slices = 10;
    const per = Math.max(1, Math.round(o.rt / slices));
    let raw = 0, ours = 0;
    for (let s = 0; s < slices; s++) {
      raw += await roundTrips(echo, per);
      ours += await syncRoundTrip(pool, per);
    }
    await echo.close();
    await pool.destroy();
    return {
      ...out,
      firstMs,
      pipelinedPerSec: t.perSec,
      syncUs: ours / slices,
      rawUs: raw / slices,
    };
  } catch (e) {
    return {
      ...out,
      error: `${/** @type {Error} */ (e).name}: ${/** @type {Error} */ (e).message}`,
    };
  }
}

/**
 * @param {Awaited<ReturnType<typeof runPeers>>} r
 * @returns {string}
 */
export function formatPeers(r) {
  const rows = [[
    "pool (2 threads)",
    "sync round trip µs",
    "raw floor µs",
    "ratio",
    "tasks/s",
    "CPU µs/task",
  ]];
  for (const [name, p] of Object.entries(r.pools)) {
    if (p.error) rows.push([name, `does not run: ${p.error}`, "", "", "", ""]);
    else {
      rows.push([
        name,
        fmt(median(p.syncUs), 1),
        fmt(median(p.rawUs), 1),
        `${fmt(median(p.ratio), 2)}x`,
        fmt(median(p.tasksPerSec)),
        fmt(median(p.cpuUsPerTask), 2),
      ]);
    }
  }
  return `${r.host}, ${r.options.reps} reps, ${fmt(r.options.n)} pipelined tasks per rep\n${
    table(rows)
  }`;
}

if (import.meta.main ?? import.meta.url === pathToFileURL(process.argv[1]).href) {
  const o = parseArgs({
    protocol: "long",
    reps: 5,
    rt: 2000,
    warm: -1,
    n: -1,
    pools: "piscina,tinypool",
    json: false,
  });
  const fresh = o.protocol !== "long";
  if (o.warm < 0) o.warm = fresh ? 2000 : 30_000;
  if (o.n < 0) o.n = fresh ? 20_000 : 100_000;
  /** @type {unknown} */
  let r;
  if (o.protocol === "bare") {
    const firstMs = await bareFirstMessage();
    r = { host: hostVersion(), runtime: host, protocol: "bare", firstMs };
    console.log(`${hostVersion()} bare worker: first message ${fmt(firstMs, 1)} ms`);
  } else if (fresh) {
    const f = await runPeerFresh(o);
    r = f;
    console.log(
      "error" in f
        ? `${f.pool}: does not run: ${f.error}`
        : `${f.host} ${f.pool}: first result ${fmt(f.firstMs, 1)} ms, pipelined ${
          fmt(f.pipelinedPerSec)
        } tasks/s, sync ${fmt(f.syncUs, 1)} µs, raw ${fmt(f.rawUs, 1)} µs`,
    );
  } else {
    const long = await runPeers(o);
    r = long;
    console.log(formatPeers(long));
  }
  if (o.json) console.log(JSON_MARK + JSON.stringify(r));
  // Pools may leave handles behind when they fail to start.
  process.exit(0);
}
