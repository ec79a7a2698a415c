// Helpers shared by the benchmarks. Plain JavaScript, so Node 20 (peers.mjs, run.mjs) runs them
// as well as Deno and Bun.
import process from "node:process";
import { Worker as NodeWorker } from "node:worker_threads";

/** Name of the host runtime. */
export const host = typeof globalThis.Deno !== "undefined"
  ? "deno"
  : typeof globalThis.Bun !== "undefined"
  ? "bun"
  : "node";

/** Host name and version, e.g. "deno 2.9.6". */
export function hostVersion() {
  if (host === "deno") return `deno ${globalThis.Deno.version.deno}`;
  if (host === "bun") return `bun ${globalThis.Bun.version}`;
  return `node ${process.versions.node}`;
}

/**
 * Parses `--key=value` and `--flag` arguments over defaults; numbers stay numbers.
 * @template {Record<string, number | boolean | string>} T
 * @param {T} defaults
 * @param {string[]} [argv]
 * @returns {T}
 */
export function parseArgs(defaults, argv = process.argv.slice(2)) {
  /** @type {Record<string, number | boolean | string>} */
  const out = { ...defaults };
  for (const a of argv) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new TypeError(`Cannot parse argument ${JSON.stringify(a)}: expected --key=value`);
    const [, k, v] = m;
    if (!(k in defaults)) {
      throw new TypeError(
        `Cannot parse argument --${k}: expected one of ${
          Object.keys(defaults).map((x) => "--" + x).join(", ")
        }`,
      );
    }
    const d = defaults[k];
    if (typeof d === "boolean") out[k] = v === undefined ? true : v !== "false";
    else if (typeof d === "number") {
      const n = Number(String(v).replaceAll("_", ""));
      if (!Number.isFinite(n)) throw new RangeError(`Cannot parse --${k}: ${v} is not a number`);
      out[k] = n;
    } else out[k] = v ?? "";
  }
  return /** @type {T} */ (out);
}

/**
 * Median of the numbers (NaN for none).
 * @param {number[]} xs
 * @returns {number}
 */
export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times each function `rounds` times, interleaved so that drift in machine load hits all alike,
 * after one warm-up call each; returns each function's median in ms.
 * @param {(() => void)[]} fs
 * @param {number} rounds
 * @returns {number[]}
 */
export function timeAll(fs, rounds) {
  for (const f of fs) f();
  /** @type {number[][]} */
  const out = fs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    fs.forEach((f, i) => {
      const t0 = performance.now();
      f();
      out[i].push(performance.now() - t0);
    });
  }
  return out.map(median);
}

/**
 * Runs the garbage collector if the host lets us (Deno/Node with --expose-gc, Bun always).
 * @returns {boolean} whether a collection ran
 */
export function gc() {
  const g = /** @type {{ gc?: () => void, Bun?: { gc(full: boolean): void } }} */ (
    /** @type {unknown} */ (globalThis)
  );
  if (g.Bun) {
    g.Bun.gc(true);
    return true;
  }
  if (typeof g.gc === "function") {
    g.gc();
    g.gc();
    return true;
  }
  return false;
}

/**
 * Resolves after `ms` milliseconds.
 * @param {number} ms
 * @returns {Promise<void>}
 */
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A bare echo worker behind one interface: `node:worker_threads` or a Web Worker.
 * @typedef {{ send(v: unknown): void, onReply(f: (v: unknown) => void): void, close(): Promise<void> }} Echo
 */

/**
 * Starts a bare `node:worker_threads` echo worker.
 * @returns {Promise<Echo>} once it has answered a first message
 */
export async function nodeEcho() {
  const w = new NodeWorker(new URL("./_echo_node.mjs", import.meta.url));
  /** @type {(v: unknown) => void} */
  let reply = () => {};
  w.on("message", (m) => reply(m));
  const echo = {
    /** @param {unknown} v */
    send: (v) => w.postMessage(v),
    /** @param {(v: unknown) => void} f */
    onReply: (f) => {
      reply = f;
    },
    close: async () => {
      await w.terminate();
    },
  };
  await roundTrips(echo, 10);
  return echo;
}

/**
 * Starts a bare Web Worker echo worker (Deno, Bun).
 * @returns {Promise<Echo>} once it has answered a first message
 */
export async function webEcho() {
  const w = new Worker(new URL("./_echo_web.mjs", import.meta.url), { type: "module" });
  /** @type {(v: unknown) => void} */
  let reply = () => {};
  w.onmessage = (e) => reply(e.data);
  const echo = {
    /** @param {unknown} v */
    send: (v) => w.postMessage(v),
    /** @param {(v: unknown) => void} f */
    onReply: (f) => {
      reply = f;
    },
    close: () => {
      w.terminate();
      return Promise.resolve();
    },
  };
  await roundTrips(echo, 10);
  return echo;
}

/**
 * Sends `n` messages one after the other, each once the previous came back.
 * @param {Echo} echo
 * @param {number} n
 * @param {unknown} [msg] what to send (a small number by default)
 * @returns {Promise<number>} microseconds per round trip
 */
export function roundTrips(echo, n, msg = 0) {
  if (n <= 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    let i = 0;
    const t0 = performance.now();
    echo.onReply(() => {
      if (++i === n) resolve((performance.now() - t0) * 1000 / n);
      else echo.send(msg);
    });
    echo.send(msg);
  });
}

/**
 * Memory figures of this process in MB.
 * @returns {{ rss: number, heap: number }}
 */
export function memoryMB() {
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
}

/**
 * Formats a number for a table: thousands separators, `digits` decimals.
 * @param {number} x
 * @param {number} [digits]
 * @returns {string}
 */
export function fmt(x, digits = 0) {
  if (x === undefined || x === null || Number.isNaN(x)) return "-";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * Renders rows as an aligned text table; the first row is the header.
 * @param {string[][]} rows
 * @returns {string}
 */
export function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (/** @type {string[]} */ r) =>
    r.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join("  ");
  const sep = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].join("\n");
}

/** Prefix of the line that carries a script's results as JSON, for run.mjs. */
export const JSON_MARK = "BENCH_JSON ";

/**
 * A garbage collection, so one round's garbage is not charged to the next: "minor" (V8: a
 * scavenge of the young generation, where a round's garbage is), "major", "all" (V8's `gc()`, all
 * it can), or "none". Bun's JSC offers a full collection only (`Bun.gc(true)`), used for all but
 * "none". Under Deno it needs `--v8-flags=--expose-gc`.
 * @param {string} kind
 * @returns {boolean} false when the runtime exposes no collection (Deno without the flag)
 */
export function collectGarbage(kind) {
  const g =
    /** @type {{ gc?: (o?: { type: string }) => void, Bun?: { gc(force: boolean): void } }} */ (
      globalThis
    );
  if (kind === "none") return true;
  if (g.Bun) g.Bun.gc(true);
  else if (g.gc) {
    if (kind === "all") g.gc();
    else g.gc({ type: kind });
  } else return false;
  return true;
}

/**
 * The floor of a first result: spawns a bare `node:worker_threads` echo worker and waits for one
 * message back (call it first thing in a fresh process: a process's first worker pays for more).
 * @returns {Promise<number>} ms from the constructor call to the reply
 */
export function bareFirstMessage() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const w = new NodeWorker(new URL("./_echo_node.mjs", import.meta.url));
    w.once("message", () => {
      const ms = performance.now() - t0;
      w.terminate().then(() => resolve(ms));
    });
    w.postMessage(0);
  });
}
