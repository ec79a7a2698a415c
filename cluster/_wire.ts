/**
 * The cluster's messages: what a task, an actor call and a reply hold on their streams (each one
 * field `m`, encoded with _codec.ts), the checks a node makes before acting on one, and the node
 * registry's entries.
 *
 * @module
 */
import { K, NODE_TTL_MS, type Redis, scanKeys } from "./_redis.ts";

/** A function as sent: its code tree and entry module, or a URL, or source text only. */
export interface FnWire {
  /** SHA-256 of the code tree (see _code.ts). */
  t?: string;
  /** Entry module inside the tree. */
  e?: string;
  /** A remote module URL (https:, jsr:, npm:), imported as is. */
  u?: string;
  /** `remote()` call site key. */
  k: string;
  /** Name. */
  n: string;
  /** Source text. */
  s: string;
  /** A class (actor). */
  c: boolean;
  /**
   * Workers of the driver's own kind (its `hooks().nodeWorkers`, e.g. profiled): rayprof modules
   * to preload, by their path in the package, and the data they read. Absent: shared workers.
   */
  w?: NodeWorkersWire;
}

/** How a driver's tasks want their workers on a node (see {@linkcode FnWire.w}). */
export interface NodeWorkersWire {
  /** rayprof's own modules, by path inside the package. */
  p: string[];
  /** The workers' data; its keys name the collectors asked when the driver ends. */
  d: Record<string, unknown>;
}

/** Options of a task as sent. */
export interface OptsWire {
  numCpus: number;
  maxRetries: number;
  retryExceptions: boolean | string[];
  name: string;
}

/**
 * A message on a task stream: "t" task, "c" actor creation, "m" actor call, "k" kill an actor.
 * The arguments are encoded on their own, with the ids of the refs among them.
 */
export interface TaskMessage {
  kind: "t" | "c" | "m" | "k";
  driver: string;
  id: number;
  /** The function: the SHA-256 of its encoded FnWire, stored under `rp:fn:<sha>`. */
  fn: string | null;
  args: Uint8Array | null;
  refs: number[];
  opts: OptsWire | null;
  actor: number;
  method: string;
  maxConcurrency: number;
}

/** Reply item: a value. `[R_OK, taskId, value]` */
export const R_OK = 0;
/** Reply item: an error. `[R_ERR, taskId, ErrorInfo]` */
export const R_ERR = 1;
/** Reply item: an actor was placed on the replying node. `[R_ACTOR, actorId]` */
export const R_ACTOR = 2;

/**
 * Reply item: what a collector held in one of the driver's workers on the replying node.
 * `[R_COLLECTED, name, data, workerId, kind, label, clockOffsetMs]` (the node's clock offset to
 * Redis's, as in its registration).
 */
export const R_COLLECTED = 3;
/** Reply item: the replying node has sent all it collected for the driver. `[R_COLLECT_DONE]` */
export const R_COLLECT_DONE = 4;

/**
 * Reply item: a value that holds refs, encoded on its own: `[R_REFS, taskId, bytes]`. In the
 * bytes a ref is the driver's own id (>= 1: a ref the task was given) or a token -(j + 1) that
 * names an object made on the node, the j-th of that task's result (see {@linkcode R_OBJ}).
 */
export const R_REFS = 5;
/**
 * Reply item: an object made on the node that a result named by a token is ready:
 * `[R_OBJ, taskId, j, bytes]` (its value, encoded as for {@linkcode R_REFS}).
 */
export const R_OBJ = 6;
/** Reply item: that object failed: `[R_OBJ_ERR, taskId, j, ErrorInfo, taskName]`. */
export const R_OBJ_ERR = 7;

/**
 * Reply item: a task submitted from inside a task on the replying node, which has no free slot,
 * for the driver to submit to the cluster: `[R_SUBMIT, token, fn, args, opts]` (fn `{k, u, n, s}`:
 * the function's key, its module as the driver names it, name and source; args encoded on their
 * own; opts as {@linkcode OptsWire}). The driver answers with {@linkcode NESTED_RESULT}.
 */
export const R_SUBMIT = 8;
/** Reply item: cancel what `R_SUBMIT` sent: `[R_NESTED_CANCEL, token, force]`. */
export const R_NESTED_CANCEL = 9;

/**
 * First item of a message on a node's own stream with the outcome of a task it had the driver
 * submit (see {@linkcode R_SUBMIT}): `[NESTED_RESULT, driver, token, ok, value | RemoteErrorInfo]`.
 */
export const NESTED_RESULT = "r";

/**
 * First item of a bundle, an entry on the task stream that carries several tasks' messages:
 * `[BUNDLE, messages]` (each message encoded on its own, as a lone task's entry holds it). A
 * node takes them together and acknowledges the entry once all of them have finished.
 */
export const BUNDLE = "b";

/** The control message (on `rp:ctl`) by which a driver that ends asks nodes for its workers' data. */
export const CTL_COLLECT = "!collect";

/** Key, in the data of a node's workers of a driver's own kind, of the node's folder of code trees. */
export const TREES_KEY = "rayprof.cluster.trees";

/** Key, in the same data, of the node's folder for the tools' caches (`hooks().nodeCacheDir`). */
export const CACHE_KEY = "rayprof.cluster.cache";

/** An error as sent back: its runtime class, and for a TaskError the remote error. */
export interface ErrorInfo {
  cls: string;
  name: string;
  message: string;
  stack: string;
}

const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Checks the shape of a function as stored under `rp:fn:<sha>`. */
export function isFn(f: unknown): f is FnWire {
  if (typeof f !== "object" || f === null) return false;
  const o = f as Record<string, unknown>;
  if (typeof o.k !== "string" || typeof o.n !== "string" || typeof o.s !== "string") return false;
  if (typeof o.c !== "boolean") return false;
  if (o.t !== undefined && (typeof o.t !== "string" || !/^[0-9a-f]{64}$/.test(o.t))) return false;
  if (o.t !== undefined && typeof o.e !== "string") return false;
  if (o.u !== undefined && typeof o.u !== "string") return false;
  if (o.w !== undefined) {
    const w = o.w as Record<string, unknown>;
    if (typeof w !== "object" || w === null) return false;
    if (!Array.isArray(w.p) || !w.p.every((p) => typeof p === "string")) return false;
    if (typeof w.d !== "object" || w.d === null || Array.isArray(w.d)) return false;
  }
  return true;
}

function isOpts(o: unknown): o is OptsWire {
  if (typeof o !== "object" || o === null) return false;
  const x = o as Record<string, unknown>;
  return Number.isInteger(x.numCpus) && (x.numCpus as number) >= 0 &&
    Number.isInteger(x.maxRetries) && (x.maxRetries as number) >= -1 &&
    (typeof x.retryExceptions === "boolean" ||
      (Array.isArray(x.retryExceptions) &&
        x.retryExceptions.every((n) => typeof n === "string"))) &&
    typeof x.name === "string";
}

/**
 * Checks a decoded stream message's shape.
 *
 * @throws {TypeError} Naming what is wrong.
 */
export function checkMessage(m: unknown): TaskMessage {
  if (!Array.isArray(m) || m.length !== 10) throw new TypeError("not a message of 10 fields");
  const [kind, driver, id, fn, args, refs, opts, actor, method, maxConcurrency] = m;
  if (kind !== "t" && kind !== "c" && kind !== "m" && kind !== "k") {
    throw new TypeError(`unknown kind ${JSON.stringify(kind)}`);
  }
  if (typeof driver !== "string" || !ID_RE.test(driver)) throw new TypeError("bad driver id");
  if (!Number.isSafeInteger(id) || id < 0) throw new TypeError("bad task id");
  if (!Number.isSafeInteger(actor) || actor < 0) throw new TypeError("bad actor id");
  if (typeof method !== "string") throw new TypeError("bad method");
  if (!Number.isSafeInteger(maxConcurrency) || maxConcurrency < 0) {
    throw new TypeError("bad maxConcurrency");
  }
  if (!Array.isArray(refs) || !refs.every((r) => Number.isSafeInteger(r) && r >= 0)) {
    throw new TypeError("bad refs");
  }
  if (kind !== "k") {
    if (kind !== "m" && (typeof fn !== "string" || !/^[0-9a-f]{64}$/.test(fn))) {
      throw new TypeError("bad function reference");
    }
    if (!(args instanceof Uint8Array)) throw new TypeError("arguments are not bytes");
    if (!isOpts(opts)) throw new TypeError("bad options");
    if (kind === "m" && method === "") throw new TypeError("an actor call without a method");
  }
  return {
    kind,
    driver,
    id,
    fn: fn as string | null,
    args: args as Uint8Array | null,
    refs,
    opts: opts as OptsWire | null,
    actor,
    method,
    maxConcurrency,
  };
}

/** What a node registers under `rp:node:<id>` (refreshed with its heartbeat). */
export interface NodeInfo {
  id: string;
  name: string;
  numCpus: number;
  /** Tasks running or waiting for a slot on it. */
  running: number;
  runtime: string;
  host: string;
  pid: number;
  /** ms since the epoch. */
  started: number;
  /** Bound of the error of its clock's offset to Redis's, in ms (absent before it is known). */
  clockErrorMs?: number;
}

/** The nodes whose registration has not expired. */
export async function liveNodes(c: Redis): Promise<NodeInfo[]> {
  const keys = await scanKeys(c, K.node("*"));
  if (keys.length === 0) return [];
  const vals = await c.sendCommand(["MGET", ...keys]) as (string | null)[];
  const out: NodeInfo[] = [];
  for (const v of vals) {
    if (v === null) continue;
    try {
      out.push(JSON.parse(String(v)) as NodeInfo);
    } catch { /* not ours */ }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export { NODE_TTL_MS };
