/**
 * `remote()`: a function that runs as tasks in workers, or a class whose instances live in their
 * own worker (actors), and the types of both.
 *
 * @module
 */
import { callerFrame } from "./_platform.ts";
import { siteKey, workerContext } from "./_context.ts";
import type { FnDef } from "./_protocol.ts";
import type { ObjectRef } from "./object_ref.ts";
import type { Def, TaskOptions } from "./pool.ts";
import { state } from "./_state.ts";
import { activePool } from "./_active_pool.ts";
import { checkCount, checkKeys, checkName, describe } from "./_validate.ts";
import { scanArgs, submitFromWorker } from "./_submit.ts";
import { ActorClassImpl, actorOptions } from "./_actor_class.ts";

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

/** Any function: what `remote()` takes to make a remote function. */
// deno-lint-ignore no-explicit-any
export type AnyFn = (...args: any[]) => unknown;
/** Any class: what `remote()` takes to make an actor class. */
// deno-lint-ignore no-explicit-any
export type AnyClass = abstract new (...args: any[]) => any;

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

/**
 * A handle to an actor: its methods, each with `.remote()`. It can be passed to tasks; its
 * `__rayprofActor` key, the actor's id, is how the runtime recognises it.
 */
export type ActorHandle<T> =
  & {
    readonly [
      // deno-lint-ignore no-explicit-any
      K in keyof T as T[K] extends (...args: any[]) => any ? K : never
    ]: T[K] extends (...args: infer A) => infer R ? ActorMethod<A, R> : never;
  }
  & { readonly __rayprofActor: number };

/** A class whose instances live in their own worker. */
export interface ActorClass<C extends AnyClass> {
  /** Creates an actor; returns its handle at once. */
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>>;
  /** The same class with other options. */
  options(options: ActorOptions): ActorClass<C>;
  /** Name shown in timelines and errors. */
  readonly name: string;
}

const REMOTE_KEYS = new Set(["numCpus", "maxRetries", "retryExceptions", "name"]);

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
    const p = activePool(this.#what);
    const scan = scanArgs(this.#what, args, p.gen);
    if (this.#defGen !== p.gen) {
      this.#def = p.def(this.#wire);
      this.#defGen = p.gen;
    }
    return p.submit(this.#def!, args, this.#opts, scan) as ObjectRef<Awaited<ReturnType<F>>>;
  }

  toString(): string {
    return `RemoteFunction(${this.name})`;
  }
}

const DEFAULT_TASK: TaskOptions = { numCpus: 1, maxRetries: 3, retryExceptions: false, name: "" };

/**
 * Makes a class run as actors: each `.remote()` creates an instance in a worker of its own and
 * returns a handle whose methods run there, one call after another (or up to `maxConcurrency` at
 * once for async methods), keeping the instance's state between calls.
 *
 * Define actor classes at the top level of a module, as remote functions (see the other overload).
 *
 * @param cls The class.
 * @param options Concurrency, slots and name of its actors.
 * @returns The actor class: `.remote(...constructorArgs)` creates an actor.
 * @throws {TypeError} If `cls` is not a class or an option is invalid.
 *
 * @example A counter actor
 * ```ts
 * import { get, init, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const Counter = remote(class Counter {
 *   n = 0;
 *   add(by: number) {
 *     return (this.n += by);
 *   }
 * });
 * init({ numCpus: 2 });
 * try {
 *   const counter = Counter.remote();
 *   const refs = [1, 2, 3].map((by) => counter.add.remote(by)); // run in submission order
 *   assert.deepEqual(await get(refs), [1, 3, 6]);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export function remote<C extends AnyClass>(cls: C, options?: ActorOptions): ActorClass<C>;
/**
 * Makes a function run as tasks in workers: each `.remote(...args)` submits a task and returns
 * an {@linkcode ObjectRef} to its result at once; `get` waits for it. Arguments may be refs.
 *
 * Define remote functions at the top level of a module: a worker imports that module to find the
 * function (guard your script's entry point with `if (import.meta.main)`). A function with no
 * module file behind it (eval, REPL, these examples) is sent as source text, and may use only its
 * own parameters and globals.
 *
 * @param fn The function, sync or async; its arguments and result must be structured-cloneable.
 * @param options Slots, retries and name of its tasks.
 * @returns The remote function.
 * @throws {TypeError} If `fn` is not a function or an option is invalid.
 *
 * @example Run tasks in parallel
 * ```ts
 * import { get, init, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const square = remote(function square(x: number) {
 *   return x * x;
 * });
 * init({ numCpus: 2 });
 * try {
 *   const refs = [1, 2, 3].map((x) => square.remote(x)); // submitted at once
 *   assert.deepEqual(await get(refs), [1, 4, 9]);
 *   const named = square.options({ name: "sq", maxRetries: 0 });
 *   assert.equal(named.name, "sq");
 *   assert.equal(await get(named.remote(5)), 25);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
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
