/**
 * Connections to the cluster's Redis: the client (node-redis, loaded on first use), an address's
 * password kept out of every message, a bounded wait for the first connection, and the names of
 * the keys the cluster uses.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import process from "node:process";

/** The few calls of node-redis's client that the cluster makes. */
export interface Redis {
  sendCommand(args: (string | Buffer)[], options?: unknown): Promise<unknown>;
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: string, f: (e: Error) => void): unknown;
  subscribe(channel: string, f: (message: Buffer) => void, bufferMode?: boolean): Promise<void>;
  readonly isReady: boolean;
}

/** Key names. Every key of the cluster starts with `rp:`. */
export const K = {
  /** Tasks of unknown or long run time: a node takes one per free slot. */
  tasks: "rp:tasks",
  /** Tasks of functions known to run under 1 ms, often bundled: a node takes many ahead. */
  short: "rp:tasks:short",
  group: "nodes",
  ctl: "rp:ctl",
  node: (id: string) => `rp:node:${id}`,
  nodeStream: (id: string) => `rp:q:${id}`,
  reply: (driver: string) => `rp:reply:${driver}`,
  /** Set, with a TTL, while a driver whose tasks want workers of their own kind runs. */
  driver: (driver: string) => `rp:driver:${driver}`,
  obj: (driver: string, id: number) => `rp:obj:${driver}:${id}`,
  code: (sha: string) => `rp:code:${sha}`,
  fn: (sha: string) => `rp:fn:${sha}`,
  tree: (sha: string) => `rp:tree:${sha}`,
  /** The drivers that hold a shared (content-addressed) key: see _leases.ts. */
  holds: (key: string) => `rp:holds:${key}`,
  /** The shared keys a driver holds. */
  held: (driver: string) => `rp:held:${driver}`,
  /** Set, with a TTL renewed every second, while a driver runs: see _leases.ts. */
  lease: (driver: string) => `rp:lease:${driver}`,
  /** The lock of the sweep for what gone drivers left. */
  sweep: "rp:sweep",
};

/** All keys matching `pattern`, by SCAN in batches (never KEYS, which blocks the server). */
export async function scanKeys(c: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await c.sendCommand([
      "SCAN",
      cursor,
      "MATCH",
      pattern,
      "COUNT",
      "1000",
    ]) as [
      string,
      string[],
    ];
    cursor = String(next);
    for (const k of keys) out.push(String(k));
  } while (cursor !== "0");
  return out;
}

/** Milliseconds a node's registration lives without a heartbeat. */
export const NODE_TTL_MS = 3000;

/** The address with its password (and a user's, if any) replaced by `***`. */
export function redact(address: string): string {
  try {
    const u = new URL(address);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return address.replace(/\/\/([^@/]*)@/, "//***@");
  }
}

/** `text` with every occurrence of the address's password replaced by `***`. */
export function scrub(text: string, address: string): string {
  let pw = "";
  try {
    pw = decodeURIComponent(new URL(address).password);
  } catch { /* not a URL: nothing to hide */ }
  return pw.length >= 1 ? text.split(pw).join("***") : text;
}

/** Checks the shape of an address. */
export function checkAddress(address: unknown): string {
  if (typeof address !== "string" || !/^rediss?:\/\/[^\s]+$/.test(address)) {
    throw new TypeError(
      `Cannot connect to the cluster as 'address' must be a redis:// or rediss:// URL: received ${
        typeof address === "string" ? JSON.stringify(redact(address)) : typeof address
      }`,
    );
  }
  return address;
}

type ClientModule = {
  createClient(options: unknown): Redis;
  RESP_TYPES: { BLOB_STRING: number };
};

let modulePromise: Promise<ClientModule> | undefined;

/**
 * Gives `TracingChannel` its `hasSubscribers` getter where the runtime lacks it (Bun 1.4; Node
 * has it since 22, Deno has it). node-redis traces every command unless that getter says `false`:
 * in a Bun node the tracing took 15% of the time (sanitising each command's arguments and
 * wrapping its promise) with no one listening. The getter is Node's: whether any of the five
 * channels has a subscriber.
 */
export function tracingChannelPolyfill(dc: typeof import("node:diagnostics_channel")): boolean {
  if (typeof dc.tracingChannel !== "function") return false;
  const proto = Object.getPrototypeOf(dc.tracingChannel("rayprof:probe"));
  if (!proto || "hasSubscribers" in proto) return false;
  Object.defineProperty(proto, "hasSubscribers", {
    configurable: true,
    get(this: Record<string, { hasSubscribers?: boolean } | undefined>) {
      return ["start", "end", "asyncStart", "asyncEnd", "error"].some((k) =>
        this[k]?.hasSubscribers !== false
      );
    },
  });
  return true;
}

/** The shared task streams (see {@linkcode K}): whatever takes tasks back or clears up reads both. */
export const TASK_STREAMS: readonly string[] = [K.tasks, K.short];

/** A Redis reply of alternating names and values (XINFO's rows) as an object. */
export function pairs(row: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i + 1 < row.length; i += 2) o[String(row[i])] = row[i + 1];
  return o;
}

/** node-redis's client module: imported on first use only, so single-machine use loads nothing. */
export function clientModule(): Promise<ClientModule> {
  return modulePromise ??= import("node:diagnostics_channel").then((dc) =>
    tracingChannelPolyfill(dc.default ?? dc)
  ).catch(() => {}).then(() => import("@redis/client") as unknown as Promise<ClientModule>).catch(
    (e) => {
      // Deno running a script outside this package has no import map entry for the bare name:
      // then the pinned npm: specifier, in a variable so that Bun (which cannot resolve npm:)
      // never sees it statically.
      if (!("Deno" in globalThis)) throw e;
      const spec = "npm:@redis/client@5.12.4";
      return import(spec) as unknown as Promise<ClientModule>;
    },
  );
}

/** Command options that give bulk strings as Buffers (binary payloads). */
export async function bufferReplies(): Promise<unknown> {
  const m = await clientModule();
  return { typeMapping: { [m.RESP_TYPES.BLOB_STRING]: Buffer } };
}

/** Options of {@linkcode connect}. */
export interface ConnectOptions {
  /** Give up the first connection after this many ms. @default {5000} */
  timeoutMs?: number;
  /** Told of connection errors after the first connection (already scrubbed). */
  onError?: (message: string) => void;
}

/** Messages of TLS errors about the server's certificate (Node's, Deno's and Bun's wording). */
const CERT_ERROR = /certificate|self[- ]signed|CERT_|unable to verify|hostname|altnames/i;

/**
 * Connects to Redis. After the first connection the client reconnects on its own (backing off up
 * to 1 s between attempts); the first one fails within `timeoutMs`, naming the address without its
 * password. TLS (`rediss://`) trusts the CA file in `RAYPROF_REDIS_CA`, if set.
 *
 * @throws {Error} If the server cannot be reached or refuses the credentials.
 */
export async function connect(address: string, options: ConnectOptions = {}): Promise<Redis> {
  const m = await clientModule();
  const timeoutMs = options.timeoutMs ?? 5000;
  const socket: Record<string, unknown> = {
    connectTimeout: Math.min(timeoutMs, 5000),
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
  };
  const tls = address.startsWith("rediss:");
  if (tls) {
    socket.tls = true;
    const ca = process.env.RAYPROF_REDIS_CA;
    if (ca) {
      try {
        socket.ca = readFileSync(ca);
      } catch (e) {
        throw new Error(
          `Cannot connect to the cluster at ${
            redact(address)
          }: cannot read the CA file in RAYPROF_REDIS_CA (${ca}): ${(e as Error).message}`,
        );
      }
    }
  }
  const c = m.createClient({ url: address, socket });
  let last = "";
  let connected = false;
  // A certificate the client does not trust will not become trusted by retrying: fail at once.
  let refuse: (e: Error) => void = () => {};
  const refused = new Promise<never>((_, reject) => refuse = reject);
  c.on("error", (e: Error) => {
    last = scrub(String(e?.message ?? e), address);
    if (connected) options.onError?.(last);
    else if (tls && CERT_ERROR.test(last)) {
      refuse(
        new Error(
          `${last} (the server's TLS certificate is not trusted: set RAYPROF_REDIS_CA to the file of the CA that signed it)`,
        ),
      );
    }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      c.connect(),
      refused,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out")), timeoutMs);
      }),
    ]);
    // A wrong password shows here, not at connect, when the server asks for AUTH lazily.
    await c.sendCommand(["PING"]);
    connected = true;
    return c;
  } catch (e) {
    try {
      c.destroy();
    } catch { /* already closed */ }
    const why = scrub(String((e as Error)?.message ?? e), address);
    throw new Error(
      `Cannot connect to the cluster at ${redact(address)} within ${timeoutMs} ms: ${
        why === "timed out" && last ? last : why
      }`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Ends a connection at once (close() waits for a blocked read to return). */
export function destroy(c: Redis | undefined): void {
  try {
    c?.destroy();
  } catch { /* already closed */ }
}

/** Creates the consumer group on `stream` (and the stream), unless it exists. */
export async function ensureGroup(c: Redis, stream: string): Promise<void> {
  try {
    await c.sendCommand(["XGROUP", "CREATE", stream, K.group, "0", "MKSTREAM"]);
  } catch (e) {
    if (!String((e as Error)?.message).includes("BUSYGROUP")) throw e;
  }
}

/** `Buffer` over the same bytes (node-redis sends Buffers as they are). */
export function buf(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Entries of an XREAD/XREADGROUP reply (RESP2): [stream, id, fields]. */
export function* entries(reply: unknown): Generator<[string, string, unknown[]]> {
  if (!Array.isArray(reply)) return;
  for (const s of reply) {
    if (!Array.isArray(s) || s.length !== 2 || !Array.isArray(s[1])) continue;
    const name = String(s[0]);
    for (const e of s[1]) {
      if (!Array.isArray(e)) continue;
      yield [name, String(e[0]), Array.isArray(e[1]) ? e[1] : []];
    }
  }
}

/** A clock offset: Redis's clock minus this process's, in ms, and the bound of its error. */
export interface ClockOffset {
  offsetMs: number;
  errorMs: number;
}

/** This process's epoch clock in ms, high resolution. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Estimates Redis's clock against this process's from `samples` TIME round trips: the one with
 * the shortest round trip, its midpoint taken as the moment Redis read its clock. The error is at
 * most half that round trip (plus TIME's 1 µs resolution).
 */
export async function clockOffset(c: Redis, samples = 5): Promise<ClockOffset> {
  let best: ClockOffset = { offsetMs: 0, errorMs: Infinity };
  for (let i = 0; i < samples; i++) {
    const t0 = epochNow();
    const r = await c.sendCommand(["TIME"]) as [string, string];
    const t1 = epochNow();
    const redisMs = Number(r[0]) * 1000 + Number(r[1]) / 1000;
    const errorMs = (t1 - t0) / 2 + 0.001;
    if (errorMs < best.errorMs) best = { offsetMs: redisMs - (t0 + t1) / 2, errorMs };
  }
  return best;
}
