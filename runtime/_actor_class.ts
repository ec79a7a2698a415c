/**
 * Actor classes (`remote(Class)`): their options and the creation of actors.
 *
 * @module
 */
import { workerContext } from "./_context.ts";
import type { FnDef } from "./_protocol.ts";
import { RayError } from "./errors.ts";
import { activePool } from "./_active_pool.ts";
import { checkCount, checkKeys, checkName, describe } from "./_validate.ts";
import { scanArgs } from "./_submit.ts";
import { ACTOR_CALL, actorHandle } from "./_actor_handle.ts";
import type { ActorClass, ActorHandle, ActorOptions, AnyClass, RemoteArgs } from "./remote.ts";

/** An actor class's options, validated. */
export interface ActorOpts {
  maxConcurrency: number;
  numCpus: number;
  name: string;
}

const ACTOR_KEYS = new Set(["maxConcurrency", "numCpus", "name"]);

/** Validates options of an actor class over `base`. */
export function actorOptions(what: string, base: ActorOpts, o: ActorOptions): ActorOpts {
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

/** The implementation behind {@linkcode ActorClass}. */
export class ActorClassImpl<C extends AnyClass> implements ActorClass<C> {
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
    const p = activePool(what);
    const scan = scanArgs(what, args, p.gen);
    const def = p.def(this.#wire);
    const a = p.createActor(
      def,
      args,
      { ...ACTOR_CALL, numCpus: this.#opts.numCpus, name: this.name },
      this.#opts.maxConcurrency,
      scan,
    );
    return actorHandle(a.id, this.name, this.#methods) as ActorHandle<InstanceType<C>>;
  }
}
