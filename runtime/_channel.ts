/**
 * A one-way message channel between two threads: strings travel through a ring in a
 * SharedArrayBuffer and wake the reader with `Atomics.notify`; anything else (objects, strings too
 * long for the ring, or a full ring) travels by `postMessage`. Every message carries a sequence
 * number, so the reader delivers them in the order they were sent whichever way they came.
 *
 * Why: a `postMessage` costs ≈ 20 µs each way in Deno (≈ 60 µs per raw round trip here), while a
 * write to shared memory plus a notify costs well under a microsecond, and a worker that waits in
 * `Atomics.wait` wakes in a few microseconds. Task batches and results are JSON text already (see
 * `jsonExact` in _protocol.ts), so the common messages take the fast path.
 *
 * Layout: a 16-byte header of Int32 fields, then the ring. An entry is [length, seq, UTF-8 bytes
 * padded to 4]; length -1 marks a wrap to the start. The writer owns WRITE, the reader owns READ;
 * BELL counts writes (ring or port) and is what the reader waits on.
 *
 * @module
 */
import { setImmediate } from "node:timers";

const H_WRITE = 0;
const H_READ = 1;
const H_BELL = 2;
/** 1 while the reader waits (in Atomics.wait or waitAsync): only then does a writer notify. */
const H_SLEEP = 3;
const HEADER = 16;
const WRAP = -1;

/** Ring size in bytes; a message longer than a quarter of it goes by postMessage. */
export const CHANNEL_BYTES: number = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A message that went by postMessage: its sequence number and the message. */
export type PortEnvelope = [seq: number, msg: unknown];

/** The sending end. `post` is the thread's postMessage towards the reader. */
export class ChannelWriter {
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #dv: DataView;
  readonly #cap: number;
  readonly #post: (m: PortEnvelope) => void;
  #w = 0;
  #seq = 0;

  constructor(sab: SharedArrayBuffer, post: (m: PortEnvelope) => void) {
    this.#i32 = new Int32Array(sab, 0, HEADER >> 2);
    this.#u8 = new Uint8Array(sab, HEADER);
    this.#dv = new DataView(sab, HEADER);
    this.#cap = sab.byteLength - HEADER;
    this.#post = post;
  }

  /** Sends `msg`; throws (as postMessage does) when it cannot be cloned, and then sends nothing. */
  send(msg: unknown): void {
    const seq = this.#seq;
    if (typeof msg !== "string" || !this.#write(msg, seq)) this.#post([seq, msg]);
    this.#seq = (seq + 1) | 0;
    Atomics.add(this.#i32, H_BELL, 1);
    // Waking a sleeping thread costs the writer 5–10 µs here; a reader that is busy or polling
    // sees the bell without it. (Sequentially consistent: the reader sets SLEEP before it checks
    // the bell and waits, so one of the two sees the other.)
    if (Atomics.load(this.#i32, H_SLEEP) !== 0) Atomics.notify(this.#i32, H_BELL);
  }

  #write(s: string, seq: number): boolean {
    const cap = this.#cap;
    if (s.length > cap >> 2) return false;
    const r = Atomics.load(this.#i32, H_READ);
    const u8 = this.#u8;
    let w = this.#w;
    // Contiguous room at w, keeping one word free so a full ring never looks empty.
    const room = w >= r ? cap - w - (r === 0 ? 4 : 0) : r - w - 4;
    let res = room >= 8 + s.length ? encoder.encodeInto(s, u8.subarray(w + 8, w + room)) : null;
    let wrapped = false;
    if (res === null || res.read < s.length) {
      // Not enough room before the end of the ring: try from its start.
      if (w < r || r - 4 < 8 + s.length) return false;
      res = encoder.encodeInto(s, u8.subarray(8, r - 4));
      if (res.read < s.length) return false;
      wrapped = true;
      w = 0;
    }
    const written = res.written;
    const dv = this.#dv;
    const next = w + 8 + ((written + 3) & ~3);
    if (wrapped) dv.setInt32(this.#w, WRAP, true);
    dv.setInt32(w, written, true);
    dv.setInt32(w + 4, seq, true);
    this.#w = next === cap ? 0 : next;
    Atomics.store(this.#i32, H_WRITE, this.#w);
    return true;
  }
}

/** The receiving end. `deliver` gets every message, in the order it was sent. */
export class ChannelReader {
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #dv: DataView;
  readonly #cap: number;
  readonly #deliver: (msg: unknown) => void;
  #r = 0;
  #next = 0;
  /** Messages that came by postMessage (the rare path), in order, waiting for their turn. */
  #port: PortEnvelope[] = [];

  constructor(sab: SharedArrayBuffer, deliver: (msg: unknown) => void) {
    this.#i32 = new Int32Array(sab, 0, HEADER >> 2);
    this.#u8 = new Uint8Array(sab, HEADER);
    this.#dv = new DataView(sab, HEADER);
    this.#cap = sab.byteLength - HEADER;
    this.#deliver = deliver;
  }

  /** The Int32Array and index to pass to Atomics.wait / waitAsync. */
  get waitTarget(): [Int32Array, number] {
    return [this.#i32, H_BELL];
  }

  /** Tells writers to notify (call before waiting), or that they need not (after waking). */
  set sleeping(on: boolean) {
    Atomics.store(this.#i32, H_SLEEP, on ? 1 : 0);
  }

  /**
   * A message that arrived by postMessage; delivers what can be delivered now, unless told to
   * leave that to the next `drain()`.
   */
  fromPort(env: PortEnvelope, deliver = true): void {
    this.#port.push(env);
    if (deliver) this.drain();
  }

  /** Delivers every message whose turn has come, and returns how many. */
  drain(): number {
    let n = 0;
    for (;;) {
      const next = this.#next;
      if (this.#port.length !== 0 && this.#port[0][0] === next) {
        const env = this.#port.shift()!;
        this.#next = (next + 1) | 0;
        n++;
        this.#deliver(env[1]);
        continue;
      }
      let r = this.#r;
      if (r === Atomics.load(this.#i32, H_WRITE)) return n;
      let len = this.#dv.getInt32(r, true);
      if (len === WRAP) {
        r = 0;
        len = this.#dv.getInt32(0, true);
      }
      if (this.#dv.getInt32(r + 4, true) !== next) return n; // its turn comes after a port message
      const s = decoder.decode(this.#u8.subarray(r + 8, r + 8 + len));
      r += 8 + ((len + 3) & ~3);
      this.#r = r === this.#cap ? 0 : r;
      Atomics.store(this.#i32, H_READ, this.#r);
      this.#next = (next + 1) | 0;
      n++;
      this.#deliver(s);
    }
  }

  /**
   * True when messages were sent that `drain()` could not deliver: the next one is on its way by
   * postMessage, which only the thread's event loop can bring.
   */
  get behind(): boolean {
    return Atomics.load(this.#i32, H_BELL) !== this.#next;
  }
}

/** A new channel's shared memory. */
export function channelBuffer(bytes: number = CHANNEL_BYTES): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER + bytes);
}

const turnTasks: (() => void)[] = [];

function runTurnTasks(): void {
  const tasks = turnTasks.splice(0);
  for (const f of tasks) f();
}

/**
 * Runs `fn` once the current turn of the event loop is over, after the promise reactions it set
 * off (the code awaiting a result): one `setImmediate` for all that is deferred in a turn, since
 * scheduling one costs ≈ 2 µs in Deno (≈ 0.2 µs in Bun).
 */
export function afterTurn(fn: () => void): void {
  if (turnTasks.push(fn) === 1) setImmediate(runTurnTasks);
}

type WaitAsync = (
  a: Int32Array,
  i: number,
  v: number,
  t?: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/** `Atomics.waitAsync` (V8 and JSC have it; the types of some hosts lack it). */
export const waitAsync: WaitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * Drains `reader` from the event loop each time its writer sends, until the returned function is
 * called. A pending `Atomics.waitAsync` does not keep the process alive (checked in Deno and Bun).
 */
export function listen(reader: ChannelReader): () => void {
  const [i32, index] = reader.waitTarget;
  let stopped = false;
  const loop = (): void => {
    if (!stopped) {
      const bell = Atomics.load(i32, index);
      let n: number;
      try {
        n = reader.drain();
      } catch (e) {
        queueMicrotask(loop); // keep listening, and let the error surface as uncaught
        throw e;
      }
      if (stopped) return;
      if (n !== 0) {
        // Wait again only after what these messages set off has run (the code awaiting a
        // result): nothing is missed meanwhile, as `arm` sees that the bell moved, and a burst
        // of messages is read in one go.
        afterTurn(() => arm(bell));
      } else arm(bell);
      return;
    }
  };
  /** Waits for the bell to move from `bell`, or drains again if it has. */
  const arm = (bell: number): void => {
    if (stopped) return;
    reader.sleeping = true;
    if (Atomics.load(i32, index) === bell) {
      const r = waitAsync(i32, index, bell);
      if (r.async) {
        r.value.then(wake);
        return;
      }
    }
    reader.sleeping = false;
    queueMicrotask(loop);
  };
  const wake = (): void => {
    reader.sleeping = false;
    loop();
  };
  loop();
  return () => {
    stopped = true;
    reader.sleeping = true;
    // Wake the pending wait so its promise settles and nothing stays queued on the buffer.
    Atomics.add(i32, index, 1);
    Atomics.notify(i32, index);
  };
}
