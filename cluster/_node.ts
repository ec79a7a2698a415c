/**
 * A cluster node (`cli.ts node --address ...`): registers itself with a heartbeat, reads tasks
 * from the two shared streams (as one consumer of the nodes' group: short tasks many at a time,
 * long or new ones one per free slot) and actor calls from its own stream, runs them on a local
 * pool of worker slots (the runtime's Pool), and sends results to each task's driver. A message
 * it cannot read or check is logged and dropped, never run.
 *
 * @module
 */
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";
import {
  type Def,
  FLAG_REFS,
  type FromWorker,
  Pool,
  type PoolWorker,
  type Task,
  type TaskOptions,
} from "../runtime/pool.ts";
import {
  type Entry,
  entryOf,
  ObjectRef,
  REF_TAG,
  settle,
  SPEC,
  STATE,
  VALUE,
  whenSettled,
  WORKER,
} from "../runtime/object_ref.ts";
import { type RemoteErrorInfo, reviveError, TaskError } from "../runtime/errors.ts";

import { hooks } from "../runtime/hooks.ts";
import type { TaskRecord } from "../runtime/recorder.ts";
import { decode, encode } from "./_codec.ts";
import { sweepGoneDrivers } from "./_leases.ts";
import { mapStack, materialize, ownModuleUrl, sha256, treeUrl } from "./_code.ts";
import {
  buf,
  bufferReplies,
  checkAddress,
  type ClockOffset,
  clockOffset,
  connect,
  destroy,
  ensureGroup,
  entries,
  K,
  NODE_TTL_MS,
  redact,
  type Redis,
  TASK_STREAMS,
} from "./_redis.ts";
import {
  BUNDLE,
  CACHE_KEY,
  checkMessage,
  CTL_COLLECT,
  type ErrorInfo,
  type FnWire,
  isFn,
  liveNodes,
  NESTED_RESULT,
  type NodeInfo,
  type OptsWire,
  R_ACTOR,
  R_COLLECT_DONE,
  R_COLLECTED,
  R_ERR,
  R_NESTED_CANCEL,
  R_OBJ,
  R_OBJ_ERR,
  R_OK,
  R_REFS,
  R_SUBMIT,
  type TaskMessage,
  TREES_KEY,
} from "./_wire.ts";

/** Options of {@linkcode startNode}. */
export interface NodeOptions {
  /** The cluster's Redis, `redis://[user:password@]host:port` or `rediss://...`. */
  address: string;
  /**
   * Worker slots.
   * @default {navigator.hardwareConcurrency}
   */
  numCpus?: number;
  /** Name shown in status, errors and timelines. @default {hostname-pid} */
  name?: string;
  /** Where shipped code is kept. @default {$TMPDIR/rayprof-node-cache} */
  cacheDir?: string;
  /** Where log lines go. @default {console.error} */
  log?: (line: string) => void;
  /** Give up connecting after this many ms. @default {5000} */
  connectTimeoutMs?: number;
  /**
   * On stop, how long to let running tasks finish before leaving anyway.
   * @default {30000}
   */
  drainMs?: number;
}

/** A running node. */
export interface ClusterNode {
  /** Unique id ("name@suffix"): its consumer name and registration key. */
  readonly id: string;
  readonly name: string;
  readonly numCpus: number;
  /**
   * Stops taking tasks, hands back those not started, lets running ones finish (up to
   * `drainMs`), deregisters and ends its workers.
   */
  stop(): Promise<void>;
  /** Settles when the node has stopped. */
  readonly done: Promise<void>;
}

/** A function as a node runs it (see `#resolve`). */
interface Resolved {
  fn: FnWire;
  /** Its module's URL on this node, and the code tree that holds it. */
  url: string;
  tree: { dir: string; driverDir: string } | undefined;
  /** Its definition in the pool that last ran it. */
  pool: Pool | null;
  def: Def | null;
  /** The last options it ran with, as sent and as given to the pool. */
  wire: OptsWire | null;
  opts: TaskOptions | null;
}

interface Local {
  m: TaskMessage;
  /** The pool it runs in: the node's, or its driver's own (see {@linkcode NodePool}). */
  pool: Pool;
  stream: string;
  sid: string;
  raw: Uint8Array;
  e: Entry | null;
  cost: number;
  cancelled: boolean;
  handedBack: boolean;
  started: number;
  /** The entry's tasks not finished, when it carried several (see `BUNDLE`). */
  bundle: { left: number } | null;
  /** Taken from the stream of long tasks (counted in `#longCount`). */
  long: boolean;
  /** The code tree its function came in, once known. */
  tree: { dir: string; driverDir: string } | undefined;
}

/**
 * The objects made on this node that one task's result names, by token (see `R_REFS`): sent to
 * the driver as each settles. The objects those values name join the same list.
 */
interface Exports {
  driver: string;
  task: number;
  tree: { dir: string; driverDir: string } | undefined;
  tokens: Map<object, number>;
  /** Named, not yet watched. */
  queue: Entry[];
}

/** What the workers of a pool import first and read with `workerData()`. */
interface WorkerKind {
  preload: string[];
  data: Record<string, unknown>;
}

/**
 * A pool whose workers start with preloads and data of their own. The runtime's workers take
 * both from the thread's hooks as they start, right after taking their awake slot: the pool puts
 * its own there then. (A node runs one pool per driver that wants workers of its own kind, so
 * that workers profiled for one driver never run another's tasks, nor the reverse.)
 */
class NodePool extends Pool {
  readonly #kind: WorkerKind;

  /**
   * Notices a worker that read the hooks without its pool having put its own there first (the
   * runtime's order changed): it would start with another pool's preloads. Read by the worker's
   * copy of the hooks' data, as it starts.
   */
  static watch(warn: (message: string) => void): void {
    const data = hooks().workerData;
    if (Object.getOwnPropertyDescriptor(data, SPAWN_KEY)) return;
    Object.defineProperty(data, SPAWN_KEY, {
      enumerable: true,
      configurable: true,
      get() {
        const armed = spawning;
        spawning = false;
        if (!armed) {
          warn(
            "a worker started without its pool's preloads and data (the runtime no longer reads the hooks right after awakeSlot()): profiles of this node may be wrong",
          );
        }
        return armed;
      },
    });
  }

  constructor(numCpus: number, kind: WorkerKind) {
    super({
      numCpus,
      // Recorded so that each reply carries its task's times, for the driver's timeline.
      recording: { enabled: true, capacity: 1 << 16 },
      memoryLimitMb: 0,
    }, 1);
    this.#kind = kind;
    this.actorHandleFor = (tag) => tag;
  }

  /** Takes a task that a task of this pool submits, for the cluster (see `Node#spill`). */
  spill: ((pool: NodePool, m: SubmitFromWorker) => boolean) | null = null;
  /** Cancels a task that `spill` took; false if `t` is not one. */
  cancelSpilled: ((t: Entry, force: boolean) => boolean) | null = null;

  override onMessage(w: PoolWorker, m: FromWorker): void {
    if (m.t === "submit" && this.spill?.(this, m)) return;
    super.onMessage(w, m);
  }

  override cancel(t: Task, force: boolean): void {
    if (this.cancelSpilled?.(t, force)) return;
    super.cancel(t, force);
  }

  override awakeSlot(): number {
    const h = hooks();
    h.workerPreload.splice(0, h.workerPreload.length, ...this.#kind.preload);
    for (const k of Object.keys(h.workerData)) if (k !== SPAWN_KEY) delete h.workerData[k];
    Object.assign(h.workerData, this.#kind.data);
    spawning = true;
    return super.awakeSlot();
  }
}

/** A task submitted from inside a task, as its worker sends it. */
type SubmitFromWorker = Extract<FromWorker, { t: "submit" }>;

/** Key of the check of {@linkcode NodePool.watch} in the hooks' worker data. */
const SPAWN_KEY = "rayprof.cluster.spawn";
/** A NodePool has put its workers' preloads and data in the hooks, and no worker has read them. */
let spawning = false;

/** The pool of a driver whose tasks want workers of their own kind, and its collectors' names. */
interface DriverPool {
  pool: NodePool;
  names: string[];
}

const GLOBALS_PRELOAD = new URL("./_worker_globals.ts", import.meta.url).href;
const PATHS_PRELOAD = new URL("./_worker_paths.ts", import.meta.url).href;

/** Heartbeats (1 s) between two sweeps for what gone drivers left (one node sweeps at a time). */
const SWEEP_BEATS = 5;

const CALL_OPTS: TaskOptions = { numCpus: 0, maxRetries: 0, retryExceptions: false, name: "" };

/**
 * Starts a node on the cluster at `options.address`.
 *
 * @throws {Error} If Redis cannot be reached (the address is named, its password hidden).
 */
export async function startNode(options: NodeOptions): Promise<ClusterNode> {
  const address = checkAddress(options.address);
  const log = options.log ?? ((l: string) => console.error(l));
  const timeoutMs = options.connectTimeoutMs ?? 5000;
  const onError = (msg: string) => log(`rayprof node: Redis: ${msg}`);
  const c = await connect(address, { timeoutMs, onError });
  const conns: Redis[] = [c];
  try {
    for (let i = 0; i < 3; i++) conns.push(await connect(address, { timeoutMs }));
  } catch (e) {
    conns.forEach(destroy);
    throw e;
  }
  const n = new Node(
    address,
    conns as [Redis, Redis, Redis, Redis],
    options,
    log,
    await bufferReplies(),
  );
  await n.start();
  return n;
}

class Node implements ClusterNode {
  readonly id: string;
  readonly name: string;
  readonly numCpus: number;
  readonly done: Promise<void>;
  #resolveDone!: () => void;
  readonly #address: string;
  readonly #c: Redis;
  readonly #reader: Redis;
  /** Reads the stream of long tasks, one per free slot (see `#readLong`). */
  readonly #longReader: Redis;
  readonly #sub: Redis;
  readonly #log: (l: string) => void;
  readonly #bufOpts: unknown;
  readonly #cacheDir: string;
  readonly #drainMs: number;
  readonly #pool: Pool;
  readonly #own: string;
  #readerId = "";
  #stopping = false;
  #stopped: Promise<void> | undefined;
  /** Slots' worth of tasks held from the short stream and the node's own. */
  #count = 0;
  /** Slots' worth of tasks held from the stream of long tasks (`K.tasks`), one per slot. */
  #longCount = 0;
  /** Tasks running here by their id in the pool: whose task a task submitted is. */
  #byPoolId = new Map<number, Local>();
  /** Tasks submitted by tasks here that the driver submitted to the cluster (see `#spill`). */
  #spilled = new Map<number, { e: Entry; driver: string; pool: Pool }>();
  #spillTokens = new WeakMap<Entry, number>();
  #nextSpill = 1;
  /** Wakes `#readLong` when a slot frees. */
  #slotFree: (() => void) | null = null;
  #longReaderId = "";
  #locals = new Map<string, Local>();
  /** Entries of objects a driver stored, as a task got them: that driver and its id. */
  #origins = new WeakMap<object, [string, number]>();
  /** Objects named in results that are not sent yet (see {@linkcode Exports}). */
  #exports = 0;
  #actors = new Map<string, { a: ReturnType<Pool["createActor"]>; pool: Pool }>();
  /** Pools of drivers that want workers of their own kind, retired when the driver ends. */
  #driverPools = new Map<string, DriverPool>();
  /** Drivers whose pools were retired: their late tasks run in the node's pool. */
  #endedDrivers = new Set<string>();
  /** Collections run one at a time: the collectors' handlers are the thread's. */
  #collecting: Promise<void> = Promise.resolve();
  #trees = new Map<string, Promise<{ dir: string; driverDir: string }>>();
  #fns = new Map<string, Promise<FnWire>>();
  #resolved = new Map<string, Resolved>();
  #replies = new Map<
    string,
    { items: unknown[][]; acks: ([string, string] | null)[]; locals: (Local | null)[] }
  >();
  /** This node's clock against Redis's (refined at each heartbeat). */
  #clock: ClockOffset = { offsetMs: 0, errorMs: Infinity };
  #replyQueued = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | null = null;
  #blocked = false;
  /** Reads of the task streams so far, and whether one is under way (see `#unblock`). */
  #reads = 0;
  #reading = false;
  #avgMs = -1;
  /** Tasks per entry in the last read (see `BUNDLE`): how many entries the next asks for. */
  #perEntry = 1;
  #taken = 0;
  readonly #started = Date.now();

  constructor(
    address: string,
    [c, reader, longReader, sub]: [Redis, Redis, Redis, Redis],
    o: NodeOptions,
    log: (l: string) => void,
    bufOpts: unknown,
  ) {
    this.#address = address;
    this.#c = c;
    this.#reader = reader;
    this.#longReader = longReader;
    this.#sub = sub;
    this.#log = log;
    this.#bufOpts = bufOpts;
    this.numCpus = o.numCpus ?? (navigator.hardwareConcurrency || 1);
    if (!Number.isInteger(this.numCpus) || this.numCpus < 1) {
      throw new RangeError(
        `Cannot start a node as 'numCpus' must be a positive integer: received ${o.numCpus}`,
      );
    }
    this.name = (o.name ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9_.-]/g, "_");
    this.id = `${this.name}@${Math.random().toString(36).slice(2, 8)}`;
    this.#own = K.nodeStream(this.id);
    this.#cacheDir = o.cacheDir ?? join(tmpdir(), "rayprof-node-cache");
    this.#drainMs = o.drainMs ?? 30_000;
    NodePool.watch((message) => this.#log(`rayprof node ${this.id}: ${message}`));
    this.#pool = this.#hook(new NodePool(this.numCpus, { preload: [GLOBALS_PRELOAD], data: {} }));
    this.done = new Promise((res) => (this.#resolveDone = res));
  }

  async start(): Promise<void> {
    for (const stream of [...TASK_STREAMS, this.#own]) await ensureGroup(this.#c, stream);
    this.#readerId = String(await this.#reader.sendCommand(["CLIENT", "ID"]));
    this.#longReaderId = String(await this.#longReader.sendCommand(["CLIENT", "ID"]));
    this.#clock = await clockOffset(this.#c);
    await this.#register();
    let beats = 0;
    this.#heartbeat = setInterval(() => {
      clockOffset(this.#c, 1).then((o) => {
        if (o.errorMs < this.#clock.errorMs) this.#clock = o;
      }).then(() => this.#register()).then(() => this.#retireOrphans()).then(() => {
        if (++beats % SWEEP_BEATS === 0) return this.#sweep();
      }).catch(() => {
        /* Redis away: reconnecting */
      });
    }, 1000);
    await this.#sub.subscribe(K.ctl, (msg) => this.#onControl(msg), true);
    this.#loop = Promise.all([this.#read(), this.#readLong()]).then(() => {});
    this.#log(
      `rayprof node ${this.id}: ${this.numCpus} slots, on ${
        redact(this.#address)
      } (${runtimeName()})`,
    );
  }

  #info(): NodeInfo {
    return {
      id: this.id,
      name: this.name,
      numCpus: this.numCpus,
      running: this.#locals.size,
      runtime: runtimeName(),
      host: hostname(),
      pid: process.pid,
      started: this.#started,
      clockErrorMs: this.#clock.errorMs,
    };
  }

  async #register(): Promise<void> {
    if (this.#stopping && this.#stopped) return;
    await this.#c.sendCommand([
      "SET",
      K.node(this.id),
      JSON.stringify(this.#info()),
      "PX",
      String(NODE_TTL_MS),
    ]);
  }

  /**
   * Tasks taken from the short stream at most: ≈2 ms of work queued per slot; none while long
   * tasks hold every slot (they would wait behind those, while other nodes may be free).
   */
  #limit(): number {
    if (this.#longCount >= this.numCpus) return 0;
    if (this.#avgMs < 0 || this.#avgMs >= 1) return this.numCpus;
    return Math.min(
      512,
      Math.max(this.numCpus, Math.ceil(this.numCpus * 2 / Math.max(this.#avgMs, 0.005))),
    );
  }

  async #read(): Promise<void> {
    while (!this.#stopping) {
      const want = this.#limit() - this.#count;
      const cmd = want > 0
        ? [
          "XREADGROUP",
          "GROUP",
          K.group,
          this.id,
          "COUNT",
          String(Math.max(1, Math.min(Math.ceil(want / this.#perEntry), 1000))),
          "BLOCK",
          "1000",
          "STREAMS",
          this.#own,
          K.short,
          ">",
          ">",
        ]
        : [
          "XREADGROUP",
          "GROUP",
          K.group,
          this.id,
          "COUNT",
          "100",
          "BLOCK",
          "1000",
          "STREAMS",
          this.#own,
          ">",
        ];
      let r: unknown;
      this.#blocked = want <= 0;
      this.#reads++;
      this.#reading = true;
      try {
        r = await this.#reader.sendCommand(cmd, this.#bufOpts);
      } catch (e) {
        this.#reading = false;
        this.#blocked = false;
        if (this.#stopping) break;
        this.#readerId = await this.#readFailed(e, this.#reader, [K.short, this.#own]) ??
          this.#readerId;
        continue;
      }
      this.#reading = false;
      this.#blocked = false;
      this.#taken = 0;
      let n = 0;
      for (const [stream, sid, fields] of entries(r)) {
        this.#take(stream, sid, fields);
        n++;
      }
      if (n > 0) this.#perEntry = Math.max(1, this.#taken / n);
    }
  }

  /**
   * Reads the stream of long (or not yet timed) tasks on a connection of its own: only while a
   * slot is free of them, and no more than the free slots. A node that took many at once would
   * hold them while other nodes idle (8 tasks of 500 ms on 2 nodes of 2 slots, after 2,000 short
   * ones: 2.0 s with all on one node, against 1.0).
   */
  async #readLong(): Promise<void> {
    while (!this.#stopping) {
      const free = this.numCpus - this.#longCount;
      if (free <= 0) {
        await new Promise<void>((res) => this.#slotFree = res);
        continue;
      }
      let r: unknown;
      try {
        r = await this.#longReader.sendCommand([
          "XREADGROUP",
          "GROUP",
          K.group,
          this.id,
          "COUNT",
          String(free),
          "BLOCK",
          "1000",
          "STREAMS",
          K.tasks,
          ">",
        ], this.#bufOpts);
      } catch (e) {
        if (this.#stopping) break;
        this.#longReaderId = await this.#readFailed(e, this.#longReader, [K.tasks]) ??
          this.#longReaderId;
        continue;
      }
      for (const [stream, sid, fields] of entries(r)) this.#take(stream, sid, fields);
    }
  }

  /**
   * After a read of `streams` on `reader` failed with `e`: their groups made again if Redis lost
   * them, a pause, and the reader's client id now (undefined if Redis is still away).
   */
  async #readFailed(e: unknown, reader: Redis, streams: string[]): Promise<string | undefined> {
    if (String((e as Error)?.message ?? e).includes("NOGROUP")) {
      // Redis lost its data (restarted without its append-only file): make the groups again.
      for (const stream of streams) await ensureGroup(this.#c, stream).catch(() => {});
    }
    await sleep(200);
    // The reader may be on a new connection now, with a new id: CLIENT UNBLOCK of the old one
    // would miss, and every read would then wait out its whole BLOCK (after a Redis restart,
    // 100 tasks of 100 ms on 4 slots took 15 s instead of 3.5).
    return await reader.sendCommand(["CLIENT", "ID"]).then((id) => String(id), () => undefined);
  }

  /**
   * Ends read number `read`, blocked on the node's own stream. The UNBLOCK goes on another
   * connection than the read, so it may reach Redis first and find nothing blocked: it is sent
   * again until that read has ended (a read left to wait out its BLOCK stalled a node for 1 s).
   */
  #unblock(read: number): void {
    this.#c.sendCommand(["CLIENT", "UNBLOCK", this.#readerId]).then((n) => {
      if (Number(n) === 0 && this.#reads === read && this.#reading && !this.#stopping) {
        setTimeout(() => this.#unblock(read), 1);
      }
    }, () => {});
  }

  /** A slot was freed: a read blocked on the node's own stream only starts over with both. */
  #freed(): void {
    if (this.#blocked && this.#count < this.#limit()) {
      this.#blocked = false;
      this.#unblock(this.#reads);
    }
  }

  #reject(stream: string, sid: string, why: string): void {
    this.#log(`rayprof node ${this.id}: rejected message ${sid} on ${stream}: ${why}`);
    this.#ack(stream, sid);
  }

  #ack(stream: string, sid: string): void {
    this.#c.sendCommand(["XACK", stream, K.group, sid]).catch(() => {});
    this.#c.sendCommand(["XDEL", stream, sid]).catch(() => {});
  }

  #take(stream: string, sid: string, fields: unknown[]): void {
    const raw = fields[0] !== undefined && String(fields[0]) === "m" ? fields[1] : undefined;
    if (!(raw instanceof Uint8Array)) {
      this.#reject(stream, sid, "no field 'm' holding bytes");
      return;
    }
    let v: unknown;
    try {
      v = decode(raw);
    } catch (e) {
      this.#reject(stream, sid, String((e as Error)?.message ?? e));
      return;
    }
    if (Array.isArray(v) && v[0] === NESTED_RESULT) {
      if (stream !== this.#own) {
        this.#reject(stream, sid, "a nested task's result on a shared stream");
      } else {
        this.#onSpilledResult(v);
        this.#ack(stream, sid);
      }
      return;
    }
    if (!Array.isArray(v) || v[0] !== BUNDLE) {
      this.#taken++;
      this.#takeOne(stream, sid, raw, v, null);
      return;
    }
    const msgs = v[1];
    if (
      !TASK_STREAMS.includes(stream) || v.length !== 2 || !Array.isArray(msgs) ||
      msgs.length === 0 ||
      !msgs.every((x) => x instanceof Uint8Array)
    ) {
      this.#reject(stream, sid, "a malformed bundle");
      return;
    }
    this.#taken += msgs.length;
    const bundle = { left: msgs.length };
    for (const b of msgs as Uint8Array[]) {
      let m: unknown;
      try {
        m = decode(b);
      } catch (e) {
        m = e;
      }
      this.#takeOne(stream, sid, b, m, bundle);
    }
  }

  /** One task's message `v` (decoded from `raw`, or the error decoding it threw). */
  #takeOne(
    stream: string,
    sid: string,
    raw: Uint8Array,
    v: unknown,
    bundle: { left: number } | null,
  ): void {
    let m: TaskMessage;
    try {
      if (v instanceof Error) throw v;
      m = checkMessage(v);
      if (bundle && m.kind !== "t") throw new Error(`a '${m.kind}' message in a bundle`);
    } catch (e) {
      if (!bundle || --bundle.left === 0) {
        this.#reject(stream, sid, String((e as Error)?.message ?? e));
      } else {this.#log(
          `rayprof node ${this.id}: rejected a task of message ${sid} on ${stream}: ${
            (e as Error)?.message ?? e
          }`,
        );}
      return;
    }
    if (m.kind === "k") {
      const a = this.#actors.get(`${m.driver}:${m.actor}`);
      if (a) a.pool.kill(a.a, "was killed");
      this.#actors.delete(`${m.driver}:${m.actor}`);
      this.#ack(stream, sid);
      return;
    }
    if (m.kind !== "m" && stream === this.#own) {
      this.#reject(stream, sid, `a '${m.kind}' message on a node's own stream`);
      return;
    }
    const cost = m.kind === "t" ? Math.max(1, m.opts!.numCpus) : 0;
    const long = stream === K.tasks;
    const l: Local = {
      m,
      pool: this.#pool,
      stream,
      sid,
      raw,
      e: null,
      cost,
      cancelled: false,
      handedBack: false,
      started: performance.now(),
      bundle,
      long,
      tree: undefined,
    };
    if (long) this.#longCount += cost;
    else this.#count += cost;
    this.#locals.set(`${m.driver}:${m.id}`, l);
    this.#prepare(l).catch((e) => this.#finishError(l, errorInfo(e, null)));
  }

  /** Gives `pool` this node's handling of the tasks its tasks submit. */
  #hook(pool: NodePool): NodePool {
    pool.spill = (p, m) => this.#spill(p, m);
    pool.cancelSpilled = (t, force) => {
      const token = this.#spillTokens.get(t);
      const s = token === undefined ? undefined : this.#spilled.get(token);
      if (!s) return false;
      this.#queueReply(s.driver, [R_NESTED_CANCEL, token, force], null);
      return true;
    };
    return pool;
  }

  /**
   * A task that a task here submits, when this node has no free slot: sent to its driver, which
   * submits it to the cluster like its own (so it runs where a slot is free, and shows in the
   * driver's timeline). It stays here when a slot is free, when it is an actor call, when its
   * arguments hold refs or its function is not in the code the driver shipped; those run here.
   */
  #spill(pool: NodePool, m: SubmitFromWorker): boolean {
    if (this.#stopping || m.actor !== undefined || (m.flags & FLAG_REFS) !== 0) return false;
    // Busy: every slot in use or spoken for by tasks queued here (assigned a moment later).
    if (pool.used + pool.queueSize < pool.numCpus) return false;
    const parent = this.#byPoolId.get(m.parent);
    const tree = parent?.tree;
    if (!parent || !tree) return false;
    const prefix = `${pathToFileURL(tree.dir).href}/`;
    if (!m.def.url.startsWith(prefix) || m.def.cls) return false;
    const o = m.opts as unknown as TaskOptions;
    if (typeof o.retryExceptions !== "boolean") return false;
    for (const a of m.args) if (a !== null && typeof a === "object" && REF_TAG in a) return false;
    let args: Uint8Array;
    try {
      args = encode(m.args, noRefsOut);
    } catch {
      return false; // the local path gives its error
    }
    const e = new ObjectRef(m.id, pool.def(m.def).specFor(o)) as Entry;
    pool.export(e);
    const token = this.#nextSpill++;
    this.#spilled.set(token, { e, driver: parent.m.driver, pool });
    this.#spillTokens.set(e, token);
    const fn = {
      k: m.def.key,
      u: `${pathToFileURL(tree.driverDir).href}/${m.def.url.slice(prefix.length)}`,
      n: m.def.name,
      s: m.def.src,
    };
    const opts = {
      numCpus: o.numCpus,
      maxRetries: o.maxRetries,
      retryExceptions: o.retryExceptions,
      name: o.name,
    };
    this.#queueReply(parent.m.driver, [R_SUBMIT, token, fn, args, opts], null);
    return true;
  }

  /**
   * What the driver said of a task this node had it submit (see `#spill`). A value that holds
   * refs comes encoded, with the ids of the objects the driver stored for them (read here, as a
   * task's arguments are) and the errors of those that failed.
   */
  #onSpilledResult(v: unknown[]): void {
    const [, driver, token, ok, value, ids, failed] = v;
    const s = typeof token === "number" ? this.#spilled.get(token) : undefined;
    if (!s || s.driver !== driver) return;
    this.#spilled.delete(token as number);
    if (ok !== true) {
      settle(s.e, 2, reviveError(value as RemoteErrorInfo));
      return;
    }
    if (ids === undefined) {
      settle(s.e, 1, value);
      return;
    }
    this.#withRefs(s.driver, s.pool, value, ids, failed).then(
      (x) => settle(s.e, 1, x),
      (e) =>
        settle(
          s.e,
          2,
          new Error(`Cannot read the result of ${s.e} from the driver: ${(e as Error).message}`),
        ),
    );
  }

  /** `bytes` decoded, its refs made entries of `pool`: the objects' values read from Redis. */
  async #withRefs(
    driver: string,
    pool: Pool,
    bytes: unknown,
    ids: unknown,
    failed: unknown,
  ): Promise<unknown> {
    if (!(bytes instanceof Uint8Array) || !Array.isArray(ids) || !Array.isArray(failed)) {
      throw new TypeError("a malformed result");
    }
    const entries = new Map<number, Entry>();
    if (ids.length > 0) {
      const vals = await this.#c.sendCommand(
        ["MGET", ...ids.map((id) => K.obj(driver, Number(id)))],
        this.#bufOpts,
      ) as (Uint8Array | null)[];
      ids.forEach((id, i) => {
        const b = vals[i];
        if (!b) throw new Error(`object ${id} of driver ${driver} is not in Redis`);
        const e = pool.put(decode(b, noRefs));
        this.#origins.set(e, [driver, Number(id)]);
        entries.set(Number(id), e);
      });
    }
    for (const [id, info] of failed as [number, RemoteErrorInfo][]) {
      // A ref of the pool that failed: a put entry, settled again with the error.
      const e = pool.put(undefined);
      e[STATE] = 0;
      settle(e, 2, reviveError(info));
      entries.set(Number(id), e);
    }
    return decode(bytes, (id) => {
      const e = entries.get(id);
      if (!e) throw new RangeError(`reference ${id} not listed in the result`);
      return e;
    });
  }

  /** The function a message names, read from Redis once and checked against its hash. */
  #fn(ref: string): Promise<FnWire> {
    let p = this.#fns.get(ref);
    if (!p) {
      p = (async () => {
        const bytes = await this.#c.sendCommand(["GET", K.fn(ref)], this.#bufOpts) as
          | Uint8Array
          | null;
        if (!bytes) throw new Error(`function ${ref.slice(0, 12)} is not in Redis (driver gone?)`);
        if (sha256(bytes) !== ref) {
          throw new Error(`function ${ref.slice(0, 12)} does not match its hash`);
        }
        const fn = decode(bytes);
        if (!isFn(fn)) throw new Error(`function ${ref.slice(0, 12)} is malformed`);
        return fn;
      })();
      this.#fns.set(ref, p);
      p.catch(() => this.#fns.delete(ref));
    }
    return p;
  }

  async #fnUrl(fn: FnWire): Promise<{ url: string; tree?: { dir: string; driverDir: string } }> {
    if (fn.t) {
      let p = this.#trees.get(fn.t);
      if (!p) {
        p = materialize(this.#c, fn.t, this.#cacheDir, this.#bufOpts);
        this.#trees.set(fn.t, p);
        p.catch(() => this.#trees.delete(fn.t!));
      }
      const tree = await p;
      return { url: treeUrl(tree.dir, fn.e!), tree };
    }
    return { url: fn.u || "unknown:" };
  }

  /** The pool a driver's tasks run in: its own when its functions ask for workers of a kind. */
  #poolFor(driver: string, fn: FnWire | null): Pool {
    if (!fn?.w || this.#endedDrivers.has(driver) || this.#stopping) return this.#pool;
    let dp = this.#driverPools.get(driver);
    if (!dp) {
      const preload = [GLOBALS_PRELOAD, PATHS_PRELOAD];
      for (const p of fn.w.p) {
        const url = ownModuleUrl(p);
        if (url === undefined) {
          throw new Error(`the driver's worker preload ${p} is not a rayprof module`);
        }
        preload.push(url);
      }
      const data = {
        ...fn.w.d,
        [TREES_KEY]: join(this.#cacheDir, "trees"),
        [CACHE_KEY]: join(this.#cacheDir, "tools"),
      };
      dp = {
        pool: this.#hook(new NodePool(this.numCpus, { preload, data })),
        names: Object.keys(fn.w.d),
      };
      this.#driverPools.set(driver, dp);
    }
    return dp.pool;
  }

  /** A function a message names, with its module's URL here: read and built once. */
  async #resolve(ref: string): Promise<Resolved> {
    const fn = await this.#fn(ref);
    const { url, tree } = await this.#fnUrl(fn);
    const r: Resolved = { fn, url, tree, pool: null, def: null, wire: null, opts: null };
    // Kept while its tree is: a tree that failed is built again for the next task.
    if (!fn.t || this.#trees.has(fn.t)) this.#resolved.set(ref, r);
    return r;
  }

  /** The task options of `o` (one object for the same options, so the pool's spec is reused). */
  #optsOf(r: Resolved, o: OptsWire): TaskOptions {
    const w = r.wire;
    if (
      w && w.numCpus === o.numCpus && w.maxRetries === o.maxRetries && w.name === o.name &&
      w.retryExceptions === o.retryExceptions
    ) return r.opts!;
    const opts: TaskOptions = {
      numCpus: o.numCpus,
      maxRetries: o.maxRetries,
      retryExceptions: Array.isArray(o.retryExceptions)
        ? o.retryExceptions.map(namedClass)
        : o.retryExceptions,
      name: o.name || r.fn.n,
    };
    // A list of exception names is not compared: such options are made anew each time.
    if (!Array.isArray(o.retryExceptions)) {
      r.wire = o;
      r.opts = opts;
    }
    return opts;
  }

  async #prepare(l: Local): Promise<void> {
    const m = l.m;
    // Nothing here waits when the function is known and the arguments hold no refs.
    const r = m.fn === null ? null : this.#resolved.get(m.fn) ?? await this.#resolve(m.fn);
    let fn: FnWire | null = r?.fn ?? null;
    const pool = m.kind === "m"
      ? this.#actors.get(`${m.driver}:${m.actor}`)?.pool ?? this.#pool
      : this.#poolFor(m.driver, fn);
    l.pool = pool;
    // Objects the arguments refer to, stored by the driver.
    const locals = new Map<number, Entry>();
    if (m.refs.length > 0) {
      const keys = [...new Set(m.refs)].map((id) => K.obj(m.driver, id));
      const vals = await this.#c.sendCommand(
        ["MGET", ...keys],
        this.#bufOpts,
      ) as (Uint8Array | null)[];
      [...new Set(m.refs)].forEach((id, i) => {
        const v = vals[i];
        if (!v) {
          throw new Error(
            `object ${id} of driver ${m.driver} is not in Redis (freed, or its driver is gone)`,
          );
        }
        const e = pool.put(decode(v, noRefs));
        this.#origins.set(e, [m.driver, id]);
        locals.set(id, e);
      });
    }
    const args = decode(m.args!, (id) => {
      const e = locals.get(id);
      if (!e) throw new RangeError(`reference ${id} not listed in the message`);
      return e;
    }) as unknown[];
    if (!Array.isArray(args)) throw new TypeError("arguments are not an array");
    const tree = r?.tree;
    l.tree = tree;
    if (l.cancelled) {
      this.#finishError(l, cancelledInfo(m));
      return;
    }
    const scan = { bytes: 0, refs: m.refs.length > 0 };
    if (m.kind === "m") {
      const a = this.#actors.get(`${m.driver}:${m.actor}`);
      if (!a) {
        this.#finishError(l, {
          cls: "ActorDiedError",
          name: "ActorDiedError",
          message: `Actor (id ${m.actor}) is not alive on this node`,
          stack: "",
        });
        return;
      }
      l.e = pool.submit(a.a.def, args, CALL_OPTS, scan, a.a, m.method);
    } else {
      fn = fn!;
      let def = r!.pool === pool ? r!.def! : null;
      if (def === null) {
        def = pool.def({ url: r!.url, key: fn.k, name: fn.n, src: fn.s, cls: fn.c });
        r!.pool = pool;
        r!.def = def;
      }
      const o = m.opts!;
      if (m.kind === "c") {
        const a = pool.createActor(
          def,
          args,
          { numCpus: o.numCpus, maxRetries: 0, retryExceptions: false, name: o.name || fn.n },
          Math.max(1, m.maxConcurrency),
          scan,
        );
        this.#actors.set(`${m.driver}:${m.actor}`, { a, pool });
        this.#queueReply(m.driver, [R_ACTOR, m.actor], null);
        this.#finish(l, [R_OK, m.id, null]);
        return;
      }
      l.e = pool.submit(def, args, this.#optsOf(r!, o), scan);
    }
    const e = l.e;
    this.#byPoolId.set(e.id, l);
    whenSettled(e, () => {
      this.#byPoolId.delete(e.id);
      if (l.handedBack) return;
      const d = e[SPEC].def;
      // What the short stream's tasks take: how many of them to take ahead.
      if (d.runs > 0 && !l.long) this.#avgMs = d.avg;
      if (e[STATE] !== 1) {
        this.#finishError(l, errorInfo(e[VALUE], tree));
        return;
      }
      const x: Exports = { driver: m.driver, task: m.id, tree, tokens: new Map(), queue: [] };
      if (this.#finish(l, this.#resultItem(x, e[VALUE]))) this.#sendObjects(x);
    });
  }

  /**
   * A result's reply item: as it is, or, when it holds refs, encoded on its own with each ref
   * as the driver's id (one it gave the task) or a token naming an object made here.
   */
  #resultItem(x: Exports, value: unknown): unknown[] {
    if (!holdsRef(value, new Set())) return [R_OK, x.task, value];
    try {
      return [R_REFS, x.task, this.#encodeOut(x, value, "the result")];
    } catch (e) {
      x.queue = [];
      return [R_ERR, x.task, unsendable(e)];
    }
  }

  #encodeOut(x: Exports, value: unknown, path: string): Uint8Array {
    return encode(value, (o) => {
      if (!(o instanceof ObjectRef)) return undefined;
      const origin = this.#origins.get(o);
      if (origin && origin[0] === x.driver) return origin[1];
      let t = x.tokens.get(o);
      if (t !== undefined) return t;
      const e = entryOf(o);
      if (!e) throw new TypeError(`it holds ${o}, which this node does not know`);
      t = -(x.tokens.size + 1);
      x.tokens.set(o, t);
      x.queue.push(e);
      return t;
    }, path);
  }

  /** Sends each object named by a result (and by those objects' values) once it settles. */
  #sendObjects(x: Exports): void {
    while (x.queue.length > 0) {
      const e = x.queue.shift()!;
      const j = -x.tokens.get(e)! - 1;
      this.#exports++;
      whenSettled(e, () => {
        this.#exports--;
        let item: unknown[];
        if (e[STATE] === 1) {
          try {
            item = [R_OBJ, x.task, j, this.#encodeOut(x, e[VALUE], `the value of ${e}`)];
          } catch (err) {
            item = [R_OBJ_ERR, x.task, j, unsendable(err), e[SPEC].name];
          }
        } else item = [R_OBJ_ERR, x.task, j, errorInfo(e[VALUE], x.tree), e[SPEC].name];
        this.#queueReply(x.driver, item, null);
        this.#sendObjects(x);
      });
    }
  }

  #finishError(l: Local, info: ErrorInfo): void {
    this.#finish(l, [R_ERR, l.m.id, info]);
  }

  #finish(l: Local, item: unknown[]): boolean {
    const key = `${l.m.driver}:${l.m.id}`;
    if (this.#locals.get(key) !== l) return false;
    this.#locals.delete(key);
    if (l.long) {
      this.#longCount -= l.cost;
      const wake = this.#slotFree;
      this.#slotFree = null;
      wake?.();
    } else this.#count -= l.cost;
    // A bundle is acknowledged with its last task.
    const done = l.bundle === null || --l.bundle.left === 0;
    this.#queueReply(l.m.driver, item, done ? [l.stream, l.sid] : null, l);
    this.#freed();
    return true;
  }

  #queueReply(
    driver: string,
    item: unknown[],
    ack: [string, string] | null,
    local: Local | null = null,
  ): void {
    let r = this.#replies.get(driver);
    if (!r) this.#replies.set(driver, r = { items: [], acks: [], locals: [] });
    r.items.push(item);
    r.locals.push(local);
    r.acks.push(ack);
    if (!this.#replyQueued) {
      this.#replyQueued = true;
      queueMicrotask(() => this.#flushReplies());
    }
  }

  #flushReplies(): void {
    this.#replyQueued = false;
    const all = this.#replies;
    this.#replies = new Map();
    for (const [driver, r] of all) {
      this.#addTimes(r.items, r.locals);
      // Large results go in replies of their own, ≈1 MB each at most: one of 9 MB took Redis
      // and the driver 60-90 ms to take in, while its first result had been ready all along.
      let from = 0, bytes = 0;
      for (let i = 0; i < r.items.length; i++) {
        const size = sizeHint(r.items[i][2]);
        if (i > from && bytes + size > REPLY_BYTES) {
          this.#sendReplies(driver, r.items.slice(from, i), r.acks.slice(from, i));
          from = i;
          bytes = 0;
        }
        bytes += size;
      }
      if (from === 0) this.#sendReplies(driver, r.items, r.acks);
      else this.#sendReplies(driver, r.items.slice(from), r.acks.slice(from));
    }
  }

  /**
   * Appends to each reply item its task's times from the local pool's recording, on Redis's
   * clock: [worker, taken, dispatched, started, finished] (ms since the epoch).
   */
  #addTimes(items: unknown[][], locals: (Local | null)[]): void {
    let since = Infinity;
    for (const l of locals) if (l?.e && l.started < since) since = l.started;
    if (since === Infinity) return;
    const byPool = new Map<Pool, Map<number, TaskRecord>>();
    const recordsOf = (pool: Pool) => {
      let byId = byPool.get(pool);
      if (!byId) {
        byPool.set(pool, byId = new Map());
        // (1 ms early: the log keeps times rounded, and a task may be submitted as it is taken.)
        for (const rec of pool.recorder.tasks.toArray(since - 1)) byId.set(rec.id, rec);
      }
      return byId;
    };
    const shift = performance.timeOrigin + this.#clock.offsetMs;
    for (let i = 0; i < items.length; i++) {
      const l = locals[i];
      const rec = l?.e ? recordsOf(l.pool).get(l.e.id) : undefined;
      if (!rec || !(rec.worker >= 0) || !Number.isFinite(rec.started)) continue;
      items[i][3] = [
        rec.worker,
        l!.started + shift,
        rec.dispatched + shift,
        rec.started + shift,
        (Number.isFinite(rec.finished) ? rec.finished : performance.now()) + shift,
      ];
    }
  }

  #encodeReplies(items: unknown[][]): Uint8Array {
    try {
      return encode([this.id, items], noRefsOut);
    } catch {
      // One value cannot be sent: that task fails, the others go as they are.
      const ok = items.map((it) => {
        try {
          encode(it, noRefsOut);
          return it;
        } catch (e) {
          return [R_ERR, it[1], {
            cls: "TaskError",
            name: (e as Error).name,
            message: `its result cannot be sent to the driver: ${(e as Error).message}`,
            stack: "",
          }];
        }
      });
      return encode([this.id, ok], noRefsOut);
    }
  }

  #sendReplies(
    driver: string,
    items: unknown[][],
    acks: ([string, string] | null)[],
    tries = 0,
  ): void {
    const msg = this.#encodeReplies(items);
    const c = this.#c;
    const jobs: Promise<unknown>[] = [
      c.sendCommand(["XADD", K.reply(driver), "NOMKSTREAM", "*", "m", buf(msg)]),
    ];
    const byStream = new Map<string, string[]>();
    for (const ack of acks) {
      if (ack === null) continue;
      const [s, id] = ack;
      const l = byStream.get(s) ?? [];
      l.push(id);
      byStream.set(s, l);
    }
    // The reply first, then the acknowledgement: a node that dies between the two has its task
    // run again, and the driver keeps the first result it gets.
    Promise.all(jobs).then(() => {
      for (const [s, ids] of byStream) {
        c.sendCommand(["XACK", s, K.group, ...ids]).catch(() => {});
        c.sendCommand(["XDEL", s, ...ids]).catch(() => {});
      }
    }, () => {
      if (tries < 300) setTimeout(() => this.#sendReplies(driver, items, acks, tries + 1), 200);
    });
  }

  #onControl(msg: Uint8Array): void {
    let v: unknown;
    try {
      v = decode(msg);
    } catch (e) {
      this.#log(`rayprof node ${this.id}: rejected control message: ${(e as Error).message}`);
      return;
    }
    if (Array.isArray(v) && v[0] === CTL_COLLECT && typeof v[1] === "string") {
      this.#collectFor(v[1], true);
      return;
    }
    if (!Array.isArray(v) || typeof v[0] !== "string" || typeof v[1] !== "number") return;
    const l = this.#locals.get(`${v[0]}:${v[1]}`);
    if (!l) return;
    if (!l.e) {
      l.cancelled = true;
      return;
    }
    try {
      l.pool.cancel(l.e as Task, v[2] === true);
    } catch (e) {
      this.#log(`rayprof node ${this.id}: cannot cancel task ${v[1]}: ${(e as Error).message}`);
    }
  }

  /**
   * Retires the pool of `driver` (asked by the driver as it ends, or as this node stops): what
   * its workers' collectors hold goes to the driver, then the end of it; a node that ran none of
   * the driver's tasks in a pool of its own says so at once. With `send` false, nothing is sent.
   */
  #collectFor(driver: string, send: boolean): Promise<void> {
    const run = async () => {
      const dp = this.#driverPools.get(driver);
      this.#driverPools.delete(driver);
      this.#endedDrivers.add(driver);
      // Only late tasks need it: the oldest are forgotten.
      if (this.#endedDrivers.size > 1000) {
        this.#endedDrivers.delete(this.#endedDrivers.values().next().value!);
      }
      const items: unknown[][] = [];
      if (dp) {
        const handlers = hooks().collected;
        for (const name of dp.names) {
          handlers.set(name, (data, w) => {
            items.push([R_COLLECTED, name, data, w.id, w.kind, w.label, this.#clock.offsetMs]);
          });
        }
        try {
          await dp.pool.close();
        } finally {
          for (const name of dp.names) handlers.delete(name);
        }
      }
      if (!send) return;
      items.push([R_COLLECT_DONE]);
      this.#flushReplies(); // the tasks the pool failed first
      this.#sendReplies(driver, items, []);
    };
    return this.#collecting = this.#collecting.then(run, run);
  }

  /** What drivers that are gone without shutting down left in Redis: removed (see _leases.ts). */
  async #sweep(): Promise<void> {
    for (const { driver, keys } of await sweepGoneDrivers(this.#c, this.id, SWEEP_BEATS * 1000)) {
      this.#log(
        `rayprof node ${this.id}: driver ${driver} is gone (its lease expired): removed its ${keys} keys`,
      );
    }
  }

  /** Pools of drivers that ended without asking (their liveness key expired): retired. */
  async #retireOrphans(): Promise<void> {
    for (const driver of [...this.#driverPools.keys()]) {
      const n = await this.#c.sendCommand(["EXISTS", K.driver(driver)]);
      if (Number(n) === 0 && this.#driverPools.has(driver)) {
        this.#log(`rayprof node ${this.id}: driver ${driver} is gone; its workers retire`);
        await this.#collectFor(driver, false);
      }
    }
  }

  stop(): Promise<void> {
    return this.#stopped ??= this.#stop();
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#heartbeat);
    this.#slotFree?.();
    await this.#c.sendCommand(["CLIENT", "UNBLOCK", this.#readerId]).catch(() => {});
    await this.#c.sendCommand(["CLIENT", "UNBLOCK", this.#longReaderId]).catch(() => {});
    await this.#loop?.catch(() => {});
    // Hand back what has not started: added again to the stream, for another node.
    const back: Local[] = [];
    for (const l of this.#locals.values()) {
      if (l.m.kind === "t" && l.e && l.e[STATE] === 0 && l.e[WORKER] === null) back.push(l);
    }
    for (const l of back) {
      l.handedBack = true;
      this.#locals.delete(`${l.m.driver}:${l.m.id}`);
      l.pool.cancel(l.e as Task, false);
    }
    if (back.length > 0) {
      await Promise.all(
        back.map(async (l) => {
          try {
            await this.#c.sendCommand(["XADD", l.stream, "*", "m", buf(l.raw)]);
            // A bundle is acknowledged once none of its tasks is left here.
            if (l.bundle !== null && --l.bundle.left > 0) return;
            await this.#c.sendCommand(["XACK", l.stream, K.group, l.sid]);
            await this.#c.sendCommand(["XDEL", l.stream, l.sid]);
          } catch { /* Redis away: the driver takes the task back when this node is gone */ }
        }),
      );
      this.#log(`rayprof node ${this.id}: handed back ${back.length} tasks not started`);
    }
    const until = Date.now() + this.#drainMs;
    while ((this.#locals.size > 0 || this.#exports > 0) && Date.now() < until) await sleep(20);
    this.#flushReplies();
    // What the drivers' own workers collected goes to their drivers before the node leaves.
    await Promise.all([...this.#driverPools.keys()].map((d) => this.#collectFor(d, true)));
    await sleep(50);
    const c = this.#c;
    await c.sendCommand(["DEL", K.node(this.id), this.#own]).catch(() => {});
    for (const stream of TASK_STREAMS) {
      await c.sendCommand(["XGROUP", "DELCONSUMER", stream, K.group, this.id]).catch(() => {});
    }
    try {
      // The last node out leaves no stream behind when nothing waits in it.
      const others = (await liveNodes(c)).length;
      for (const stream of TASK_STREAMS) {
        const len = Number(await c.sendCommand(["XLEN", stream]));
        if (others === 0 && len === 0) await c.sendCommand(["DEL", stream]);
      }
    } catch { /* Redis away */ }
    await this.#pool.close();
    destroy(this.#sub);
    destroy(this.#reader);
    destroy(this.#longReader);
    destroy(c);
    this.#log(`rayprof node ${this.id}: stopped`);
    this.#resolveDone();
  }
}

function noRefs(): never {
  throw new RangeError("an object in the store holds a reference");
}

function noRefsOut(v: object): undefined {
  if (v instanceof ObjectRef) {
    throw new TypeError(`it holds ${v} outside a result's value`);
  }
  return undefined;
}

/** Whether a value holds an ObjectRef (walked as the codec walks it). */
function holdsRef(v: unknown, seen: Set<object>): boolean {
  if (typeof v !== "object" || v === null || seen.has(v)) return false;
  if (v instanceof ObjectRef) return true;
  seen.add(v);
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date) return false;
  if (v instanceof Map) {
    for (const [k, x] of v) if (holdsRef(k, seen) || holdsRef(x, seen)) return true;
    return false;
  }
  if (v instanceof Set) {
    for (const x of v) if (holdsRef(x, seen)) return true;
    return false;
  }
  if (v instanceof Error) return "cause" in v && holdsRef(v.cause, seen);
  for (const k of Object.keys(v)) {
    if (holdsRef((v as Record<string, unknown>)[k], seen)) return true;
  }
  return false;
}

/** The error of a value that cannot go to the driver. */
function unsendable(e: unknown): ErrorInfo {
  return {
    cls: "TaskError",
    name: String((e as Error)?.name ?? "Error"),
    message: `its result cannot be sent to the driver: ${(e as Error)?.message ?? e}`,
    stack: "",
  };
}

function namedClass(name: string): abstract new (...args: never[]) => unknown {
  const c = class {};
  Object.defineProperty(c, "name", { value: name });
  return c;
}

/** Reply bytes past which the next large result goes in a reply of its own. */
const REPLY_BYTES = 1 << 20;

/** The size of a result when it is bytes or a string at the top (others count as small). */
function sizeHint(v: unknown): number {
  if (typeof v === "string") return v.length;
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return v.byteLength;
  return 64;
}

function cancelledInfo(m: TaskMessage): ErrorInfo {
  return {
    cls: "TaskCancelledError",
    name: "TaskCancelledError",
    message: `Task '${m.opts?.name || "task"}' (id ${m.id}) was cancelled before it ran`,
    stack: "",
  };
}

function errorInfo(
  err: unknown,
  tree: { dir: string; driverDir: string } | undefined | null,
): ErrorInfo {
  const map = (s: string) => (tree ? mapStack(s, tree.dir, tree.driverDir) : s);
  if (err instanceof TaskError) {
    const cause = err.cause as Error | undefined;
    return {
      cls: "TaskError",
      name: err.remoteName,
      message: String(cause?.message ?? err.message),
      stack: map(String(cause?.stack ?? err.stack ?? "")),
    };
  }
  const e = err as Error;
  return {
    cls: String(e?.name ?? "Error"),
    name: String(e?.name ?? "Error"),
    message: map(String(e?.message ?? e)),
    stack: map(String(e?.stack ?? "")),
  };
}

function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.version}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/**
 * Runs a node until SIGINT or SIGTERM, then stops it cleanly (a second signal exits at once).
 * Resolves with the exit code.
 */
export async function runNode(options: NodeOptions): Promise<number> {
  const node = await startNode(options);
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(130);
    node.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  await node.done;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return 0;
}
