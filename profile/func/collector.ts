/**
 * The recording core of the function profiler (cProfile): the probes that instrumented code calls
 * on function entry and exit, and when an async function or generator is suspended and resumed.
 * It only records; {@linkcode FuncCollector.snapshot} hands the counters over as plain data.
 *
 * Attribution (the rules the report documents):
 * - A call lasts from entry to settle: for an async function, until its promise settles (its
 *   body's `finally` runs), so `cumtime` is the wall time the caller would measure.
 * - `tottime` is the time the function's own code was on the stack: time in profiled callees is
 *   theirs, and time while the function is suspended at an `await`/`yield` is nobody's own time.
 * - Each `await` site of a profiled function is a row of its own at the line of the `await`, named
 *   after what it awaits (`<await ray.get>`, `<await new Promise>`, else `<await>`; `<for await>`
 *   for `for await`): its calls are the awaits that completed and its
 *   tottime (= cumtime) the wall time the function spent suspended there. So `ex1`'s 2.5 s show up
 *   as the 2.5 s of the `await ray.get(...)` on its line.
 * - A call is recursive (not primitive) when an unfinished call of the same function is among its
 *   callers, following the async callers too (the function that called an async function stays
 *   its caller across awaits). A recursive call's cumtime is not added, so it is not counted twice.
 *
 * Time spent in code that is not instrumented (the runtime, node_modules, built-ins such as
 * `JSON.parse` or `sleepSync`) is part of the calling function's tottime, as cProfile would show
 * it if it did not list built-ins.
 *
 * @module
 */

/** Global key under which the active probes are published for instrumented modules. */
const FUNC_PROBES_KEY: unique symbol = Symbol.for("rayprof.funcProbes") as never;

/** One profiled place: a function, or an await site of one. */
export interface FuncSite {
  /** Absolute file path (or URL). */
  file: string;
  /** Line of the function (its first line, marker or `export` included) or of the `await`. */
  line: number;
  /** Function name as in the line profiler (`ex1`, `Counter.add`, `<anonymous>`), or `<await f>`. */
  name: string;
  /** `"await"` for the await rows. */
  kind: "function" | "await";
}

/** One active call. Only the probes read its fields. */
export interface FuncFrame {
  id: number;
  start: number;
  /** When its own time last started. */
  t: number;
  parent: FuncFrame | null;
  recursive: boolean;
  suspended: boolean;
  awaitStart: number;
  site: number;
  done: boolean;
  /** Suspended async callers re-opened in the event log when this frame resumed. */
  shown: FuncFrame[] | null;
}

/** The functions instrumented code calls; names are short as they appear in generated code. */
export interface FuncProbes {
  /** Function entry. */
  e(id: number): FuncFrame;
  /** Function exit (its body's `finally`). */
  x(frame: FuncFrame): void;
  /** Before an `await` (site id) or a `yield` (site 0) suspends the frame; returns `value`. */
  s<T>(frame: FuncFrame, site: number, value: T): T;
  /** After the frame resumes (no-op when it is not suspended); returns `value`. */
  r<T>(frame: FuncFrame, value?: T): T;
  /** Wraps the iterable of a `for await` so that each wait suspends the frame. */
  i(frame: FuncFrame, site: number, iterable: unknown): AsyncIterable<unknown>;
}

/** Options for {@linkcode FuncCollector}. */
export interface FuncCollectorOptions {
  /**
   * Keep the open/close events for a timeline export (speedscope), up to `maxEvents`.
   * @default {false}
   */
  events?: boolean;
  /**
   * Most events kept; later ones are dropped (and counted).
   * @default {1_000_000}
   */
  maxEvents?: number;
}

/** Counters of one thread, as plain data (structured-cloneable). */
export interface FuncThreadData {
  /** `performance.timeOrigin` of the thread, to put event times of threads on one axis. */
  timeOrigin: number;
  /** Sites by id: `[id, site]`. */
  sites: [number, FuncSite][];
  /** Per called site: `[id, calls, primitiveCalls, tottimeMs, cumtimeMs]`. */
  counts: [number, number, number, number, number][];
  /**
   * Events as flat triples `kind, id, timeMs` (kind 0: open, 1: close), times relative to
   * `timeOrigin`; present when events were kept.
   */
  events?: number[];
  /** Events dropped once `maxEvents` was reached. */
  droppedEvents?: number;
  /** When the snapshot was taken (ms from `timeOrigin`): the end of the thread's timeline. */
  end: number;
}

// Ids are numbered per thread, so several collectors can live side by side (a test run, a REPL).
const REGISTRY: unique symbol = Symbol.for("rayprof.funcProbeRegistry") as never;
interface Registry {
  next: number;
  modules: Map<number, FuncProbes>;
}
function registry(): Registry {
  const g = globalThis as Record<symbol, Registry | undefined>;
  return g[REGISTRY] ??= { next: 1, modules: new Map() };
}

/** Receives function events; the probes write to it. */
export class FuncCollector {
  #sites = new Map<number, FuncSite>();
  #calls: number[] = [];
  #prim: number[] = [];
  #tt: number[] = [];
  #ct: number[] = [];
  #active: number[] = [];
  #onStack: number[] = [];
  #stack: FuncFrame[] = [];
  #log: number[] | null;
  #maxLog: number;
  #dropped = { count: 0 };
  #probes: FuncProbes;

  /** Creates a collector; call {@linkcode install} to publish its probes. */
  constructor(options: FuncCollectorOptions = {}) {
    this.#log = options.events ? [] : null;
    this.#maxLog = 3 * (options.maxEvents ?? 1_000_000);
    this.#probes = this.#makeProbes();
  }

  /** First free id; pass it to the instrumenter, then {@linkcode register} what it made. */
  get nextId(): number {
    return registry().next;
  }

  /** The probes (for code instrumented by hand, and the overhead bench). */
  get probes(): FuncProbes {
    return this.#probes;
  }

  /**
   * Registers the sites of one instrumented module (instrumented with `firstFunctionId` =
   * {@linkcode nextId}).
   *
   * @param sites `[id, site]` pairs the instrumenter returned.
   * @param nextId The instrumenter's next free id.
   * @throws {RangeError} If `nextId` is below the first free id.
   */
  register(sites: [number, FuncSite][], nextId: number): void {
    const reg = registry();
    const first = reg.next;
    if (nextId < first) {
      throw new RangeError(
        `Cannot register a module's function ids as they end before they start: ${nextId} < ${first}`,
      );
    }
    for (const [id, site] of sites) this.#sites.set(id, site);
    for (let id = this.#calls.length; id < nextId; id++) {
      this.#calls.push(0);
      this.#prim.push(0);
      this.#tt.push(0);
      this.#ct.push(0);
      this.#active.push(0);
      this.#onStack.push(0);
    }
    reg.modules.set(first, this.#probes);
    reg.next = nextId;
  }

  /** Publishes the probe lookup for instrumented modules of this thread. */
  install(): void {
    const modules = registry().modules;
    (globalThis as Record<symbol, unknown>)[FUNC_PROBES_KEY] ??= {
      module(first: number): FuncProbes {
        const probes = modules.get(first);
        if (!probes) throw new RangeError(`No function profiler probes for module id ${first}`);
        return probes;
      },
    };
  }

  /** Forgets the events kept so far (the counters stay), e.g. between two timelines. */
  clearEvents(): void {
    if (this.#log) this.#log.length = 0;
    this.#dropped.count = 0;
  }

  /**
   * Returns the counters and events recorded so far.
   *
   * @returns Plain data; functions never called are left out.
   */
  snapshot(): FuncThreadData {
    const counts: FuncThreadData["counts"] = [];
    const sites: FuncThreadData["sites"] = [];
    for (const [id, site] of this.#sites) {
      if (!this.#calls[id]) continue;
      sites.push([id, site]);
      counts.push([id, this.#calls[id], this.#prim[id], this.#tt[id], this.#ct[id]]);
    }
    // Sites that only appear in events (a call still running) are named too.
    if (this.#log) {
      const seen = new Set(sites.map(([id]) => id));
      for (let i = 1; i < this.#log.length; i += 3) {
        const id = this.#log[i];
        if (!seen.has(id) && this.#sites.has(id)) {
          seen.add(id);
          sites.push([id, this.#sites.get(id)!]);
        }
      }
    }
    return {
      timeOrigin: performance.timeOrigin,
      sites,
      counts,
      ...(this.#log ? { events: this.#log.slice(), droppedEvents: this.#dropped.count } : {}),
      end: performance.now(),
    };
  }

  #makeProbes(): FuncProbes {
    const perf = performance;
    const stack = this.#stack;
    const calls = this.#calls, prim = this.#prim, tt = this.#tt, ct = this.#ct;
    const active = this.#active;
    // Frames of each function on the stack now: recursion in plain (sync) code is found in O(1);
    // only a function with suspended calls walks the callers' chain.
    const onStack = this.#onStack;
    const events = this.#log, maxLog = this.#maxLog, dropped = this.#dropped;
    const log = (kind: number, id: number, at: number) => {
      if (events!.length < maxLog) events!.push(kind, id, at);
      else dropped.count++;
    };
    // Closes a frame that leaves the stack in the event log, with the callers re-opened for it.
    const logClose = (f: FuncFrame, now: number) => {
      log(1, f.id, now);
      if (f.shown) {
        for (let k = f.shown.length - 1; k >= 0; k--) log(1, f.shown[k].id, now);
        f.shown = null;
      }
    };
    const leave = (f: FuncFrame, now: number) => {
      const top = stack.length - 1;
      if (stack[top] === f) {
        stack.pop();
        onStack[f.id]--;
      } else {
        // Not on top: a callee never reported its exit (cannot happen with try/finally, but
        // the stack must not stay wrong if it does).
        const at = stack.lastIndexOf(f);
        if (at >= 0) {
          for (let k = at; k < stack.length; k++) onStack[stack[k].id]--;
          stack.length = at;
        }
      }
      if (events) logClose(f, now);
      const next = stack[stack.length - 1];
      if (next) next.t = now;
    };
    const closeAwait = (f: FuncFrame, now: number) => {
      f.suspended = false;
      const s = f.site;
      if (s) {
        const d = now - f.awaitStart;
        calls[s]++;
        prim[s]++;
        tt[s] += d;
        ct[s] += d;
      }
    };
    const resume = (f: FuncFrame, now: number) => {
      closeAwait(f, now);
      const top = stack[stack.length - 1];
      if (top) tt[top.id] += now - top.t;
      if (events) {
        if (!top) {
          // Re-open the async callers still waiting for this one, so the timeline shows
          // main > ex1 when ex1 resumes rather than ex1 alone.
          let shown: FuncFrame[] | null = null;
          for (let p = f.parent; p && !p.done && p.suspended; p = p.parent) {
            (shown ??= []).unshift(p);
          }
          if (shown) { for (const p of shown) log(0, p.id, now); }
          f.shown = shown;
        }
        log(0, f.id, now);
      }
      stack.push(f);
      onStack[f.id]++;
      f.t = now;
    };
    const probes: FuncProbes = {
      e(id: number): FuncFrame {
        const now = perf.now();
        const top = stack.length ? stack[stack.length - 1] : null;
        if (top) tt[top.id] += now - top.t;
        let recursive = false;
        if (onStack[id] > 0) recursive = true;
        else if (active[id] > 0) {
          for (let p = top; p; p = p.parent) {
            if (p.id === id && !p.done) {
              recursive = true;
              break;
            }
          }
        }
        active[id]++;
        calls[id]++;
        if (!recursive) prim[id]++;
        const f: FuncFrame = {
          id,
          start: now,
          t: now,
          parent: top,
          recursive,
          suspended: false,
          awaitStart: 0,
          site: 0,
          done: false,
          shown: null,
        };
        stack.push(f);
        onStack[id]++;
        if (events) log(0, id, now);
        return f;
      },
      x(f: FuncFrame): void {
        const now = perf.now();
        if (f.suspended) closeAwait(f, now); // an await rejected and nothing caught it
        else {
          tt[f.id] += now - f.t;
          leave(f, now);
        }
        f.done = true;
        active[f.id]--;
        if (!f.recursive) ct[f.id] += now - f.start;
      },
      s<T>(f: FuncFrame, site: number, value: T): T {
        if (f.suspended || f.done) return value;
        const now = perf.now();
        tt[f.id] += now - f.t;
        leave(f, now);
        f.suspended = true;
        f.awaitStart = now;
        f.site = site;
        return value;
      },
      r<T>(f: FuncFrame, value?: T): T {
        if (f.suspended && !f.done) resume(f, perf.now());
        return value as T;
      },
      i(f: FuncFrame, site: number, iterable: unknown): AsyncIterable<unknown> {
        // deno-lint-ignore no-explicit-any
        const src = iterable as any;
        return {
          [Symbol.asyncIterator]() {
            const asyncIt = src?.[Symbol.asyncIterator];
            // deno-lint-ignore no-explicit-any
            const it: any = asyncIt ? asyncIt.call(src) : src[Symbol.iterator]();
            const step = (p: unknown) => {
              probes.s(f, site, undefined);
              return Promise.resolve(p).then(
                // deno-lint-ignore no-explicit-any
                async (res: any) => {
                  // `for await` over a sync iterable awaits each value.
                  const value = !asyncIt && !res.done ? await res.value : res.value;
                  probes.r(f);
                  return { done: res.done, value };
                },
                (error) => {
                  probes.r(f);
                  throw error;
                },
              );
            };
            return {
              next: (v?: unknown) => step(it.next(v)),
              return: (v?: unknown) =>
                it.return ? step(it.return(v)) : Promise.resolve({ done: true, value: v }),
              throw: (e?: unknown) => (it.throw ? step(it.throw(e)) : Promise.reject(e)),
            };
          },
        } as AsyncIterable<unknown>;
      },
    };
    return probes;
  }
}
