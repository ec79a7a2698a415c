/**
 * The runtime's state on the driver, one per thread and shared by every copy of the runtime module
 * in it (a script may import mod.ts from a URL while the CLI imports it from disk): kept on
 * `globalThis` under `Symbol.for`.
 *
 * @module
 */
import type { FnDef } from "./_protocol.ts";
import { RuntimeShutdownError } from "./errors.ts";
import type { Backend } from "./backend.ts";
import type { Recorder } from "./recorder.ts";

/** What the driver keeps between calls of the API. */
export interface State {
  /** The engine: the local pool, or a cluster's driver. */
  pool: Backend | null;
  /** While `init({ address })` connects to a cluster: the connection under way. */
  connecting: Promise<void> | null;
  gen: number;
  wasShutdown: boolean;
  /** Recorder of the last pool, so a timeline can be taken after shutdown. */
  lastRecorder: Recorder | null;
  /** Remote functions defined on the driver, taught to new pools' workers ahead of use. */
  wires: Omit<FnDef, "fid">[];
}

const STATE = Symbol.for("rayprof.state");

/** The state of this thread's runtime. */
export function state(): State {
  const g = globalThis as typeof globalThis & { [STATE]?: State };
  return g[STATE] ??= {
    pool: null,
    connecting: null,
    gen: 0,
    wasShutdown: false,
    lastRecorder: null,
    wires: [],
  };
}

/**
 * The running pool, for calls that need one that already exists (an actor handle's methods): the
 * same error as a call that would start it, when the runtime was shut down.
 */
export function runningPool(what: string): Backend | null {
  const s = state();
  if (s.pool) return s.pool;
  if (s.wasShutdown) {
    throw new RuntimeShutdownError(
      `Cannot ${what} as the runtime was shut down: call init() to start it again`,
    );
  }
  return null;
}
