/**
 * The Ray-style API: `init`, `remote`, `get`, `wait`, `put`, `cancel`, `kill`, `shutdown`.
 *
 * The same functions work on the driver and inside tasks (nested tasks): inside a worker they send
 * requests to the driver, which owns the scheduler.
 *
 * @module
 */
import { totalmem } from "node:os";
import { callerFrame, captureCallsite, hardwareConcurrency } from "./_platform.ts";
import { siteKey, workerContext } from "./_context.ts";
import { FLAG_REFS, type FnDef } from "./_protocol.ts";
import { ACTOR_TAG, type Scan, scanValue } from "./_wire.ts";
import { GetTimeoutError, RayError, RuntimeShutdownError } from "./errors.ts";
import { hooks } from "./hooks.ts";
import { type Entry, entryOf, ObjectRef } from "./object_ref.ts";
import { type Actor, type Def, Pool, Task, type TaskOptions } from "./pool.ts";
import {
  addTaskId,
  emptyRecording,
  type Recorder,
  type RecorderOptions,
  type Recording,
  type SpanEntry,
} from "./recorder.ts";

export { ObjectRef } from "./object_ref.ts";

// ---- state ---------------------------------------------------------------------------------

interface State {
  pool: Pool | null;
  gen: number;
  wasShutdown: boolean;
  /** Recorder of the last pool, so a timeline can be taken after shutdown. */
  lastRecorder: Recorder | null;
  /** Remote functions defined on the driver, taught to new pools' workers ahead of use. */
  wires: Omit<FnDef, "fid">[];
}

const STATE = Symbol.for("rayprof.state");

function state(): State {
  const g = globalThis as typeof globalThis & { [STATE]?: State };
  return g[STATE] ??= { pool: null, gen: 0, wasShutdown: false, lastRecorder: null, wires: [] };
}

function pool(what: string): Pool {
  const s = state();
  if (s.pool) return s.pool;
  if (s.wasShutdown) {
    throw new RuntimeShutdownError(
      `Cannot ${what} as the runtime was shut down: call init() to start it again`,
    );
  }
  init();
  return s.pool!;
}

// ---- init / shutdown -----------------------------------------------------------------------

/** Options for {@linkcode init}. */
export interface InitOptions {
  /**
   * Slots of the pool: how many tasks (of `numCpus: 1`) run at once, one worker each.
   * @default {navigator.hardwareConcurrency}
   */
  numCpus?: number;
  /**
   * Do nothing, instead of throwing, when the runtime is already running.
   * @default {false}
   */
  ignoreReinitError?: boolean;
  /** Task recording for timelines and diagnostics. */
  recording?: RecorderOptions;
  /**
   * Memory monitor: when the process's resident memory passes this many MB, the worker running
   * the most recently dispatched task is ended (its task fails with WorkerCrashedError, or is
   * retried). 0 turns the monitor off.
   * @default {90% of the machine's memory, at most 3072}
   */
  memoryLimitMb?: number;
}

const INIT_KEYS = new Set(["numCpus", "ignoreReinitError", "recording", "memoryLimitMb"]);

function checkKeys(what: string, options: object, allowed: Set<string>): void {
  for (const k of Object.keys(options)) {
    if (!allowed.has(k)) {
      throw new TypeError(
        `Cannot ${what} as '${k}' is not a known option: expected one of ${
          [...allowed].join(", ")
        }`,
      );
    }
  }
}

function describe(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function checkCount(what: string, name: string, v: unknown, min: number): number {
  if (typeof v !== "number") {
    throw new TypeError(
      `Cannot ${what} as '${name}' must be a number: received ${typeof v} ${describe(v)}`,
    );
  }
  if (!Number.isInteger(v) || v < min) {
    const kind = min === 1
      ? "a positive integer"
      : min === 0
      ? "a non-negative integer"
      : `an integer >= ${min}`;
    throw new RangeError(`Cannot ${what} as '${name}' must be ${kind}: received ${describe(v)}`);
  }
  return v;
}

/**
 * Starts the pool of workers. Called lazily by the first `.remote()` if you do not call it.
 *
 * @param options Pool size and recording.
 * @throws {RayError} If the runtime is already running, unless `ignoreReinitError` is set.
 * @throws {RangeError} If `numCpus` is not a positive integer.
 *
 * @example Start four slots
 * ```ts ignore
 * import * as ray from "./mod.ts";
 * ray.init({ numCpus: 4 });
 * ```
 */
export function init(options: InitOptions = {}): void {
  if (workerContext()) return; // a module imported by a worker: the driver owns the pool
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot init as 'options' must be an object: received ${describe(options)}`,
    );
  }
  checkKeys("init", options, INIT_KEYS);
  const s = state();
  if (s.pool) {
    if (options.ignoreReinitError) return;
    throw new RayError(
      "Cannot init as the runtime is already running: call shutdown() first, or pass ignoreReinitError: true",
    );
  }
  const numCpus = options.numCpus === undefined
    ? hardwareConcurrency()
    : checkCount("init", "numCpus", options.numCpus, 1);
  const memoryLimitMb = options.memoryLimitMb === undefined
    ? Math.min(3072, Math.floor(totalmem() / 1024 / 1024 * 0.9))
    : checkCount("init", "memoryLimitMb", options.memoryLimitMb, 0);
  s.gen++;
  s.pool = new Pool({ numCpus, recording: options.recording ?? {}, memoryLimitMb }, s.gen);
  // recording() now reads the new pool's records: the old ones are gone, their memory is reused.
  if (s.lastRecorder) s.pool.recorder.tasks.takeChunks(s.lastRecorder.tasks);
  s.lastRecorder = null;
  s.wasShutdown = false;
  for (const w of s.wires) s.pool.def(w);
  s.pool.actorHandleFor = (tag) => {
    const a = s.pool?.actor(tag[ACTOR_TAG] as number);
    return a ? actorHandle(a.id, a.name, tag.methods as string[]) : tag;
  };
}

/** True while the runtime is running (on the driver). */
export function isInitialized(): boolean {
  return state().pool !== null;
}

/**
 * Ends all workers. Pending refs reject with {@linkcode RuntimeShutdownError}; later use of old
 * refs or remote functions throws until `init()` is called again. Safe to call twice. Resolves when
 * workers have handed over tool data (profiler figures) and were terminated.
 */
export function shutdown(): Promise<void> {
  if (workerContext()) return Promise.resolve();
  const s = state();
  const p = s.pool;
  if (!p) return Promise.resolve();
  s.pool = null;
  s.wasShutdown = true;
  s.lastRecorder = p.recorder;
  return p.close();
}

/** Figures of the running pool, for tools. */
export interface RuntimeInfo {
  numCpus: number;
  /** Worker threads alive (pool and actors). */
  workers: number;
  /** Tasks waiting for a slot. */
  queued: number;
}

/** Returns figures of the running pool, or undefined when it is not running. */
export function runtimeInfo(): RuntimeInfo | undefined {
  const p = state().pool;
  return p ? { numCpus: p.numCpus, workers: p.liveWorkers, queued: p.queueSize } : undefined;
}

/** Options for {@linkcode recording}. */
export interface RecordingOptions {
  /** Only tasks submitted, and spans started, at or after this time (ms, performance.now()). */
  since?: number;
}

/** A snapshot of the task recording of the running (or last) runtime. */
export function recording(options: RecordingOptions = {}): Recording {
  const s = state();
  const r = s.pool?.recorder ?? s.lastRecorder;
  if (!r) return emptyRecording();
  return r.snapshot(options.since);
}

/** Forgets recorded tasks and spans (workers alive stay listed). */
export function clearRecording(): void {
  const s = state();
  (s.pool?.recorder ?? s.lastRecorder)?.clear();
}

// ---- remote functions ----------------------------------------------------------------------

/** Options of a remote function. */
export interface RemoteOptions {
  /**
   * Slots one task of this function holds while it runs.
   * @default {1}
   */
  numCpus?: number;
  /**
   * Times a task is run again when its worker dies (-1: no limit).
   * @default {3}
   */
  maxRetries?: number;
  /**
   * Also retry when the task throws: `true` for any error, or a list of error classes.
   * @default {false}
   */
  retryExceptions?: boolean | (abstract new (...args: never[]) => unknown)[];
  /** Name shown in timelines and errors. @default {the function's name} */
  name?: string;
}

/** Options of an actor class. */
export interface ActorOptions {
  /**
   * Calls that may run at once on an async actor.
   * @default {1}
   */
  maxConcurrency?: number;
  /**
   * Pool slots the actor holds while alive (actors have their own worker).
   * @default {0}
   */
  numCpus?: number;
  /** Name shown in timelines and errors. @default {the class name} */
  name?: string;
}

/** An argument: the value itself or a reference to it. */
export type RemoteArg<T> = T | ObjectRef<T>;
/** Arguments of `.remote()`: each may be a value or a reference to one. */
export type RemoteArgs<A extends readonly unknown[]> = { [K in keyof A]: RemoteArg<A[K]> };

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => unknown;
// deno-lint-ignore no-explicit-any
type AnyClass = abstract new (...args: any[]) => any;

/** A function that runs as tasks in workers. */
export interface RemoteFunction<F extends AnyFn> {
  /** Submits a task; returns a reference to its result at once. */
  remote(...args: RemoteArgs<Parameters<F>>): ObjectRef<Awaited<ReturnType<F>>>;
  /** The same function with other options. */
  options(options: RemoteOptions): RemoteFunction<F>;
  /** Name shown in timelines. */
  readonly name: string;
}

/** A method of an actor handle. */
export interface ActorMethod<A extends unknown[], R> {
  /** Calls the method in the actor's worker; calls run in submission order. */
  remote(...args: RemoteArgs<A>): ObjectRef<Awaited<R>>;
}

/** A handle to an actor: its methods, each with `.remote()`. */
export type ActorHandle<T> =
  & {
    readonly [
      // deno-lint-ignore no-explicit-any
      K in keyof T as T[K] extends (...args: any[]) => any ? K : never
    ]: T[K] extends (...args: infer A) => infer R ? ActorMethod<A, R> : never;
  }
  & { readonly [ACTOR_TAG]: number };

/** A class whose instances live in their own worker. */
export interface ActorClass<C extends AnyClass> {
  /** Creates an actor; returns its handle at once. */
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>>;
  /** The same class with other options. */
  options(options: ActorOptions): ActorClass<C>;
  readonly name: string;
}

const REMOTE_KEYS = new Set(["numCpus", "maxRetries", "retryExceptions", "name"]);
const ACTOR_KEYS = new Set(["maxConcurrency", "numCpus", "name"]);

function taskOptions(what: string, base: TaskOptions, o: RemoteOptions): TaskOptions {
  if (typeof o !== "object" || o === null) {
    throw new TypeError(`Cannot ${what} as 'options' must be an object: received ${describe(o)}`);
  }
  checkKeys(what, o, REMOTE_KEYS);
  const out = { ...base };
  if (o.numCpus !== undefined) out.numCpus = checkCount(what, "numCpus", o.numCpus, 1);
  if (o.maxRetries !== undefined) out.maxRetries = checkCount(what, "maxRetries", o.maxRetries, -1);
  if (o.retryExceptions !== undefined) {
    const r = o.retryExceptions;
    if (typeof r !== "boolean" && !(Array.isArray(r) && r.every((c) => typeof c === "function"))) {
      throw new TypeError(
        `Cannot ${what} as 'retryExceptions' must be a boolean or an array of error classes: received ${
          describe(r)
        }`,
      );
    }
    out.retryExceptions = r;
  }
  if (o.name !== undefined) out.name = checkName(what, o.name);
  return out;
}

function checkName(what: string, name: unknown): string {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot ${what} as 'name' must be a non-empty string: received ${describe(name)}`,
    );
  }
  return name;
}

function isClass(f: unknown): boolean {
  return typeof f === "function" && /^class[\s{]/.test(Function.prototype.toString.call(f));
}

/** Where `remote()` was called, and the definition the workers need. */
function definition(f: AnyFn | AnyClass, name: string, cls: boolean): Omit<FnDef, "fid"> {
  const site = callerFrame();
  const url = site?.url ?? "unknown:";
  const key = site ? siteKey(url, site.line, site.column) : "0:0#0";
  const ctx = workerContext();
  if (ctx && ctx.importing.size !== 0) ctx.registry.set(`${url}#${key}`, f);
  let src: string;
  try {
    src = Function.prototype.toString.call(f);
  } catch {
    src = "";
  }
  if (!site && /\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    throw new TypeError(
      `Cannot make '${name}' remote as it is a native or bound function with no module to load it from: wrap it in a function defined at the top level of a module`,
    );
  }
  return { url, key, name, src, cls };
}

function scanArgs(what: string, args: unknown[], gen: number | null): Scan {
  const scan: Scan = { bytes: 0, refs: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof ObjectRef) {
      scan.bytes += 16;
      if (gen !== null) {
        const e = entryOf(a);
        if (e && e.gen !== gen) {
          throw new RuntimeShutdownError(
            `Cannot ${what} with ${a} (argument ${
              i + 1
            }) as it belongs to a runtime that was shut down`,
          );
        }
      }
      continue;
    }
    const t = typeof a;
    if (t === "number" || t === "string" || t === "boolean" || a == null) {
      scan.bytes += t === "string" ? (a as string).length : 8;
      continue;
    }
    try {
      scanValue(a, `argument ${i + 1}`, scan);
    } catch (e) {
      if (e instanceof TypeError) throw new TypeError(`Cannot ${what} as ${e.message}`);
      throw e;
    }
  }
  return scan;
}

class RemoteFunctionImpl<F extends AnyFn> implements RemoteFunction<F> {
  #def: Def | null = null;
  #defGen = -1;
  readonly #wire: Omit<FnDef, "fid">;
  readonly #opts: TaskOptions;
  readonly #what: string;

  constructor(wire: Omit<FnDef, "fid">, opts: TaskOptions) {
    this.#wire = wire;
    this.#opts = opts;
    this.#what = `submit '${opts.name}'`;
  }

  get name(): string {
    return this.#opts.name;
  }

  options(options: RemoteOptions): RemoteFunction<F> {
    return new RemoteFunctionImpl(
      this.#wire,
      taskOptions(`set options of '${this.name}'`, this.#opts, options),
    );
  }

  remote(...args: RemoteArgs<Parameters<F>>): ObjectRef<Awaited<ReturnType<F>>> {
    const ctx = workerContext();
    if (ctx) {
      return submitFromWorker(this.#what, this.#wire, this.#opts, args) as ObjectRef<
        Awaited<ReturnType<F>>
      >;
    }
    const p = pool(this.#what);
    const scan = scanArgs(this.#what, args, p.gen);
    if (this.#defGen !== p.gen) {
      this.#def = p.def(this.#wire);
      this.#defGen = p.gen;
    }
    const t = p.submit(this.#def!, args, this.#opts, scan);
    return new ObjectRef(t.id, t);
  }

  toString(): string {
    return `RemoteFunction(${this.name})`;
  }
}

function submitFromWorker(
  what: string,
  wire: Omit<FnDef, "fid">,
  opts: TaskOptions,
  args: unknown[],
  actor?: number,
  method?: string,
): ObjectRef<unknown> {
  const ctx = workerContext()!;
  // A module that submits tasks from its top level while a worker imports it to find a function
  // would start its whole program again in every worker. Only the module's own top-level code is
  // refused: a running task may submit while the worker imports some other module.
  if (ctx.importing.size !== 0) {
    const url = callerFrame()?.url;
    if (url !== undefined && ctx.importing.has(url)) {
      throw new RayError(
        `Cannot ${what} while a worker imports ${url} to find a remote function: guard the script's entry point with \`if (import.meta.main) { ... }\``,
      );
    }
  }
  const scan = scanArgs(what, args, null);
  const id = ctx.nextId();
  ctx.post({
    t: "submit",
    id,
    def: wire,
    args,
    flags: scan.refs ? FLAG_REFS : 0,
    opts: opts as unknown as Record<string, unknown>,
    parent: ctx.currentTask,
    actor,
    method,
  });
  ctx.refsMade++;
  return new ObjectRef(id);
}

const DEFAULT_TASK: TaskOptions = { numCpus: 1, maxRetries: 3, retryExceptions: false, name: "" };

/**
 * Makes a function run as tasks in workers, or a class run as actors.
 *
 * Define remote functions at the top level of a module: a worker imports that module to find the
 * function (guard your script's entry point with `if (import.meta.main)`). A self-contained
 * function with no module file behind it (eval, REPL) is sent as source text.
 *
 * @example A remote function
 * ```ts ignore
 * import * as ray from "./mod.ts";
 * const square = ray.remote(function square(x: number) { return x * x; });
 * const refs = [1, 2, 3].map((x) => square.remote(x));
 * console.log(await ray.get(refs)); // [1, 4, 9]
 * ```
 */
export function remote<C extends AnyClass>(cls: C, options?: ActorOptions): ActorClass<C>;
export function remote<F extends AnyFn>(fn: F, options?: RemoteOptions): RemoteFunction<F>;
export function remote(
  f: AnyFn | AnyClass,
  options: RemoteOptions | ActorOptions = {},
): RemoteFunction<AnyFn> | ActorClass<AnyClass> {
  if (typeof f !== "function") {
    throw new TypeError(
      `Cannot make a remote function as 'fn' must be a function or a class: received ${typeof f} ${
        describe(f)
      }`,
    );
  }
  const name = (options as { name?: string }).name ?? (f.name || "anonymous");
  if (isClass(f)) {
    const opts = actorOptions(
      `make actor class '${name}'`,
      { maxConcurrency: 1, numCpus: 0, name },
      options as ActorOptions,
    );
    return new ActorClassImpl(definition(f, f.name || name, true), opts, f as AnyClass);
  }
  const opts = taskOptions(
    `make '${name}' remote`,
    { ...DEFAULT_TASK, name },
    options as RemoteOptions,
  );
  const wire = definition(f, f.name || name, false);
  if (!workerContext()) {
    const s = state();
    s.wires.push(wire);
    s.pool?.def(wire);
  }
  return new RemoteFunctionImpl(wire, opts);
}

// ---- actors --------------------------------------------------------------------------------

interface ActorOpts {
  maxConcurrency: number;
  numCpus: number;
  name: string;
}

function actorOptions(what: string, base: ActorOpts, o: ActorOptions): ActorOpts {
  if (typeof o !== "object" || o === null) {
    throw new TypeError(`Cannot ${what} as 'options' must be an object: received ${describe(o)}`);
  }
  checkKeys(what, o, ACTOR_KEYS);
  const out = { ...base };
  if (o.maxConcurrency !== undefined) {
    out.maxConcurrency = checkCount(what, "maxConcurrency", o.maxConcurrency, 1);
  }
  if (o.numCpus !== undefined) out.numCpus = checkCount(what, "numCpus", o.numCpus, 0);
  if (o.name !== undefined) out.name = checkName(what, o.name);
  return out;
}

function methodNames(cls: AnyClass): string[] {
  const names = new Set<string>();
  for (let p = cls.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      if (k === "constructor") continue;
      const d = Object.getOwnPropertyDescriptor(p, k);
      if (d && typeof d.value === "function") names.add(k);
    }
  }
  return [...names];
}

const ACTOR_CALL: TaskOptions = { numCpus: 0, maxRetries: 0, retryExceptions: false, name: "" };

function actorHandle(id: number, name: string, methods: string[]): Record<string, unknown> {
  const h: Record<string, unknown> = {};
  Object.defineProperty(h, ACTOR_TAG, { value: id, enumerable: true });
  Object.defineProperty(h, "methods", { value: methods, enumerable: true });
  Object.defineProperty(h, "name", { value: name, enumerable: true });
  for (const m of methods) {
    const what = `call '${name}.${m}'`;
    const stub = {
      remote: (...args: unknown[]): ObjectRef<unknown> => {
        if (workerContext()) {
          return submitFromWorker(
            what,
            { url: "", key: "", name: m, src: "", cls: false },
            ACTOR_CALL,
            args,
            id,
            m,
          );
        }
        const p = pool(what);
        const a = p.actor(id);
        if (!a) throw new RuntimeShutdownError(`Cannot ${what} as its runtime was shut down`);
        const scan = scanArgs(what, args, p.gen);
        const t = p.submit(a.def, args, ACTOR_CALL, scan, a, m);
        return new ObjectRef(t.id, t);
      },
    };
    Object.defineProperty(h, m, { value: stub, enumerable: false });
  }
  const label = `ActorHandle(${name}#${id})`;
  Object.defineProperty(h, Symbol.for("Deno.customInspect"), { value: () => label });
  Object.defineProperty(h, Symbol.for("nodejs.util.inspect.custom"), { value: () => label });
  return h;
}

// Lets the worker entry rebuild handles that were sent into a task.
(globalThis as Record<symbol, unknown>)[Symbol.for("rayprof.actorHandle")] = (
  tag: Record<string, unknown>,
) => actorHandle(tag[ACTOR_TAG] as number, tag.name as string, tag.methods as string[]);

class ActorClassImpl<C extends AnyClass> implements ActorClass<C> {
  readonly #wire: Omit<FnDef, "fid">;
  readonly #opts: ActorOpts;
  readonly #cls: C;
  readonly #methods: string[];

  constructor(wire: Omit<FnDef, "fid">, opts: ActorOpts, cls: C) {
    this.#wire = wire;
    this.#opts = opts;
    this.#cls = cls;
    this.#methods = methodNames(cls);
  }

  get name(): string {
    return this.#opts.name;
  }

  options(options: ActorOptions): ActorClass<C> {
    return new ActorClassImpl(
      this.#wire,
      actorOptions(`set options of '${this.name}'`, this.#opts, options),
      this.#cls,
    );
  }

  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>> {
    const what = `create actor '${this.name}'`;
    if (workerContext()) {
      throw new RayError(
        `Cannot ${what} inside a task: create actors on the driver and pass their handles`,
      );
    }
    const p = pool(what);
    const scan = scanArgs(what, args, p.gen);
    const def = p.def(this.#wire);
    const a = p.createActor(
      def,
      args,
      { ...ACTOR_CALL, numCpus: this.#opts.numCpus, name: this.name },
      this.#opts.maxConcurrency,
      scan,
    );
    actorNames.set(a, this.name);
    return actorHandle(a.id, this.name, this.#methods) as ActorHandle<InstanceType<C>>;
  }
}

const actorNames = new WeakMap<Actor, string>();

/**
 * Ends an actor: its worker is terminated, pending and later calls reject with ActorDiedError.
 *
 * @throws {TypeError} If `handle` is not an actor handle.
 */
export function kill(handle: unknown): void {
  const id = typeof handle === "object" && handle !== null
    ? (handle as Record<string, unknown>)[ACTOR_TAG]
    : undefined;
  if (typeof id !== "number") {
    throw new TypeError(
      `Cannot kill as 'handle' must be an actor handle: received ${describe(handle)}`,
    );
  }
  if (workerContext()) {
    throw new RayError("Cannot kill an actor inside a task: kill it on the driver");
  }
  const p = state().pool;
  const a = p?.actor(id);
  if (a) p!.kill(a, "was killed");
}

// ---- get / wait / put / cancel -------------------------------------------------------------

/** Options for {@linkcode get}. */
export interface GetOptions {
  /** Milliseconds to wait before rejecting with GetTimeoutError. @default {no limit} */
  timeout?: number | null;
}

/** Options for {@linkcode wait}. */
export interface WaitOptions {
  /**
   * How many refs must be ready.
   * @default {1}
   */
  numReturns?: number;
  /** Milliseconds to wait at most; then returns what is ready. @default {no limit} */
  timeout?: number | null;
}

type Values<R extends readonly ObjectRef<unknown>[]> = {
  -readonly [K in keyof R]: R[K] extends ObjectRef<infer T> ? T : never;
};

function checkTimeout(what: string, t: unknown): number | null {
  if (t === undefined || t === null) return null;
  if (typeof t !== "number" || Number.isNaN(t) || t < 0) {
    throw new RangeError(
      `Cannot ${what} as 'timeout' must be a non-negative number of milliseconds: received ${
        describe(t)
      }`,
    );
  }
  return Number.isFinite(t) ? t : null;
}

/**
 * The entries of `refs`, each marked as awaited. With recording on, `runs` also gets their task ids
 * (for the blocked span, see `blockedSpan`): read here, while each entry is at hand, rather than
 * in a second pass over all of them.
 */
function entriesOf(what: string, refs: readonly unknown[], runs: number[] | null): Entry[] {
  const s = state();
  const out: Entry[] = new Array(refs.length);
  try {
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i];
      if (!(r instanceof ObjectRef)) {
        throw new TypeError(
          `Cannot ${what} as item ${i} is not an ObjectRef: received ${describe(r)}`,
        );
      }
      const e = entryOf(r);
      if (!e || s.pool === null || e.gen !== s.pool.gen) {
        throw new RuntimeShutdownError(
          `Cannot ${what} ${r} as the runtime it belongs to was shut down`,
        );
      }
      // With recording on, the ids of the recorded tasks (the blocked span's) mark them awaited,
      // all at once. Read from the entry: `instanceof Task` cost ≈80 ns a ref in Deno (profile).
      if (runs === null) s.pool.markAwaited(e);
      else if (e.slot >= 0) addTaskId(runs, e.id);
      out[i] = e;
    }
  } finally {
    if (runs !== null && runs.length !== 0) s.pool?.recorder.tasks.awaitedIds(runs);
  }
  return out;
}

/** Task ids for a blocked span when recording is on, else null. */
function spanRuns(): number[] | null {
  const p = state().pool;
  return p !== null && p.recorder.enabled ? [] : null;
}

/** Starts a blocked span over the task ids in `runs` (from `entriesOf`); returns its end. */
function blockedSpan(kind: "get" | "wait", runs: number[] | null): () => void {
  const p = state().pool;
  if (!p || runs === null) return () => {};
  const start = performance.now();
  const callsite = hooks().captureCallsites ? captureCallsite() : undefined;
  return () => {
    const span: SpanEntry = { kind, start, end: performance.now(), runs };
    if (callsite) span.callsite = callsite;
    p.recorder.spans.push(span);
  };
}

/**
 * Waits for the value of one ref, or of each ref of an array (in order).
 *
 * @throws {TaskError} If a task threw (its remote stack is kept).
 * @throws {GetTimeoutError} If `timeout` ms passed first.
 * @throws {WorkerCrashedError} If the worker died and no retry was left.
 * @throws {TaskCancelledError} If the task was cancelled.
 */
export function get<T>(ref: ObjectRef<T>, options?: GetOptions): Promise<T>;
export function get<const R extends readonly ObjectRef<unknown>[]>(
  refs: R,
  options?: GetOptions,
): Promise<Values<R>>;
export function get(refs: unknown, options: GetOptions = {}): Promise<unknown> {
  const single = !Array.isArray(refs);
  const list = single ? [refs] : refs as unknown[];
  if (single && !(refs instanceof ObjectRef)) {
    return Promise.reject(
      new TypeError(
        `Cannot get as 'refs' must be an ObjectRef or an array of ObjectRefs: received ${
          describe(refs)
        }`,
      ),
    );
  }
  let timeout: number | null;
  try {
    timeout = checkTimeout("get", options?.timeout);
  } catch (e) {
    return Promise.reject(e);
  }
  const ctx = workerContext();
  if (ctx) {
    for (const r of list) {
      if (!(r instanceof ObjectRef)) {
        return Promise.reject(
          new TypeError(`Cannot get as an item is not an ObjectRef: received ${describe(r)}`),
        );
      }
    }
    return ctx.request(list.map((r) => (r as ObjectRef<unknown>).id), timeout, null).then((vs) =>
      single ? (vs as unknown[])[0] : vs
    );
  }
  let entries: Entry[];
  const runs = spanRuns();
  try {
    entries = entriesOf("get", list, runs);
  } catch (e) {
    return Promise.reject(e);
  }
  let pending = 0;
  for (const e of entries) {
    if (e.state === 2) return Promise.reject(e.value);
    if (e.state === 0) pending++;
  }
  if (pending === 0) {
    return Promise.resolve(single ? entries[0].value : entries.map((e) => e.value));
  }
  const endSpan = blockedSpan("get", runs);
  return new Promise((resolve, reject) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      endSpan();
    };
    const onSettled = (e: Entry) => {
      if (done) return;
      if (e.state === 2) {
        finish();
        reject(e.value);
      } else if (--pending === 0) {
        finish();
        resolve(single ? entries[0].value : entries.map((x) => x.value));
      }
    };
    for (const e of entries) if (e.state === 0) e.onSettled(onSettled);
    if (timeout !== null && !done) {
      timer = setTimeout(() => {
        if (done) return;
        finish();
        reject(
          new GetTimeoutError(
            `Cannot get ${
              entries.length === 1 ? "the object" : `${entries.length} objects`
            } within ${timeout} ms: ${pending} not ready`,
          ),
        );
      }, timeout);
    }
  });
}

/**
 * Waits until `numReturns` of `refs` are ready (or `timeout` ms pass), and returns
 * `[ready, notReady]`, both in input order.
 *
 * @throws {RangeError} If `numReturns` is not between 1 and `refs.length`.
 */
export function wait<T>(
  refs: readonly ObjectRef<T>[],
  options: WaitOptions = {},
): Promise<[ObjectRef<T>[], ObjectRef<T>[]]> {
  if (!Array.isArray(refs)) {
    return Promise.reject(
      new TypeError(
        `Cannot wait as 'refs' must be an array of ObjectRefs: received ${describe(refs)}`,
      ),
    );
  }
  let timeout: number | null;
  let numReturns: number;
  try {
    timeout = checkTimeout("wait", options.timeout);
    numReturns = options.numReturns ?? 1;
    if (
      typeof numReturns !== "number" || !Number.isInteger(numReturns) || numReturns < 1 ||
      (numReturns > refs.length && refs.length > 0)
    ) {
      throw new RangeError(
        `Cannot wait as 'numReturns' must be an integer from 1 to ${refs.length} (the number of refs): received ${
          describe(numReturns)
        }`,
      );
    }
  } catch (e) {
    return Promise.reject(e);
  }
  if (refs.length === 0) return Promise.resolve([[], []]);
  const split = (readyFlags: boolean[]): [ObjectRef<T>[], ObjectRef<T>[]] => {
    const ready: ObjectRef<T>[] = [];
    const notReady: ObjectRef<T>[] = [];
    refs.forEach((r, i) => (readyFlags[i] ? ready : notReady).push(r));
    return [ready, notReady];
  };
  const ctx = workerContext();
  if (ctx) {
    return ctx.request(refs.map((r) => r.id), timeout, numReturns).then((f) =>
      split(f as boolean[])
    );
  }
  let entries: Entry[];
  const runs = spanRuns();
  try {
    entries = entriesOf("wait on", refs, runs);
  } catch (e) {
    return Promise.reject(e);
  }
  let ready = 0;
  for (const e of entries) if (e.state !== 0) ready++;
  const flags = () => entries.map((e) => e.state !== 0);
  if (ready >= numReturns || timeout === 0) return Promise.resolve(split(flags()));
  const endSpan = blockedSpan("wait", runs);
  return new Promise((resolve) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      endSpan();
      resolve(split(flags()));
    };
    const onSettled = () => {
      if (!done && ++ready >= numReturns) finish();
    };
    for (const e of entries) if (e.state === 0) e.onSettled(onSettled);
    if (timeout !== null) timer = setTimeout(finish, timeout);
  });
}

/**
 * Stores a value in the object store and returns a reference to it, to pass to many tasks
 * without copying it into each `.remote()` call.
 *
 * @throws {TypeError} If the value cannot be sent to a worker (a function, a symbol...).
 */
export function put<T>(value: T): ObjectRef<T> {
  if (value instanceof ObjectRef) {
    throw new TypeError("Cannot put an ObjectRef: pass the ref itself instead");
  }
  const scan: Scan = { bytes: 0, refs: false };
  try {
    scanValue(value, "value", scan);
  } catch (e) {
    if (e instanceof TypeError) throw new TypeError(`Cannot put as ${e.message}`);
    throw e;
  }
  const ctx = workerContext();
  if (ctx) {
    const id = ctx.nextId();
    ctx.post({ t: "put", id, value });
    ctx.refsMade++;
    return new ObjectRef<T>(id);
  }
  const p = pool("put a value");
  const e = p.put(value);
  return new ObjectRef<T>(e.id, e);
}

/** Options for {@linkcode cancel}. */
export interface CancelOptions {
  /**
   * Also stop a task that is already running, by terminating its worker (the pool replaces it).
   * @default {false}
   */
  force?: boolean;
}

/**
 * Cancels a task. A task that has not started is dropped; `get` on it rejects with
 * TaskCancelledError. A running task is only stopped with `force`.
 */
export function cancel(ref: ObjectRef<unknown>, options: CancelOptions = {}): void {
  if (!(ref instanceof ObjectRef)) {
    throw new TypeError(`Cannot cancel as 'ref' must be an ObjectRef: received ${describe(ref)}`);
  }
  const force = options.force ?? false;
  const ctx = workerContext();
  if (ctx) {
    ctx.post({ t: "cancel", id: ref.id, force });
    return;
  }
  const e = entryOf(ref);
  const p = state().pool;
  if (!e || !p || e.gen !== p.gen) {
    throw new RuntimeShutdownError(
      `Cannot cancel ${ref} as the runtime it belongs to was shut down`,
    );
  }
  if (e instanceof Task) p.cancel(e, force);
}
