/**
 * What the API functions (`remote`, `get`, `put`, `cancel`, `kill`, actors) need of the engine that
 * runs tasks: the local pool of workers, or a cluster's driver (cluster/, loaded only when
 * `init()` is given an address). Both settle the same ObjectRef entries, so `get` and `wait` work
 * alike on either.
 *
 * @module
 */
import type { Pool } from "./pool.ts";

/** The engine behind the API: the members of {@linkcode Pool} that the API functions use. */
export type Backend = Pick<
  Pool,
  | "numCpus"
  | "gen"
  | "recorder"
  | "closed"
  | "liveWorkers"
  | "queueSize"
  | "def"
  | "put"
  | "markAwaited"
  | "submit"
  | "cancel"
  | "createActor"
  | "actor"
  | "kill"
  | "close"
  | "actorHandleFor"
>;

/** Options a backend is started with (see `init`). */
export interface BackendOptions {
  /** The cluster's address, `redis://` or `rediss://`. */
  address: string;
  /** Runtime generation: refs of a shut-down runtime are dead. */
  gen: number;
  /** Give up connecting after this many ms. */
  connectTimeoutMs: number;
}
