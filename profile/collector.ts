/**
 * The recording core of the line profiler: the probe functions that instrumented code calls, and
 * the counters they write to. It only records; {@linkcode LineCollector.snapshot} turns the
 * counters into {@linkcode LineStats}.
 *
 * Instrumented code keeps its clock in two locals of each call (`t`: when the current line
 * started, `s`: the slot of the current line), so interleaved async calls and recursion never
 * mix their times (kernprof's per-call semantics). A slot is one line of one profiled function;
 * hits and times live in flat typed arrays indexed by slot, so a line event is two array writes and
 * one clock read.
 *
 * @module
 */

import type { FunctionTimings, LineStats } from "./line_stats.ts";

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
}

/** Receives counters; probes write to it. */
export class LineCollector {
  #hits = new Float64Array(1024);
  #time = new Float64Array(1024);
  #next = 1; // slot 0 absorbs the time between a function's entry and its first line
  #functions: FunctionInfo[] = [];
  #msPerClock: number;
  #probes: Probes;
  /** Clock mode of the probes. */
  readonly mode: "exact" | "sample";

  /** Creates a collector; call {@linkcode install} to publish its probes. */
  constructor(options: LineCollectorOptions = {}) {
    this.mode = options.mode ?? "exact";
    if (this.mode === "sample") {
      if (!options.ticks) {
        throw new TypeError("Cannot create a sampling line collector as 'ticks' is missing");
      }
      this.#msPerClock = options.ticks.periodMs;
      this.#probes = makeTickProbes(this, options.ticks.cells);
    } else {
      this.#msPerClock = 1;
      this.#probes = makeExactProbes(this);
    }
  }

  /** @internal The arrays the probes write to (replaced when they grow). */
  get _arrays(): [Float64Array, Float64Array] {
    return [this.#hits, this.#time];
  }

  /** First free slot; pass it to the instrumenter, then {@linkcode register} what it made. */
  get nextSlot(): number {
    return this.#next;
  }

  /** The probes of this collector. */
  get probes(): Probes {
    return this.#probes;
  }

  /** Functions registered so far. */
  get functions(): readonly FunctionInfo[] {
    return this.#functions;
  }

  /**
   * Registers the functions of one instrumented module and reserves their slots.
   *
   * @param functions What the instrumenter returned.
   * @param nextSlot The instrumenter's next free slot.
   * @throws {RangeError} If the slots do not start at {@linkcode nextSlot}.
   */
  register(functions: FunctionInfo[], nextSlot: number): void {
    for (const f of functions) {
      for (const [, slot] of f.slots) {
        if (slot < this.#next) {
          throw new RangeError(
            `Cannot register profiled function '${f.name}' as its slot ${slot} is already taken`,
          );
        }
      }
    }
    this.#functions.push(...functions);
    this.#next = Math.max(this.#next, nextSlot);
    if (this.#next > this.#hits.length) {
      let size = this.#hits.length;
      while (size < this.#next) size *= 2;
      const hits = new Float64Array(size);
      const time = new Float64Array(size);
      hits.set(this.#hits);
      time.set(this.#time);
      this.#hits = hits;
      this.#time = time;
      refresh(this);
    }
  }

  /** Publishes the probes for instrumented modules of this thread. */
  install(): void {
    (globalThis as Record<symbol, unknown>)[PROBES_KEY] = this.#probes;
  }

  /** Zeroes all counters. */
  reset(): void {
    this.#hits.fill(0);
    this.#time.fill(0);
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
      for (const [line, slot] of f.slots) {
        const hits = this.#hits[slot];
        if (hits === 0 && this.#time[slot] === 0) continue;
        const acc = byLine.get(line) ?? { hits: 0, time: 0 };
        acc.hits += hits;
        acc.time += this.#time[slot];
        byLine.set(line, acc);
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

// Probes read the arrays from closure variables; growing the arrays swaps them in through this.
const refreshers = new WeakMap<LineCollector, () => void>();
function refresh(c: LineCollector): void {
  refreshers.get(c)?.();
}

function makeExactProbes(c: LineCollector): Probes {
  let [H, T] = c._arrays;
  refreshers.set(c, () => [H, T] = c._arrays);
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

function makeTickProbes(c: LineCollector, cells: Int32Array): Probes {
  let [H, T] = c._arrays;
  refreshers.set(c, () => [H, T] = c._arrays);
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
