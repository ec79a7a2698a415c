/**
 * The driver's side of one worker thread: starting it, its two message channels, the messages held
 * until it is ready, and what the scheduler tracks of it (tasks sent, slots held, blocked tasks).
 *
 * @module
 */
import { spawnWorker, type WorkerHandle } from "./_platform.ts";
import type { FnDef, FromWorker, ToWorker, WorkerInit } from "./_protocol.ts";
import {
  channelBuffer,
  ChannelReader,
  ChannelWriter,
  listen,
  type PortEnvelope,
} from "./_channel.ts";
import { errorInfo } from "./_wire.ts";
import type { RemoteErrorInfo } from "./errors.ts";
import { hooks, type WorkerDescription } from "./hooks.ts";
import type { WorkerRecord } from "./recorder.ts";
import type { Actor, Task } from "./_task.ts";
import type { Pool } from "./pool.ts";

/** The driver's view of one worker thread. */
export class PoolWorker {
  readonly handle: WorkerHandle;
  readonly counter: Int32Array;
  ready = false;
  dead = false;
  /** Worker clock minus driver clock, in ms. */
  offset = 0;
  inflight: Map<number, Task> = new Map();
  sent = 0;
  blocked = 0;
  /** Slots of the pool this worker holds while busy. */
  slots = 0;
  /** Expected run time (µs) of the tasks sent to it and not finished. */
  expected = 0;
  /** When it last went from no task in flight to some (driver clock, ms). */
  busySince = 0;
  /** Pool-wide order of its latest dispatch: the memory monitor ends the newest task's worker. */
  lastDispatch = 0;
  idle = false;
  refd = false;
  /** An unref is scheduled (see #afterDone). */
  unrefQueued = false;
  known: Set<number> = new Set();
  batch: unknown[] | null = null;
  /** The batch can travel as JSON text (see jsonExact). */
  batchText = true;
  batchDefs: FnDef[] | null = null;
  actor: Actor | null = null;
  fault: RemoteErrorInfo | null = null;
  collectWaiter: ((d: Record<string, unknown>) => void) | null = null;
  readonly rec: WorkerRecord;

  constructor(
    readonly pool: Pool,
    readonly id: number,
    readonly kind: "pool" | "actor",
    label: string,
    concurrency: number,
    defs: FnDef[],
  ) {
    const sab = new SharedArrayBuffer(4);
    this.counter = new Int32Array(sab);
    const awakeSlot = pool.awakeSlot();
    const h = hooks();
    const toWorker = channelBuffer();
    const fromWorker = channelBuffer();
    const init: WorkerInit = {
      id,
      kind,
      counter: sab,
      awake: pool.awake.buffer as SharedArrayBuffer,
      awakeSlot,
      toWorker,
      fromWorker,
      preload: h.workerPreload.slice(),
      data: { ...h.workerData },
      concurrency,
      defs,
    };
    for (const d of defs) this.known.add(d.fid);
    this.rec = { id, kind, label, started: performance.now(), ready: NaN, ended: NaN };
    pool.recorder.workers.push(this.rec);
    const reader = new ChannelReader(
      fromWorker,
      (m) =>
        typeof m === "string" ? pool.onDoneText(this, m) : pool.onMessage(this, m as FromWorker),
    );
    this.handle = spawnWorker(
      init,
      {
        message: (m) => reader.fromPort(m as PortEnvelope),
        exit: (code) => {
          this.#stopListening();
          pool.releaseAwakeSlot(awakeSlot);
          pool.onExit(this, code);
        },
        error: (e) => {
          this.fault ??= errorInfo(e);
        },
      },
      label,
      pool.memoryLimitMb,
    );
    this.#writer = new ChannelWriter(toWorker, (env) => this.handle.post(env));
    this.#stopListening = listen(reader);
  }

  #writer: ChannelWriter;
  #stopListening: () => void;

  get description(): WorkerDescription {
    return { id: this.id, kind: this.kind, label: this.rec.label };
  }

  /** Messages held until the worker is ready (a worker loading its entry over HTTP drops them). */
  #early: (ToWorker | string)[] | null = [];

  post(msg: ToWorker | string): void {
    if (this.#early === null) {
      this.#writer.send(msg);
    } else {
      structuredClone(msg); // throws now, where the caller can tell which task cannot be sent
      this.#early.push(msg);
    }
  }

  /** The worker is ready: send what was held. */
  release(): void {
    const early = this.#early;
    this.#early = null;
    if (early) { for (const m of early) this.#writer.send(m); }
  }
}
