/**
 * The driver's side of a cluster: the engine behind the API when `init()` is given an address.
 * Tasks go to the Redis streams that nodes read as one consumer group (batched into pipelines):
 * those of functions known to run under 1 ms to the short stream, several to an entry, which
 * nodes take many of ahead; the others to the stream nodes take one task per free slot from.
 * Actor calls go to the stream of the node holding the actor; results come back on this driver's
 * reply stream and settle the same ObjectRef entries the local pool settles, so `get` and `wait`
 * are unchanged. The driver owns its tasks: it re-submits those of a node that died (per
 * `maxRetries`), and frees the objects it stored when their refs are collected or at shutdown.
 *
 * @module
 */
import { Actor, Def, errorInfo, type Task, type TaskOptions } from "../runtime/pool.ts";
import {
  ARGS,
  type Entry,
  entryOf,
  ObjectRef,
  RETRIES,
  settle,
  SLOT,
  SPEC,
  STATE,
  VALUE,
  whenSettled,
} from "../runtime/object_ref.ts";
import {
  K_ACTOR_CALL,
  K_ACTOR_CREATE,
  K_TASK,
  Recorder,
  type RecorderOptions,
  S_CANCELLED,
  S_CRASHED,
  S_ERROR,
} from "../runtime/recorder.ts";
import {
  ActorDiedError,
  RayError,
  RuntimeShutdownError,
  TaskCancelledError,
  TaskError,
  WorkerCrashedError,
} from "../runtime/errors.ts";
import type { Backend, BackendOptions } from "../runtime/backend.ts";
import { hooks } from "../runtime/hooks.ts";
import { decode, encode, Nested, type Raw, raw } from "./_codec.ts";
import { readGraph, sha256, type Tree, UNREADABLE, uploadGraph } from "./_code.ts";
import { acquire, leaseMs, release, renewLease } from "./_leases.ts";
import process from "node:process";
import * as nodeTimers from "node:timers";
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
  pairs,
  redact,
  type Redis,
  TASK_STREAMS,
} from "./_redis.ts";
import {
  BUNDLE,
  CTL_COLLECT,
  type ErrorInfo,
  type FnWire,
  liveNodes,
  NESTED_RESULT,
  type NodeInfo,
  type NodeWorkersWire,
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
} from "./_wire.ts";

type Wire = Parameters<Backend["def"]>[0];

/** A task sent to the cluster and not settled yet. */
interface Sent {
  t: Task;
  /** Stream and entry id it was added as. */
  stream: string;
  sid: string;
  attempt: number;
  /** The entry it went in, with the other tasks of that entry (see {@linkcode Bundle}). */
  bundle: Bundle;
}

/**
 * One stream entry and the tasks it carries: one, or several short tasks of one function (see
 * {@linkcode bundleSize}), which a node takes together and acknowledges when all have finished.
 */
interface Bundle {
  ids: number[];
  /** Tasks of the entry not settled yet. */
  left: number;
  stream: string;
  sid: string;
}

/** The key of an entry in `#bySid` (entry ids are unique within a stream only). */
function entryKey(stream: string, sid: string): string {
  return `${stream} ${sid}`;
}

/** The driver's view of an actor: where it lives and its calls in submission order. */
/** An object made on a node that a result named, until the node sends it. */
interface RemoteObject {
  node: string;
  ref: WeakRef<Entry>;
  /** The task whose result named it. */
  task: string;
}

interface ActorState {
  a: Actor;
  node: string | null;
  /** Calls not sent yet, in submission order. */
  calls: Task[];
  maxConcurrency: number;
}

/** Whether a task's arguments are ready: its id is in this set once they are. */
const HOLD_RETRY_MS = 200;

/**
 * How long a driver that ends waits for what its own workers on the nodes collected (a node
 * whose registration expires meanwhile is given up at once).
 */
const COLLECT_TIMEOUT_MS = 15_000;

/** How long a driver's liveness key (see `#alive`) lives without being refreshed. */
const DRIVER_TTL_MS = 10_000;

/** Connects a driver to the cluster at `options.address`. */
export async function connectDriver(
  options: BackendOptions,
  recording: RecorderOptions,
): Promise<ClusterDriver> {
  const address = checkAddress(options.address);
  const c = await connect(address, { timeoutMs: options.connectTimeoutMs });
  let reader: Redis | undefined;
  try {
    reader = await connect(address, { timeoutMs: options.connectTimeoutMs });
    for (const stream of TASK_STREAMS) await ensureGroup(c, stream);
    const d = new ClusterDriver(address, c, reader, options.gen, recording, await bufferReplies());
    await d.start();
    return d;
  } catch (e) {
    destroy(reader);
    destroy(c);
    throw e;
  }
}

/** The engine of a driver on a cluster (see the module doc). */
export class ClusterDriver implements Backend {
  numCpus = 0;
  readonly gen: number;
  readonly recorder: Recorder;
  closed = false;
  actorHandleFor?: (tag: Record<string, unknown>) => unknown;
  /** This driver's id: names its reply stream and objects. */
  readonly id: string = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  readonly #address: string;
  readonly #c: Redis;
  readonly #reader: Redis;
  readonly #bufOpts: unknown;
  readonly #replyKey: string;
  #defs = new Map<string, Def>();
  #nextFid = 1;
  #nextId = 1;
  #nextActorId = 1;
  #actors = new Map<number, ActorState>();
  #inflight = new Map<number, Sent>();
  /** Entries of the task streams by {@linkcode entryKey}. */
  #bySid = new Map<string, Bundle>();
  /** The last run times of each function, from its results (see {@linkcode RunTimes}). */
  #runs = new Map<Def, RunTimes>();

  #runTimes(d: Def): RunTimes {
    let r = this.#runs.get(d);
    if (r === undefined) this.#runs.set(d, r = new RunTimes());
    return r;
  }

  /** Encodings made once (see `#taskMessage`). */
  #rawRefs = new Map<string, Raw>();
  #rawOptions = new WeakMap<TaskOptions, Raw[]>();
  /** Values with refs sent to nodes, kept alive a while (see `#lend`). */
  #lent = new Set<unknown>();
  /** Tasks submitted for tasks on nodes (see `#onSpilled`), by "node token". */
  #spilled = new Map<string, Task>();
  /** Tasks whose cancellation waits on their entry's id or on Redis (see `cancel`). */
  #cancelling = new Map<number, boolean>();
  /** Tasks whose arguments are ready, to send at the next flush. */
  #outbox: Task[] = [];
  #ready = new Set<number>();
  #attempts = new Map<number, number>();
  #flushQueued = false;
  #trees = new Map<string, Tree | Promise<Tree>>();
  #treeErrors = new Map<string, Error>();
  #sent = new Set<string>();
  /** The lease's life (see _leases.ts). */
  #leaseMs = leaseMs(process.env);
  #objects = new Map<number, Promise<void>>();
  #objKeys = new Set<string>();
  #free: string[] = [];
  #registry = new FinalizationRegistry<string>((key) => this.#freeLater(key));
  /** Refs sent to the nodes or received from them, by id: a result may name them again. */
  #known = new Map<number, WeakRef<ObjectRef<unknown>>>();
  #forget = new FinalizationRegistry<number>((id) => {
    if (this.#known.get(id)?.deref() === undefined) this.#known.delete(id);
  });
  /** Objects made on nodes and not sent yet, by "task:token" (see `R_REFS`). */
  #remote = new Map<string, RemoteObject>();
  #nodes = new Map<string, NodeInfo>();
  #seenNodes = new Map<string, string>();
  #lastReply = "0-0";
  #monitor: ReturnType<typeof setInterval> | undefined;
  /** This driver's clock against Redis's. */
  #clock: ClockOffset = { offsetMs: 0, errorMs: Infinity };
  /** Timeline worker ids of the nodes' workers, by "node#worker". */
  #workerIds = new Map<string, number>();
  /** The key under which each definition's FnWire is stored (see #fnRef). */
  #fnRefs = new Map<Def, string>();
  #readLoop: Promise<void> | undefined;
  /** The workers this driver's tasks want on the nodes (`hooks().nodeWorkers`), if any. */
  readonly #nodeWorkers: NodeWorkersWire | undefined;
  /** Nodes that replied for one of this driver's tasks or actors. */
  #ranOn = new Set<string>();
  /** Nodes that sent all their workers collected for this driver. */
  #collectDone = new Set<string>();
  #collectWake: (() => void) | null = null;
  /** Reading replies after close: what the nodes' workers collected. */
  #collecting = false;

  constructor(
    address: string,
    c: Redis,
    reader: Redis,
    gen: number,
    recording: RecorderOptions,
    bufOpts: unknown,
  ) {
    this.#address = address;
    this.#c = c;
    this.#reader = reader;
    this.gen = gen;
    this.#bufOpts = bufOpts;
    this.recorder = new Recorder(recording);
    this.#replyKey = K.reply(this.id);
    const nw = hooks().nodeWorkers;
    this.#nodeWorkers = nw ? { p: [...nw.preload], d: { ...nw.data } } : undefined;
  }

  /** The address, password hidden. */
  get address(): string {
    return redact(this.#address);
  }

  /** Starts reading replies and watching the nodes. */
  async start(): Promise<void> {
    // The reply stream exists from the start: nodes add to it with NOMKSTREAM, so that replies
    // to a driver that is gone make no keys. (An emptied stream stays.)
    // The lease first: a reply stream without one is a gone driver's (see _leases.ts).
    await renewLease(this.#c, this.id, this.#leaseMs);
    const first = await this.#c.sendCommand(["XADD", this.#replyKey, "*", "h", "1"]);
    await this.#c.sendCommand(["XDEL", this.#replyKey, String(first)]);
    this.#clock = await clockOffset(this.#c);
    await this.#alive();
    await this.#refreshNodes();
    this.#readLoop = this.#read();
    this.#monitor = setInterval(() => {
      this.#watch().catch(() => {/* Redis away: the next round tries again */});
    }, 1000);
    (this.#monitor as { unref?: () => void }).unref?.();
  }

  /** Slots of all live nodes (Backend's `liveWorkers`: the cluster's workers). */
  get liveWorkers(): number {
    return this.numCpus;
  }

  /** Tasks submitted and not settled. */
  get queueSize(): number {
    return this.#inflight.size + this.#outbox.length;
  }

  /** Live nodes as last seen (refreshed every second). */
  get nodes(): NodeInfo[] {
    return [...this.#nodes.values()];
  }

  def(wire: Wire): Def {
    const k = `${wire.url}#${wire.key}`;
    let d = this.#defs.get(k);
    if (!d) {
      d = new Def({ ...wire, fid: this.#nextFid++ }, this.gen);
      this.#defs.set(k, d);
      if (wire.url.startsWith("file:")) this.#tree(wire.url).catch(() => {});
    }
    return d;
  }

  put(value: unknown): Entry {
    const def = this.def({ url: "", key: "put", name: "put", src: "", cls: false });
    const spec = def.specFor(PUT_OPTIONS);
    const e = new ObjectRef(this.#nextId++, spec) as Entry;
    settle(e, 1, value);
    return e;
  }

  /** Notes a ref that a node may name in a result. */
  #remember(r: ObjectRef<unknown>): void {
    if (this.#known.get(r.id)?.deref() === r) return;
    this.#known.set(r.id, new WeakRef(r));
    this.#forget.register(r, r.id);
  }

  /**
   * A value with refs that `node` sent for `task`: a ref is this driver's id, or a token for an
   * object made on the node, which becomes an entry of this driver's, pending until it comes.
   */
  #decodeRefs(bytes: unknown, taskId: number, task: string, node: string): unknown {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("a value with refs is not bytes");
    return decode(bytes, (id) => {
      if (id >= 0) {
        const r = this.#known.get(id)?.deref();
        if (r) return r;
        const e = new ObjectRef(id, this.#putSpec()) as Entry;
        settle(
          e,
          2,
          new RayError(
            `ObjectRef(${id}) came back from node '${
              nodeName(node)
            }' in the result of ${task}, but this driver no longer holds it`,
          ),
        );
        return e;
      }
      const key = `${taskId}:${-id - 1}`;
      const have = this.#remote.get(key)?.ref.deref();
      if (have) return have;
      const e = new ObjectRef(this.#nextId++, this.#putSpec()) as Entry;
      this.#remote.set(key, { node, ref: new WeakRef(e), task });
      this.#remember(e);
      return e;
    });
  }

  #putSpec(): Entry[typeof SPEC] {
    return this.def({ url: "", key: "put", name: "put", src: "", cls: false }).specFor(
      PUT_OPTIONS,
    );
  }

  /** An object made on a node, sent as it settled (R_OBJ or R_OBJ_ERR). */
  #onObject(node: string, it: unknown[]): void {
    const key = `${it[1]}:${it[2]}`;
    const r = this.#remote.get(key);
    if (!r || r.node !== node) return;
    this.#remote.delete(key);
    const e = r.ref.deref();
    if (!e || e[STATE] !== 0) return;
    if (it[0] === R_OBJ) {
      let v: unknown;
      try {
        v = this.#decodeRefs(it[3], Number(it[1]), r.task, node);
      } catch (err) {
        settle(
          e,
          2,
          new RayError(
            `Cannot read ${e} from node '${nodeName(node)}': ${(err as Error).message}`,
          ),
        );
        return;
      }
      settle(e, 1, v);
      return;
    }
    const info = it[3] as ErrorInfo;
    const where = `on node '${nodeName(node)}'`;
    settle(
      e,
      2,
      info.cls === "TaskError"
        ? new TaskError(String(it[4] || "task"), e.id, info)
        : info.cls === "WorkerCrashedError"
        ? new WorkerCrashedError(`${info.message} (${where})`)
        : info.cls === "TaskCancelledError"
        ? new TaskCancelledError(info.message)
        : new RayError(`${e}, made by ${r.task} ${where}, failed: ${info.message}`),
    );
  }

  /** Objects that nodes which died (or whose refs were collected) never sent. */
  #lostObjects(live: Map<string, NodeInfo>): void {
    for (const [key, r] of this.#remote) {
      const e = r.ref.deref();
      if (e && e[STATE] === 0 && live.has(r.node)) continue;
      this.#remote.delete(key);
      if (!e || e[STATE] !== 0) continue;
      settle(
        e,
        2,
        new WorkerCrashedError(
          `${e} was lost: node '${
            nodeName(r.node)
          }', where ${r.task} made it, died before it was ready`,
        ),
      );
    }
  }

  markAwaited(e: Entry): void {
    if (e[SLOT] >= 0) this.recorder.tasks.awaited(e[SLOT]);
  }

  submit(
    def: Def,
    args: unknown[],
    opts: TaskOptions,
    scan: { bytes: number; refs: boolean },
    actor: Actor | null = null,
    method: string | null = null,
  ): Task {
    if (this.closed) throw new RuntimeShutdownError("Cannot submit as the runtime was shut down");
    const spec = actor ? actor.specFor(method, opts) : def.specFor(opts);
    const t = new ObjectRef(this.#nextId++, spec) as Task;
    t[ARGS] = args;
    t[RETRIES] = opts.maxRetries;
    if (this.recorder.enabled) {
      const kind = actor ? (method === null ? K_ACTOR_CREATE : K_ACTOR_CALL) : K_TASK;
      t[SLOT] = this.recorder.tasks.add(
        t.id,
        spec.name,
        kind,
        performance.now(),
        scan.bytes,
        actor ? actor.id : -1,
        NaN,
      );
    }
    if (actor) {
      const st = this.#actors.get(actor.id)!;
      if (actor.dead) {
        settle(t, 2, actor.dead);
        return t;
      }
      st.calls.push(t);
    }
    const deps: Entry[] = [];
    const seen = new Set<object>();
    for (const a of args) {
      if (a instanceof ObjectRef) this.#dep(t, a, deps);
      else if (scan.refs) collectRefs(a, seen, (r) => this.#dep(t, r, deps));
    }
    if (t[STATE] !== 0) return t;
    if (deps.length === 0) this.#markReady(t);
    else this.#awaitDeps(t, deps);
    return t;
  }

  #dep(t: Task, r: ObjectRef<unknown>, deps: Entry[]): void {
    const e = entryOf(r);
    if (!e || e[SPEC].gen !== this.gen) {
      settle(
        t,
        2,
        new RuntimeShutdownError(
          `Cannot pass ${r} to '${t[SPEC].name}' as it belongs to a runtime that was shut down`,
        ),
      );
      return;
    }
    deps.push(e);
  }

  #awaitDeps(t: Task, deps: Entry[]): void {
    let pending = deps.length;
    const onDep = (d: Entry) => {
      if (t[STATE] !== 0) return;
      if (d[STATE] === 2) {
        this.#fail(t, d[VALUE] as Error);
        return;
      }
      if (--pending === 0) {
        Promise.all(deps.map((x) => this.#upload(x))).then(
          () => this.#markReady(t),
          (e) => this.#fail(t, e as Error),
        );
      }
    };
    for (const d of deps) whenSettled(d, onDep);
  }

  /** Stores a settled entry's value under its key, once; the key goes when the ref is collected. */
  #upload(e: Entry): Promise<void> {
    let p = this.#objects.get(e.id);
    if (!p) {
      const key = K.obj(this.id, e.id);
      let bytes: Uint8Array;
      try {
        bytes = encode(e[VALUE], refId, `the value of ${e}`);
      } catch (err) {
        return Promise.reject(err);
      }
      this.#objKeys.add(key);
      p = this.#c.sendCommand(["SET", key, buf(bytes)]).then(() => {});
      this.#objects.set(e.id, p);
      this.#registry.register(e, key);
    }
    return p;
  }

  #freeLater(key: string): void {
    if (this.closed || !this.#objKeys.delete(key)) return;
    const id = Number(key.slice(key.lastIndexOf(":") + 1));
    this.#objects.delete(id);
    this.#free.push(key);
    if (this.#free.length === 1) {
      setTimeout(() => {
        const keys = this.#free;
        this.#free = [];
        if (keys.length > 0 && !this.closed) {
          this.#c.sendCommand(["DEL", ...keys]).catch(() => {});
        }
      }, 50);
    }
  }

  #markReady(t: Task): void {
    if (t[STATE] !== 0) return;
    const a = t[SPEC].actor;
    if (a) {
      this.#ready.add(t.id);
      this.#actorFlush(this.#actors.get(a.id)!);
      return;
    }
    this.#outbox.push(t);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  /** The code tree of a module, uploaded once per driver. */
  #tree(url: string): Promise<Tree> {
    const have = this.#trees.get(url);
    if (have) return Promise.resolve(have);
    const p = readGraph(url).then(async (g) => {
      await uploadGraph(this.#c, g, this.#sent, this.id);
      this.#trees.set(url, g.tree);
      return g.tree;
    }, (e) => {
      this.#treeErrors.set(url, e as Error);
      this.#trees.delete(url);
      throw e;
    });
    this.#trees.set(url, p);
    return p;
  }

  /** The function of a task as sent: its tree (null while being uploaded). */
  #fnWire(d: Def): FnWire | null | Error {
    const w = d.wire;
    const base = {
      k: w.key,
      n: w.name,
      s: w.src,
      c: w.cls,
      ...(this.#nodeWorkers ? { w: this.#nodeWorkers } : {}),
    };
    if (!w.url.startsWith("file:")) {
      return { ...base, u: /^(https?|jsr|npm):/.test(w.url) ? w.url : "" };
    }
    const tree = this.#trees.get(w.url);
    if (tree && !(tree instanceof Promise)) return { ...base, t: tree.sha, e: tree.entry };
    const err = this.#treeErrors.get(w.url);
    if ((err as { code?: string } | undefined)?.code === UNREADABLE) return { ...base, u: "" };
    if (err) return err;
    return null;
  }

  /**
   * The function of a task as a message names it: the SHA-256 of its encoded FnWire, stored once
   * under `rp:fn:<sha>` (SET before the XADDs that name it, on the same connection, so Redis has
   * it first). Its source text then travels once, not with every task.
   */
  #fnRef(d: Def, fn: FnWire): string {
    let ref = this.#fnRefs.get(d);
    if (ref === undefined) {
      const bytes = encode(fn);
      ref = sha256(bytes);
      this.#fnRefs.set(d, ref);
      const key = K.fn(ref);
      if (!this.#sent.has(key)) {
        this.#sent.add(key);
        acquire(this.#c, this.id, key, bytes).catch(() => {
          this.#sent.delete(key); // Redis away: stored again with the next task that names it
          this.#fnRefs.delete(d);
        });
      }
    }
    return ref;
  }

  /**
   * A task's message, to encode: its arguments encoded on their own but in place, its function's
   * hash and its options copied from encodings made once (a task's message took ≈1.9 µs to
   * encode as a value of its own, the arguments apart: a third of a pipelining driver's time).
   */
  #taskMessage(t: Task, attempt: number, fn: FnWire): unknown[] {
    const spec = t[SPEC];
    const refs: number[] = [];
    const args = new Nested(t[ARGS], (v) => {
      if (v instanceof ObjectRef) {
        refs.push(v.id);
        this.#remember(v);
        return v.id;
      }
      return undefined;
    }, `the arguments of '${spec.name}'`);
    const a = spec.actor;
    return [
      a ? (spec.method === null ? "c" : "m") : "t",
      this.id,
      t.id,
      this.#rawFnRef(spec.def, fn),
      args,
      refs, // (filled as the arguments are written, before it)
      this.#rawOpts(spec.opts, attempt),
      a ? a.id : 0,
      spec.method ?? "",
      a ? this.#actors.get(a.id)!.maxConcurrency : 0,
    ];
  }

  /** The hash naming `d`'s function (see `#fnRef`), encoded once. */
  #rawFnRef(d: Def, fn: FnWire): Raw {
    const ref = this.#fnRef(d, fn);
    let r = this.#rawRefs.get(ref);
    if (r === undefined) this.#rawRefs.set(ref, r = raw(ref));
    return r;
  }

  /** Task options as sent for attempt `attempt` (its retries left), encoded once. */
  #rawOpts(o: TaskOptions, attempt: number): Raw {
    let byAttempt = this.#rawOptions.get(o);
    if (byAttempt === undefined) this.#rawOptions.set(o, byAttempt = []);
    let r = byAttempt[attempt];
    if (r === undefined) {
      const re = o.retryExceptions;
      r = byAttempt[attempt] = raw({
        numCpus: o.numCpus,
        maxRetries: o.maxRetries < 0 ? -1 : Math.max(0, o.maxRetries - attempt),
        retryExceptions: Array.isArray(re)
          ? re.map((c) => (c as { name?: string }).name ?? "")
          : re,
        name: o.name,
      });
    }
    return r;
  }

  #flush(): void {
    if (this.closed) return;
    const batch = this.#outbox;
    if (batch.length === 0) return;
    this.#outbox = [];
    const waiting: Task[] = [];
    // Short tasks of one function, to send several to an entry.
    let short: Map<Def, { fn: FnWire; tasks: Task[] }> | undefined;
    for (const t of batch) {
      if (t[STATE] !== 0) continue;
      const d = t[SPEC].def;
      const fn = this.#fnWire(d);
      if (fn === null) {
        waiting.push(t);
        continue;
      }
      if (fn instanceof Error) {
        this.#fail(t, new RayError(`Cannot ship '${t[SPEC].name}' to the cluster: ${fn.message}`));
        continue;
      }
      const typical = this.#runs.get(d)?.median() ?? -1;
      if (typical >= 0 && typical < BUNDLE_BELOW_MS && t[SPEC].opts.numCpus <= 1) {
        short ??= new Map();
        const g = short.get(d);
        if (g) g.tasks.push(t);
        else short.set(d, { fn, tasks: [t] });
        continue;
      }
      this.#send([t], K.tasks, fn);
    }
    if (short) {
      // Known to be short: on the stream that nodes take many of ahead, several to an entry.
      for (const [d, { fn, tasks }] of short) {
        const n = bundleSize(this.#runs.get(d)!.median(), tasks.length, this.#nodes.size);
        for (let i = 0; i < tasks.length; i += n) this.#send(tasks.slice(i, i + n), K.short, fn);
      }
    }
    if (waiting.length > 0) {
      const urls = new Set(waiting.map((t) => t[SPEC].def.wire.url));
      Promise.allSettled([...urls].map((u) => this.#tree(u))).then(() => {
        this.#outbox.push(...waiting);
        this.#scheduleFlush();
      });
    }
  }

  /** Adds `tasks` to `stream` as one entry: a task's message, or a bundle of them. */
  #send(tasks: Task[], stream: string, fn: FnWire): void {
    const bundle: Bundle = { ids: [], left: 0, stream, sid: "" };
    const sent: Sent[] = [];
    let attempts = tasks.map((t) => this.#attempts.get(t.id) ?? 0);
    let msg: Uint8Array;
    try {
      // The entry in one encoding: the messages of a bundle are written in place too.
      const parts = tasks.map((t, i) => this.#taskMessage(t, attempts[i], fn));
      msg = encode(parts.length === 1 ? parts[0] : [BUNDLE, parts.map((m) => new Nested(m))]);
    } catch {
      // A task's arguments cannot be sent: each on its own, to fail that one only.
      const ok: Task[] = [];
      const okAttempts: number[] = [];
      const msgs: Uint8Array[] = [];
      tasks.forEach((t, i) => {
        try {
          msgs.push(encode(this.#taskMessage(t, attempts[i], fn)));
          ok.push(t);
          okAttempts.push(attempts[i]);
        } catch (e) {
          this.#fail(t, e as Error);
        }
      });
      if (ok.length === 0) return;
      tasks = ok;
      attempts = okAttempts;
      msg = msgs.length === 1 ? msgs[0] : encode([BUNDLE, msgs]);
    }
    tasks.forEach((t, i) => {
      const s: Sent = { t, stream, sid: "", attempt: attempts[i], bundle };
      this.#inflight.set(t.id, s);
      bundle.ids.push(t.id);
      sent.push(s);
    });
    bundle.left = sent.length;
    this.#c.sendCommand(["XADD", stream, "*", "m", buf(msg)]).then((sid) => {
      bundle.sid = String(sid);
      let live = 0;
      for (const s of sent) {
        s.sid = bundle.sid;
        if (this.#inflight.get(s.t.id) === s) live++;
      }
      if (live === 0) {
        if (!this.closed) this.#drop(stream, bundle.sid); // all cancelled meanwhile
        return;
      }
      this.#bySid.set(entryKey(stream, bundle.sid), bundle);
      for (const s of sent) {
        const force = this.#cancelling.get(s.t.id);
        if (force !== undefined && this.#inflight.get(s.t.id) === s) this.cancel(s.t, force);
      }
    }, () => {
      // Redis away (restarting?): send again once it is back.
      const again = sent.filter((s) => this.#inflight.get(s.t.id) === s);
      if (again.length === 0 || this.closed) return;
      for (const s of again) this.#inflight.delete(s.t.id);
      setTimeout(() => {
        for (const { t } of again) {
          if (t[STATE] !== 0 || this.closed) continue;
          if (this.#cancelling.has(t.id)) this.#cancelled(t);
          else if (TASK_STREAMS.includes(stream)) this.#markReady(t);
          else this.#send([t], stream, fn);
        }
      }, HOLD_RETRY_MS);
    });
  }

  /** `s` settled or taken back: no longer in flight, nor counted in its entry. */
  #untrack(s: Sent): void {
    this.#inflight.delete(s.t.id);
    this.#cancelling.delete(s.t.id);
    const b = s.bundle;
    if (--b.left === 0 && b.sid) this.#bySid.delete(entryKey(b.stream, b.sid));
  }

  #drop(stream: string, sid: string): void {
    this.#c.sendCommand(["XACK", stream, K.group, sid]).catch(() => {});
    this.#c.sendCommand(["XDEL", stream, sid]).catch(() => {});
  }

  // ---- replies -------------------------------------------------------------------------------

  async #read(): Promise<void> {
    while (!this.closed || this.#collecting) {
      let r: unknown;
      try {
        r = await this.#reader.sendCommand(
          ["XREAD", "COUNT", "1000", "BLOCK", "1000", "STREAMS", this.#replyKey, this.#lastReply],
          this.#bufOpts,
        );
      } catch {
        if (this.closed && !this.#collecting) return;
        await new Promise((res) => setTimeout(res, 100));
        continue;
      }
      const ids: string[] = [];
      for (const [, id, fields] of entries(r)) {
        this.#lastReply = id;
        ids.push(id);
        try {
          this.#onReply(decode(fields[1] as Uint8Array) as unknown[]);
        } catch { /* a reply this driver cannot read: its tasks time out or are re-run */ }
      }
      if (ids.length > 0 && !this.closed) {
        this.#c.sendCommand(["XDEL", this.#replyKey, ...ids]).catch(() => {});
      }
    }
  }

  #onReply(m: unknown[]): void {
    const node = String(m[0]);
    const items = m[1] as unknown[][];
    for (const it of items) {
      const kind = it[0] as number;
      if (kind === R_COLLECTED) {
        this.#onCollected(node, it);
        continue;
      }
      if (kind === R_COLLECT_DONE) {
        this.#collectDone.add(node);
        this.#collectWake?.();
        continue;
      }
      if (kind === R_OBJ || kind === R_OBJ_ERR) {
        this.#onObject(node, it);
        continue;
      }
      if (kind === R_SUBMIT) {
        this.#onSpilled(node, it);
        continue;
      }
      if (kind === R_NESTED_CANCEL) {
        const t = this.#spilled.get(`${node} ${it[1]}`);
        if (t) this.cancel(t, it[2] === true);
        continue;
      }
      this.#ranOn.add(node);
      if (kind === R_ACTOR) {
        const st = this.#actors.get(it[1] as number);
        if (st && st.node === null) {
          st.node = node;
          this.#seenNodes.set(node, nodeName(node));
          this.#actorFlush(st);
        }
        continue;
      }
      const id = it[1] as number;
      const s = this.#inflight.get(id);
      if (!s) continue;
      this.#untrack(s);
      this.#attempts.delete(id);
      const t = s.t;
      if (t[STATE] !== 0) continue;
      const times = it[3];
      if (Array.isArray(times) && times.length === 5) {
        // How long its runs take, for #flush's bundles.
        const dur = (times[4] as number) - (times[3] as number);
        if (dur >= 0) this.#runTimes(t[SPEC].def).add(dur);
      }
      if (t[SLOT] >= 0) this.#recordRun(t, node, it[3], kind !== R_ERR);
      if (kind === R_OK) settle(t, 1, it[2]);
      else if (kind === R_REFS) {
        let v: unknown;
        try {
          v = this.#decodeRefs(it[2], id, `'${t[SPEC].name}' (id ${id})`, node);
        } catch (err) {
          this.#fail(
            t,
            new RayError(
              `Cannot read the result of '${t[SPEC].name}' (id ${id}) from node '${
                nodeName(node)
              }': ${(err as Error).message}`,
            ),
          );
          continue;
        }
        settle(t, 1, v);
      } else this.#fail(t, this.#error(t, it[2] as ErrorInfo, node));
    }
  }

  /**
   * A task submitted from inside a task on a node with no free slot (see `R_SUBMIT`): submitted
   * to the cluster as this driver's own; its outcome goes back to that node's stream.
   */
  #onSpilled(node: string, it: unknown[]): void {
    const [, token, fn, bytes, o] = it as [
      number,
      number,
      Record<string, unknown>,
      unknown,
      Record<string, unknown>,
    ];
    const answer = (msg: Uint8Array) =>
      this.#c.sendCommand(["XADD", K.nodeStream(node), "NOMKSTREAM", "*", "m", buf(msg)])
        .catch(() => {});
    const fail = (e: unknown) =>
      answer(encode([NESTED_RESULT, this.id, token, false, errorInfo(e)]));
    let t: Task;
    try {
      if (
        typeof fn?.k !== "string" || typeof fn.u !== "string" || !fn.u.startsWith("file:") ||
        typeof fn.n !== "string" || typeof fn.s !== "string" || !(bytes instanceof Uint8Array) ||
        typeof o?.numCpus !== "number" || typeof o.maxRetries !== "number"
      ) throw new TypeError("a malformed nested task");
      const args = decode(bytes);
      if (!Array.isArray(args)) throw new TypeError("a nested task's arguments are not an array");
      const def = this.def({ url: fn.u, key: fn.k, name: fn.n, src: fn.s, cls: false });
      const opts: TaskOptions = {
        numCpus: o.numCpus,
        maxRetries: o.maxRetries,
        retryExceptions: o.retryExceptions === true,
        name: typeof o.name === "string" ? o.name : "",
      };
      t = this.submit(def, args, opts, { bytes: bytes.byteLength, refs: false });
    } catch (e) {
      fail(e);
      return;
    }
    const key = `${node} ${token}`;
    this.#spilled.set(key, t);
    whenSettled(t, () => {
      this.#spilled.delete(key);
      if (t[STATE] !== 1) {
        fail(t[VALUE]);
        return;
      }
      const value = t[VALUE];
      const refs: Entry[] = [];
      collectRefs(value, new Set(), (r) => {
        const e = entryOf(r);
        if (e && !refs.includes(e)) refs.push(e);
      });
      if (refs.length === 0) {
        let msg: Uint8Array;
        try {
          msg = encode([NESTED_RESULT, this.id, token, true, value]);
        } catch (e) {
          fail(e);
          return;
        }
        answer(msg);
        return;
      }
      // Refs in it: their objects go to Redis (as for a task's arguments) for the node to read;
      // the value, with the refs as this driver's ids; the refs that failed, with their errors.
      let settled = 0;
      const onRef = () => {
        if (++settled < refs.length) return;
        const ok = refs.filter((e) => e[STATE] === 1);
        const failed = refs.filter((e) => e[STATE] !== 1).map((e) => [e.id, errorInfo(e[VALUE])]);
        Promise.all(ok.map((e) => this.#upload(e))).then(() => {
          // Until the node has read them: the objects' keys go when their refs are collected.
          this.#lend(value);
          answer(encode([
            NESTED_RESULT,
            this.id,
            token,
            true,
            encode(value, refId, "the result"),
            ok.map((e) => e.id),
            failed,
          ]));
        }).catch(fail);
      };
      for (const e of refs) whenSettled(e, onRef);
    });
  }

  /** Keeps `value` (and the refs in it) alive for a minute: a node reads their objects. */
  #lend(value: unknown): void {
    this.#lent.add(value);
    nodeTimers.setTimeout(() => this.#lent.delete(value), 60_000).unref();
  }

  /** What a collector held in one of this driver's workers on a node: to the tool's handler. */
  #onCollected(node: string, it: unknown[]): void {
    const [, name, data, w, kind, label, offsetMs] = it;
    const handler = hooks().collected.get(String(name));
    if (!handler || !Number.isInteger(w)) return;
    const k = kind === "actor" ? "actor" : "pool";
    // Its clock's epoch times onto this driver's: both clocks' offsets to Redis's.
    const shift = Number(offsetMs) - this.#clock.offsetMs;
    try {
      handler(data, {
        id: this.#workerId(node, w as number, k),
        kind: k,
        label: `${nodeName(node)}/${String(label)}`,
        node: nodeName(node),
        ...(Number.isFinite(shift) ? { clockShiftMs: shift } : {}),
      });
    } catch { /* a tool's handler failing must not stop shutdown */ }
  }

  /** The timeline's id of worker `w` of `node`. */
  #workerId(node: string, w: number, kind: "pool" | "actor"): number {
    const key = `${node}#${w}`;
    let id = this.#workerIds.get(key);
    if (id === undefined) {
      const name = nodeName(node);
      id = this.#workerIds.size + 1;
      this.#workerIds.set(key, id);
      this.recorder.workers.push({
        id,
        kind,
        label: `${name} worker ${w}`,
        started: NaN,
        ended: NaN,
        node: name,
      });
    }
    return id;
  }

  /** Puts a task's times as its node measured them on this driver's timeline. */
  #recordRun(t: Task, node: string, times: unknown, ok: boolean): void {
    if (!Array.isArray(times) || times.length !== 5 || !times.every(Number.isFinite)) return;
    const [w, taken, , started, finished] = times as number[];
    const name = nodeName(node);
    const id = this.#workerId(node, w, t[SPEC].actor ? "actor" : "pool");
    const shift = this.#clock.offsetMs + performance.timeOrigin;
    const log = this.recorder.tasks;
    log.dispatched(t[SLOT], taken - shift, id);
    log.ran(t[SLOT], started - shift, finished - shift, 0, ok);
    const info = this.#nodes.get(node);
    const clock = this.recorder.clock ??= {
      method: "offsets from Redis TIME round trips (the shortest of several, its midpoint)",
      errorMs: this.#clock.errorMs,
      nodes: {},
    };
    if (info?.clockErrorMs !== undefined && clock.nodes[name] !== info.clockErrorMs) {
      clock.nodes[name] = info.clockErrorMs;
      clock.errorMs = this.#clock.errorMs + Math.max(...Object.values(clock.nodes));
    }
  }

  #error(t: Task, e: ErrorInfo, node: string): Error {
    const where = `on node '${nodeName(node)}'`;
    switch (e.cls) {
      case "TaskError":
        return new TaskError(t[SPEC].name, t.id, {
          name: e.name,
          message: e.message,
          stack: e.stack,
        });
      case "WorkerCrashedError":
        return new WorkerCrashedError(`${e.message} (${where})`);
      case "ActorDiedError": {
        const err = new ActorDiedError(`${e.message} (${where})`);
        const a = t[SPEC].actor;
        if (a && !a.dead && /constructor threw|was killed/.test(e.message)) a.dead = err;
        return err;
      }
      case "TaskCancelledError":
        return new TaskCancelledError(e.message);
      default:
        return new RayError(`Task '${t[SPEC].name}' (id ${t.id}) failed ${where}: ${e.message}`);
    }
  }

  #fail(t: Task, err: Error): void {
    if (t[SLOT] >= 0) {
      this.recorder.tasks.failed(
        t[SLOT],
        err instanceof TaskCancelledError
          ? S_CANCELLED
          : err instanceof WorkerCrashedError
          ? S_CRASHED
          : S_ERROR,
        `${err.name}: ${err.message}`,
        performance.now(),
      );
    }
    const s = this.#inflight.get(t.id);
    if (s) this.#untrack(s);
    this.#cancelling.delete(t.id);
    this.#attempts.delete(t.id);
    settle(t, 2, err);
  }

  // ---- nodes ---------------------------------------------------------------------------------

  async #refreshNodes(): Promise<void> {
    const nodes = await liveNodes(this.#c);
    this.#nodes = new Map(nodes.map((n) => [n.id, n]));
    let cpus = 0;
    const seen = this.recorder.nodes ??= {};
    for (const n of nodes) {
      cpus += n.numCpus;
      this.#seenNodes.set(n.id, n.name);
      const had = seen[n.name];
      seen[n.name] = { slots: Math.max(had?.slots ?? 0, n.numCpus), runtime: n.runtime };
    }
    this.numCpus = cpus;
    this.recorder.numCpus = cpus;
  }

  /**
   * With workers of its own on the nodes: this driver is alive, for a while. A node retires the
   * workers of a driver whose key expired (it ended without saying so: an exit call, a crash).
   */
  async #alive(): Promise<void> {
    if (!this.#nodeWorkers) return;
    await this.#c.sendCommand(["SET", K.driver(this.id), "1", "PX", String(DRIVER_TTL_MS)]);
  }

  /** Every second: who is alive; tasks and actors of the dead. */
  async #watch(): Promise<void> {
    if (this.closed) return;
    await renewLease(this.#c, this.id, this.#leaseMs);
    await this.#alive();
    await this.#refreshNodes();
    const live = this.#nodes;
    this.#lostObjects(live);
    for (const st of this.#actors.values()) {
      if (st.node !== null && !live.has(st.node) && !st.a.dead) {
        this.#actorDied(
          st,
          new ActorDiedError(
            `Actor '${st.a.name}' (id ${st.a.id}) died: its node '${nodeName(st.node)}' is gone`,
          ),
        );
      }
    }
    if (this.#inflight.size === 0) return;
    for (const stream of TASK_STREAMS) {
      const consumers = await this.#c.sendCommand([
        "XINFO",
        "CONSUMERS",
        stream,
        K.group,
      ]) as unknown[][];
      for (const row of consumers ?? []) {
        const info = pairs(row);
        const name = String(info.name);
        if (Number(info.pending) === 0 || live.has(name)) continue;
        await this.#reclaim(stream, name);
      }
    }
  }

  /** Takes back this driver's tasks on `stream` that a dead node had taken: run again, or fail. */
  async #reclaim(stream: string, consumer: string): Promise<void> {
    const pend = await this.#c.sendCommand([
      "XPENDING",
      stream,
      K.group,
      "-",
      "+",
      "10000",
      consumer,
    ]) as unknown[][];
    const mine: Bundle[] = [];
    for (const p of pend ?? []) {
      const b = this.#bySid.get(entryKey(stream, String(p[0])));
      if (b) mine.push(b);
    }
    if (mine.length === 0) return;
    const sids = mine.map((b) => b.sid);
    await this.#c.sendCommand(["XACK", stream, K.group, ...sids]);
    await this.#c.sendCommand(["XDEL", stream, ...sids]);
    const node = nodeName(consumer);
    for (const b of mine) {
      this.#bySid.delete(entryKey(stream, b.sid));
      for (const id of b.ids) this.#retryLost(id, b, node);
    }
  }

  /** Task `id` of entry `b` was lost with `node`: sent again, per its `maxRetries`, or failed. */
  #retryLost(id: number, b: Bundle, node: string): void {
    const s = this.#inflight.get(id);
    if (!s || s.bundle !== b || s.t[STATE] !== 0) return;
    this.#untrack(s);
    const t = s.t;
    const max = t[SPEC].opts.maxRetries;
    if (max < 0 || s.attempt < max) {
      this.#attempts.set(id, s.attempt + 1);
      if (t[SLOT] >= 0) this.recorder.tasks.retried(t[SLOT]);
      this.#markReady(t);
    } else {
      this.#fail(
        t,
        new WorkerCrashedError(
          `Task '${
            t[SPEC].name
          }' (id ${id}) was lost: node '${node}' died while it had it, and no retry was left (maxRetries: ${max})`,
        ),
      );
    }
  }

  // ---- cancellation --------------------------------------------------------------------------

  cancel(t: Task, force: boolean): void {
    if (t[STATE] !== 0) return;
    const s = this.#inflight.get(t.id);
    if (!s) {
      this.#cancelled(t);
      return;
    }
    const tell = () =>
      this.#c.sendCommand(["PUBLISH", K.ctl, buf(encode([this.id, t.id, force]))]).catch(() => {});
    if (!TASK_STREAMS.includes(s.stream)) {
      tell();
      return;
    }
    this.#cancelling.set(t.id, force);
    if (!s.sid) return; // #send cancels it once its entry has an id
    // Not delivered to any node yet: deleting the entry drops it everywhere (the other tasks of
    // its entry are sent again). Delivered: tell the nodes.
    const b = s.bundle;
    this.#c.sendCommand(["EVAL", CANCEL_SCRIPT, "1", s.stream, K.group, s.sid]).then((dropped) => {
      if (Number(dropped) !== 1) {
        if (t[STATE] === 0) tell();
        return;
      }
      this.#bySid.delete(entryKey(b.stream, b.sid));
      for (const id of b.ids) {
        const o = this.#inflight.get(id);
        if (!o || o.bundle !== b || o.t[STATE] !== 0) continue;
        if (this.#cancelling.has(id)) this.#cancelled(o.t);
        else {
          this.#untrack(o);
          this.#markReady(o.t);
        }
      }
    }, tell);
  }

  #cancelled(t: Task): void {
    this.#fail(
      t,
      new TaskCancelledError(`Task '${t[SPEC].name}' (id ${t.id}) was cancelled before it ran`),
    );
  }

  // ---- actors --------------------------------------------------------------------------------

  createActor(
    def: Def,
    args: unknown[],
    opts: TaskOptions,
    concurrency: number,
    scan: { bytes: number; refs: boolean },
  ): Actor {
    if (this.closed) {
      throw new RuntimeShutdownError("Cannot create an actor as the runtime was shut down");
    }
    const id = this.#nextActorId++;
    const name = def.wire.name || "Actor";
    const a = new Actor(id, name, def, null as never, opts.numCpus);
    this.#actors.set(id, { a, node: null, calls: [], maxConcurrency: concurrency });
    // The constructor goes to any node with a free slot; the node that takes it holds the actor.
    const t = this.submit(
      def,
      args,
      { ...opts, maxRetries: 0, retryExceptions: false },
      scan,
      a,
      null,
    );
    // The constructor went first into the actor's empty list of calls (and may be sent already).
    void t;
    return a;
  }

  actor(id: number): Actor | undefined {
    return this.#actors.get(id)?.a;
  }

  /** Sends an actor's calls in order, stopping at the first whose arguments are pending. */
  #actorFlush(st: ActorState): void {
    while (st.calls.length > 0) {
      const t = st.calls[0];
      if (t[STATE] !== 0) {
        st.calls.shift();
        continue;
      }
      if (!this.#ready.has(t.id)) return;
      const isCtor = t[SPEC].method === null;
      if (!isCtor && st.node === null) return;
      const fn = this.#fnWire(t[SPEC].def);
      if (fn === null) {
        this.#tree(t[SPEC].def.wire.url).then(
          () => this.#actorFlush(st),
          () => this.#actorFlush(st),
        );
        return;
      }
      st.calls.shift();
      this.#ready.delete(t.id);
      if (fn instanceof Error) {
        this.#fail(t, new RayError(`Cannot ship '${t[SPEC].name}' to the cluster: ${fn.message}`));
        continue;
      }
      this.#send([t], isCtor ? K.tasks : K.nodeStream(st.node!), fn);
    }
  }

  #actorDied(st: ActorState, err: Error): void {
    st.a.dead ??= err;
    for (const t of st.calls) this.#fail(t, st.a.dead);
    st.calls = [];
    for (const s of [...this.#inflight.values()]) {
      if (s.t[SPEC].actor === st.a) this.#fail(s.t, st.a.dead);
    }
  }

  kill(a: Actor, reason: string): void {
    const st = this.#actors.get(a.id);
    if (!st) return;
    this.#actorDied(st, new ActorDiedError(`Actor '${a.name}' (id ${a.id}) ${reason}`));
    if (st.node !== null) {
      this.#c.sendCommand([
        "XADD",
        K.nodeStream(st.node),
        "*",
        "m",
        buf(encode(["k", this.id, 0, null, null, [], null, a.id, "", 0])),
      ]).catch(() => {});
    }
  }

  // ---- shutdown ------------------------------------------------------------------------------

  /**
   * Asks every node for what this driver's workers there collected and waits for each live one
   * to send it (bounded): a node that ran tasks of this driver and died, or did not answer in
   * time, is named in a warning to `hooks().onCollectWarning`.
   */
  async #collectFromNodes(): Promise<void> {
    const warn = (message: string) => {
      try {
        hooks().onCollectWarning?.(message);
      } catch { /* a tool's handler failing must not stop shutdown */ }
    };
    const ask = () =>
      this.#c.sendCommand(["PUBLISH", K.ctl, buf(encode([CTL_COLLECT, this.id]))]).catch(() => {});
    const alive = async () => {
      try {
        return new Set((await liveNodes(this.#c)).map((n) => n.id));
      } catch {
        return null; // Redis away: no node is given up for it
      }
    };
    const waiting = new Set([...(await alive() ?? []), ...this.#ranOn]);
    const pending = () => {
      for (const id of this.#collectDone) waiting.delete(id);
      return waiting.size > 0;
    };
    if (!pending()) return;
    await ask();
    const deadline = Date.now() + COLLECT_TIMEOUT_MS;
    let checked = Date.now();
    while (pending() && Date.now() < deadline) {
      await new Promise<void>((res) => {
        const t = setTimeout(res, 250);
        this.#collectWake = () => {
          clearTimeout(t);
          res();
        };
      });
      this.#collectWake = null;
      if (!pending() || Date.now() - checked < 1000) continue;
      checked = Date.now();
      const live = await alive();
      if (live === null) continue;
      for (const id of [...waiting]) {
        if (live.has(id) || this.#collectDone.has(id)) continue;
        waiting.delete(id);
        if (this.#ranOn.has(id)) {
          warn(
            `node '${
              nodeName(id)
            }' is gone: what its workers collected of this run's tasks is missing`,
          );
        }
      }
      // A node that missed the request (reconnecting to Redis) hears it again.
      if (pending()) await ask();
    }
    for (const id of waiting) {
      if (this.#ranOn.has(id)) {
        warn(
          `node '${nodeName(id)}' did not send what its workers collected within ${
            COLLECT_TIMEOUT_MS / 1000
          } s: it is missing`,
        );
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The nodes run this driver's tasks in workers of its own: what they collected comes back
    // on the reply stream, which stays until then.
    const collect = this.#nodeWorkers !== undefined;
    this.#collecting = collect;
    clearInterval(this.#monitor);
    const sids = new Map<string, Set<string>>();
    for (const s of this.#inflight.values()) {
      if (s.sid) {
        const l = sids.get(s.stream) ?? new Set();
        l.add(s.sid);
        sids.set(s.stream, l);
      }
      settle(s.t, 2, shutdownError(s.t));
    }
    for (const t of this.#outbox) settle(t, 2, shutdownError(t));
    for (const r of this.#remote.values()) {
      const e = r.ref.deref();
      if (e) {
        settle(e, 2, new RuntimeShutdownError(`Cannot get ${e} as the runtime was shut down`));
      }
    }
    this.#remote.clear();
    for (const st of this.#actors.values()) {
      for (const t of st.calls) settle(t, 2, shutdownError(t));
      st.calls = [];
      st.a.dead ??= new ActorDiedError(
        `Actor '${st.a.name}' (id ${st.a.id}) is gone: the runtime was shut down`,
      );
    }
    this.#inflight.clear();
    this.#outbox = [];
    const c = this.#c;
    const jobs: Promise<unknown>[] = [];
    for (const [stream, l] of sids) {
      jobs.push(
        c.sendCommand(["XACK", stream, K.group, ...l]),
        c.sendCommand(["XDEL", stream, ...l]),
      );
    }
    for (const st of this.#actors.values()) {
      // Retiring the driver's pool on the node ends its actors too, after their data is taken.
      if (st.node === null || collect) continue;
      jobs.push(c.sendCommand([
        "XADD",
        K.nodeStream(st.node),
        "*",
        "m",
        buf(encode(["k", this.id, 0, null, null, [], null, st.a.id, "", 0])),
      ]));
    }
    if (collect) {
      try {
        await this.#collectFromNodes();
      } finally {
        this.#collecting = false;
      }
    }
    const keys = [this.#replyKey, ...this.#objKeys, ...this.#free, K.lease(this.id)];
    jobs.push(release(c, this.id));
    if (collect) keys.push(K.driver(this.id));
    jobs.push(c.sendCommand(["DEL", ...keys]));
    destroy(this.#reader);
    // Bounded (Redis may be away), and the timer cleared: it would keep the process alive 3 s.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled(jobs),
      new Promise((res) => (timer = setTimeout(res, 3000))),
    ]);
    clearTimeout(timer);
    await this.#readLoop?.catch(() => {});
    destroy(c);
  }
}

/** Deletes a task entry unless a node was given it: 1 when dropped. */
const CANCEL_SCRIPT = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p > 0 then return 0 end
return redis.call('XDEL', KEYS[1], ARGV[2])
`;

/**
 * A function's last 16 run times (ms): their median is what a run takes. A mean was thrown off
 * by the first run in each fresh worker (its module's import): 50 runs of a no-op averaged
 * 0.87 ms, and its tasks were not bundled.
 */
class RunTimes {
  #ring = new Float64Array(16);
  #n = 0;
  #median = -1;

  add(ms: number): void {
    this.#ring[this.#n++ & 15] = ms;
    this.#median = -1;
  }

  /** The median of the last runs, or -1 with none. */
  median(): number {
    if (this.#n === 0) return -1;
    if (this.#median < 0) {
      const xs = this.#ring.slice(0, Math.min(this.#n, 16)).sort();
      this.#median = xs[xs.length >> 1];
    }
    return this.#median;
  }
}

/** Tasks of a function whose runs take under this (median, ms) go several to an entry. */
const BUNDLE_BELOW_MS = 1;
/** Tasks in one entry, at most. */
const BUNDLE_MAX = 32;

/**
 * How many of `n` ready tasks of a function whose runs take `runMs` go in one entry: at most
 * ≈1 ms of work, and no fewer than 4 entries for each of the `nodes`, so that all take a share.
 * An entry costs Redis, the driver and the node that takes it about as much as the no-op task it
 * carries, so 20,000 short tasks sent one to an entry spend most of their time on the entries.
 */
export function bundleSize(runMs: number, n: number, nodes: number): number {
  const byWork = Math.floor(1 / Math.max(runMs, 0.02));
  const bySpread = Math.floor(n / (4 * Math.max(1, nodes)));
  return Math.max(1, Math.min(BUNDLE_MAX, byWork, bySpread));
}

const PUT_OPTIONS: TaskOptions = { numCpus: 0, maxRetries: 0, retryExceptions: false, name: "put" };

function refId(v: object): number | undefined {
  return v instanceof ObjectRef ? v.id : undefined;
}

function shutdownError(t: Task): Error {
  return new RuntimeShutdownError(
    `Cannot complete '${t[SPEC].name}' (id ${t.id}) as the runtime was shut down`,
  );
}

/** A node's name from its id ("name@suffix"). */
export function nodeName(id: string): string {
  const at = id.lastIndexOf("@");
  return at > 0 ? id.slice(0, at) : id;
}

function collectRefs(v: unknown, seen: Set<object>, f: (r: ObjectRef<unknown>) => void): void {
  if (typeof v !== "object" || v === null || seen.has(v)) return;
  seen.add(v);
  if (v instanceof ObjectRef) {
    f(v);
    return;
  }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
  if (Array.isArray(v)) { for (const x of v) collectRefs(x, seen, f); }
  else if (v instanceof Map) {
    for (const [k, x] of v) {
      collectRefs(k, seen, f);
      collectRefs(x, seen, f);
    }
  } else if (v instanceof Set) { for (const x of v) collectRefs(x, seen, f); }
  else for (const k of Object.keys(v)) collectRefs((v as Record<string, unknown>)[k], seen, f);
}
