/**
 * The recording core of the line profiler: the probe functions that instrumented code calls, and
 * the counters they write to. It only records; {@linkcode LineCollector.snapshot} turns the
 * counters into {@linkcode LineStats}.
 *
 * Instrumented code keeps its clock in two locals of each call (`t`: when the current line
 * started, `s`: the slot of the current line), so interleaved async calls and recursion never
 * mix their times (kernprof's per-call semantics). A slot is one line of one profiled function;
 * each instrumented module has its own hits and times arrays indexed by slot, so a line event is
 * two array writes and one clock read (`performance.now()`, or in `"sample"` mode one load of a
 * shared tick counter, written inline in the module so that no call is made at all).
 *
 * @module
 */

import type { FunctionTimings, LineStats } from "./stats.ts";

/** Global key under which the active probes are published for instrumented modules. */
export const PROBES_KEY: unique symbol = Symbol.for("rayprof.lineProbes") as never;

/** The functions instrumented code calls; names are kept short as they appear in generated code. */
export interface Probes {
  /** Line event: charge the time since `t` to slot `prev`, count a hit on `next`; returns now. */
  l(prev: number, t: number, next: number): number;
  /** Function exit: charge the time since `t` to slot `prev`. */
  x(prev: number, t: number): void;
  /** Reads the clock. */
  n(): number;
  /** Before a generator suspends at `yield`: charge the time since `t`; returns `value`. */
  y<T>(prev: number, t: number, value: T): T;
  /** After a generator resumes: returns `value` (the second argument reset the clock). */
  r<T>(value: T, _clock: number): T;
}

/** A profiled function as the instrumenter describes it. */
export interface FunctionInfo {
  /** Absolute file path (or URL). */
  file: string;
  /** Display name. */
  name: string;
  /** First line (marker or decorator included). */
  line: number;
  /** Last line. */
  endLine: number;
  /** `[line, slot]` pairs: the slots the instrumented code writes for each line. */
  slots: [number, number][];
  /** Source lines `line`..`endLine`. */
  source?: string[];
}

/** Options for {@linkcode LineCollector}. */
export interface LineCollectorOptions {
  /**
   * Clock used by the probes. `"exact"` reads `performance.now()` at every line event;
   * `"sample"` reads a shared tick counter advanced by another thread (see {@linkcode TickClock}),
   * which is far cheaper and still unbiased on average, at the tick's resolution.
   * @default {"exact"}
   */
  mode?: "exact" | "sample";
  /** For `"sample"`: the shared tick counter and its period in milliseconds. */
  ticks?: { cells: Int32Array; periodMs: number };
  /**
   * Keep the counters, and what they count, in this shared memory (made by
   * {@linkcode createCounterArena}), so that another thread can read them with
   * {@linkcode readCounterArena} whenever it likes: even after this thread was terminated.
   */
  arena?: SharedArrayBuffer;
}

/** Bytes of an arena's header: floats used, log bytes used, float capacity (Int32 each). */
const ARENA_HEADER = 64;

/**
 * Shared memory for a collector's counters and the record of what they count (see
 * {@linkcode LineCollectorOptions.arena}).
 *
 * @param floats Capacity in counters (two per line slot, plus two per module).
 * @param logBytes Capacity of the record of registered functions, in bytes of JSON.
 * @returns The buffer (zero-filled; the operating system commits its pages as they are written).
 */
export function createCounterArena(
  floats: number = 1 << 20,
  logBytes: number = 8 << 20,
): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(ARENA_HEADER + floats * 8 + logBytes);
  new Int32Array(sab, 0, 4)[2] = floats;
  return sab;
}

/**
 * Line stats from an arena that a collector in another thread wrote (see
 * {@linkcode LineCollectorOptions.arena}).
 *
 * @param arena The buffer.
 * @param msPerClock The collector's clock unit in ms (1 in exact mode, the tick in sample mode).
 * @returns The stats of every function registered in it so far.
 */
export function readCounterArena(arena: SharedArrayBuffer, msPerClock = 1): LineStats {
  return LineCollector.readArena(arena, msPerClock);
}

/** Probes and counters of one instrumented module, as its prologue destructures them. */
export interface ModuleProbes extends Probes {
  /** Hits per module slot (index = slot - first + 1; 0 absorbs function-entry time). */
  H: Float64Array;
  /** Time per module slot, in clock units. */
  T: Float64Array;
  /** The shared tick counter (`"sample"` mode) or an empty array. */
  A: Int32Array;
}

interface Segment {
  first: number;
  next: number;
  probes: ModuleProbes;
}

// Slots are numbered per thread, not per collector, so that several collectors (a test run, a
// REPL session) can live side by side: the published lookup finds any module's counters.
const REGISTRY: unique symbol = Symbol.for("rayprof.lineProbeRegistry") as never;
interface Registry {
  next: number;
  segments: Map<number, ModuleProbes>;
}
function registry(): Registry {
  const g = globalThis as Record<symbol, Registry | undefined>;
  return g[REGISTRY] ??= { next: 1, segments: new Map() };
}

/** Receives counters; probes write to it. */
export class LineCollector {
  #segments = new Map<number, Segment>();
  #functions: FunctionInfo[] = [];
  #msPerClock: number;
  #cells: Int32Array;
  #arena: SharedArrayBuffer | undefined;
  /** Clock mode of the probes. */
  readonly mode: "exact" | "sample";

  /** Creates a collector; call {@linkcode install} to publish its probes. */
  constructor(options: LineCollectorOptions = {}) {
    this.mode = options.mode ?? "exact";
    this.#arena = options.arena;
    if (this.mode === "sample") {
      if (!options.ticks) {
        throw new TypeError("Cannot create a sampling line collector as 'ticks' is missing");
      }
      this.#msPerClock = options.ticks.periodMs;
      this.#cells = options.ticks.cells;
    } else {
      this.#msPerClock = 1;
      this.#cells = new Int32Array(1);
    }
  }

  /** First free slot; pass it to the instrumenter, then {@linkcode register} what it made. */
  get nextSlot(): number {
    return registry().next;
  }

  /** Probe style the instrumenter must generate for this collector. */
  get probeStyle(): "call" | "inline" {
    return this.mode === "sample" ? "inline" : "call";
  }

  /** Functions registered so far. */
  get functions(): readonly FunctionInfo[] {
    return this.#functions;
  }

  /**
   * Registers the functions of one instrumented module and makes its counters; the module was
   * instrumented with `firstSlot` = {@linkcode nextSlot}.
   *
   * @param functions What the instrumenter returned.
   * @param nextSlot The instrumenter's next free slot.
   */
  register(functions: FunctionInfo[], nextSlot: number): void {
    const reg = registry();
    const first = reg.next;
    if (nextSlot < first) {
      throw new RangeError(
        `Cannot register a module's slots as they end before they start: ${nextSlot} < ${first}`,
      );
    }
    this.#functions.push(...functions);
    const size = nextSlot - first + 1;
    const shared = this.#arena && this.#share(functions, first, nextSlot, size);
    const H = shared ? shared[0] : new Float64Array(size);
    const T = shared ? shared[1] : new Float64Array(size);
    const probes = this.mode === "sample" ? tickProbes(H, T, this.#cells) : exactProbes(H, T);
    const seg = { first, next: nextSlot, probes: { ...probes, H, T, A: this.#cells } };
    this.#segments.set(first, seg);
    reg.segments.set(first, seg.probes);
    reg.next = nextSlot;
  }

  /** See {@linkcode readCounterArena}. */
  static readArena(arena: SharedArrayBuffer, msPerClock: number): LineStats {
    const head = new Int32Array(arena, 0, 4);
    const floats = head[2];
    const logBytes = Atomics.load(head, 1);
    const logStart = ARENA_HEADER + floats * 8;
    const text = new TextDecoder().decode(new Uint8Array(arena, logStart, logBytes).slice());
    const collector = new LineCollector({});
    collector.#msPerClock = msPerClock;
    for (const line of text.split("\n")) {
      if (!line) continue;
      const r = JSON.parse(line) as {
        first: number;
        next: number;
        offset: number;
        functions: FunctionInfo[];
      };
      const size = r.next - r.first + 1;
      const H = new Float64Array(arena, ARENA_HEADER + r.offset * 8, size);
      const T = new Float64Array(arena, ARENA_HEADER + (r.offset + size) * 8, size);
      collector.#functions.push(...r.functions);
      collector.#segments.set(r.first, {
        first: r.first,
        next: r.next,
        probes: { ...exactProbes(H, T), H, T, A: collector.#cells },
      });
    }
    return collector.snapshot();
  }

  /** Counters of a module in the arena, and its record there; `undefined` when it is full. */
  #share(
    functions: FunctionInfo[],
    first: number,
    next: number,
    size: number,
  ): [Float64Array, Float64Array] | undefined {
    const arena = this.#arena!;
    const head = new Int32Array(arena, 0, 4);
    const floats = head[2];
    const offset = head[0];
    const record = new TextEncoder().encode(
      JSON.stringify({ first, next, offset, functions }) + "\n",
    );
    const logBytes = head[1];
    const logCapacity = arena.byteLength - ARENA_HEADER - floats * 8;
    if (offset + 2 * size > floats || logBytes + record.length > logCapacity) return undefined;
    head[0] = offset + 2 * size;
    new Uint8Array(arena, ARENA_HEADER + floats * 8 + logBytes, record.length).set(record);
    Atomics.store(head, 1, logBytes + record.length); // the record is whole before it counts
    return [
      new Float64Array(arena, ARENA_HEADER + offset * 8, size),
      new Float64Array(arena, ARENA_HEADER + (offset + size) * 8, size),
    ];
  }

  /** Publishes this collector for instrumented modules of this thread. */
  install(): void {
    const segments = registry().segments;
    (globalThis as Record<symbol, unknown>)[PROBES_KEY] ??= {
      module(first: number): ModuleProbes {
        const probes = segments.get(first);
        if (!probes) throw new RangeError(`No line profiler counters for module slot ${first}`);
        return probes;
      },
    };
  }

  /** Zeroes all counters. */
  reset(): void {
    for (const seg of this.#segments.values()) {
      seg.probes.H.fill(0);
      seg.probes.T.fill(0);
    }
  }

  #segmentOf(slot: number): Segment | undefined {
    for (const seg of this.#segments.values()) {
      if (slot >= seg.first && slot < seg.next) return seg;
    }
    return undefined;
  }

  /**
   * Returns the counters as line stats, in integer nanoseconds.
   *
   * @returns Stats of every registered function (never-called ones have no lines).
   */
  snapshot(): LineStats {
    const nsPerClock = this.#msPerClock * 1e6;
    const functions: FunctionTimings[] = this.#functions.map((f) => {
      const byLine = new Map<number, { hits: number; time: number }>();
      const seg = f.slots.length ? this.#segmentOf(f.slots[0][1]) : undefined;
      if (seg) {
        const { H, T } = seg.probes;
        for (const [line, slot] of f.slots) {
          const i = slot - seg.first + 1;
          if (H[i] === 0 && T[i] === 0) continue;
          const acc = byLine.get(line) ?? { hits: 0, time: 0 };
          acc.hits += H[i];
          acc.time += T[i];
          byLine.set(line, acc);
        }
      }
      const lines = [...byLine].sort((a, b) => a[0] - b[0]).map(([line, v]) => ({
        line,
        hits: v.hits,
        time: Math.max(0, Math.round(v.time * nsPerClock)),
      }));
      return {
        file: f.file,
        name: f.name,
        line: f.line,
        endLine: f.endLine,
        lines,
        ...(f.source ? { source: f.source } : {}),
      };
    });
    return { unit: 1e-9, functions };
  }
}

function exactProbes(H: Float64Array, T: Float64Array): Probes {
  const perf = performance;
  return {
    l(p, t, n) {
      const now = perf.now();
      T[p] += now - t;
      H[n]++;
      return now;
    },
    x(p, t) {
      T[p] += perf.now() - t;
    },
    n() {
      return perf.now();
    },
    y(p, t, v) {
      T[p] += perf.now() - t;
      return v;
    },
    r(v) {
      return v;
    },
  };
}

function tickProbes(H: Float64Array, T: Float64Array, cells: Int32Array): Probes {
  return {
    l(p, t, n) {
      const now = Atomics.load(cells, 0);
      T[p] += now - t;
      H[n]++;
      return now;
    },
    x(p, t) {
      T[p] += Atomics.load(cells, 0) - t;
    },
    n() {
      return Atomics.load(cells, 0);
    },
    y(p, t, v) {
      T[p] += Atomics.load(cells, 0) - t;
      return v;
    },
    r(v) {
      return v;
    },
  };
}
