/**
 * The few places where Deno and Bun differ, and where the runtime touches the host.
 *
 * Workers are `node:worker_threads` Workers in Deno: unlike Deno's `Worker` they can be
 * `unref()`ed (so idle workers do not keep a script alive) and report their exit (so `Deno.exit()`
 * inside a worker is noticed). Bun's own `Worker` does both (`unref()`, and a "close" event with
 * the exit code), takes `workerData`, and gives its thread a `parentPort`, and it answers its
 * first message sooner: bench/first_floor.mjs measured 8.5 ms against 21.6 ms for a
 * `node:worker_threads` one, and 15.8 against 33.1 ms for one that imports mod.ts first (medians
 * of 11 processes each, interleaved, on a machine busy with other work), so Bun's pool uses it.
 *
 * @module
 */
import { Worker } from "node:worker_threads";

type DenoLike = {
  version?: { deno?: string };
  env?: { get(k: string): string | undefined };
  memoryUsage?: () => { rss: number };
};
type ProcessLike = {
  env: Record<string, string | undefined>;
  memoryUsage: { rss(): number };
};
const g = globalThis as typeof globalThis & {
  Deno?: DenoLike;
  Bun?: { version: string };
  process?: ProcessLike;
};

/** Name of the host runtime. */
export const runtimeName: "deno" | "bun" | "node" = g.Deno?.version?.deno
  ? "deno"
  : g.Bun
  ? "bun"
  : "node";

// The environment and the process's memory are read through the runtimes' own globals, not
// node:process: importing node:process costs a fresh Deno process 6-11 ms (it sets up Node's
// process object), which every program and every worker that imports mod.ts would pay.

/**
 * An environment variable, or undefined when unset or not readable (Deno without --allow-env).
 */
export function envVar(name: string): string | undefined {
  try {
    return g.Deno?.env ? g.Deno.env.get(name) : g.process?.env[name];
  } catch {
    return undefined;
  }
}

/** The process's resident memory in bytes. */
export function residentMemory(): number {
  return g.Deno?.memoryUsage ? g.Deno.memoryUsage().rss : g.process!.memoryUsage.rss();
}

/**
 * The machine's memory in bytes, or undefined when it cannot be read (Deno without
 * --allow-sys). Deno's own call, and under Bun node:os taken when asked: importing node:os costs
 * every process and every worker about a millisecond.
 */
export function totalMemory(): number | undefined {
  try {
    const d = g.Deno as { systemMemoryInfo?: () => { total: number } } | undefined;
    if (d?.systemMemoryInfo) return d.systemMemoryInfo().total;
    const p = g.process as { getBuiltinModule?(id: string): { totalmem(): number } } | undefined;
    return p?.getBuiltinModule?.("node:os").totalmem();
  } catch {
    return undefined;
  }
}

/** Logical CPUs, as the pool's default size. */
export function hardwareConcurrency(): number {
  return (globalThis.navigator?.hardwareConcurrency as number | undefined) ?? 1;
}

/** The handle of one worker thread, as the pool sees it. */
export interface WorkerHandle {
  post(message: unknown, transfer?: Transferable[]): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown>;
}

/** Callbacks of a worker. */
export interface WorkerEvents {
  message(data: unknown): void;
  /** The thread ended; `code` is its exit code when known. */
  exit(code: number): void;
  /** An error the worker could not report itself (e.g. failing to load its entry). */
  error(err: unknown): void;
}

const WORKER_URL = new URL("./worker.ts", import.meta.url);
// node:worker_threads takes file: and data: URLs only; a runtime imported over HTTP starts its
// workers from a data: module that imports the worker entry.
const WORKER_ENTRY = WORKER_URL.protocol === "file:" ? WORKER_URL : new URL(
  `data:text/javascript,${encodeURIComponent(`await import(${JSON.stringify(WORKER_URL.href)});`)}`,
);

/**
 * Starts a worker thread running runtime/worker.ts. `heapMb` caps the worker's heap (0: V8's
 * default): in Deno a worker at its cap stops, where one at V8's default limit aborts the whole
 * process, and Deno's `terminate()` cannot stop a worker busy allocating in a loop (it can stop
 * one that stopped at its cap). Bun ignores the cap.
 */
export function spawnWorker(
  data: unknown,
  events: WorkerEvents,
  name: string,
  heapMb = 0,
): WorkerHandle {
  if (runtimeName === "bun") return spawnBunWorker(data, events, name);
  const options: Record<string, unknown> = { workerData: data, name };
  if (heapMb > 0) options.resourceLimits = { maxOldGenerationSizeMb: heapMb };
  const w = new Worker(WORKER_ENTRY, options as ConstructorParameters<typeof Worker>[1]);
  w.on("message", events.message);
  w.on("exit", events.exit);
  w.on("error", events.error);
  w.unref();
  return {
    post: (m, t) => w.postMessage(m, t as never),
    ref: () => w.ref(),
    unref: () => w.unref(),
    terminate: () => w.terminate(),
  };
}

/** Bun's `Worker`: the Web Worker with Node's `workerData`, `ref()`/`unref()` and exit codes. */
type BunWorker = globalThis.Worker & {
  ref(): void;
  unref(): void;
};

/** A worker started with Bun's own `Worker` (see the module doc); Bun has no heap cap to set. */
function spawnBunWorker(data: unknown, events: WorkerEvents, name: string): WorkerHandle {
  const Ctor = globalThis.Worker as unknown as new (url: URL, o: object) => BunWorker;
  const w = new Ctor(WORKER_ENTRY, { workerData: data, name });
  let closed = false;
  let onClosed = (): void => {};
  const ended = new Promise<void>((resolve) => onClosed = resolve);
  w.addEventListener("message", (e) => events.message((e as MessageEvent).data));
  w.addEventListener("close", (e) => {
    closed = true;
    onClosed();
    events.exit((e as Event & { code?: number }).code ?? 1);
  });
  w.addEventListener("error", (e) => {
    e.preventDefault();
    events.error((e as ErrorEvent).error ?? new Error((e as ErrorEvent).message));
  });
  w.unref();
  return {
    post: (m, t) => w.postMessage(m, t ?? []),
    ref: () => w.ref(),
    unref: () => w.unref(),
    terminate: () => {
      if (!closed) w.terminate();
      return ended;
    },
  };
}

/** Where one stack frame points. */
export interface Frame {
  url: string;
  line: number;
  column: number;
}

const FRAME_RE =
  /(?:\(|at )((?:file|https?|data|blob):[^\s)]+|\/[^\s)]+|[A-Za-z]:\\[^\s)]+):(\d+):(\d+)\)?\s*$/;

/** Parses one line of a V8 or JSC stack into a frame (file paths become file: URLs). */
export function parseFrame(line: string): Frame | undefined {
  const m = FRAME_RE.exec(line);
  if (!m) return undefined;
  let url = m[1];
  if (url.startsWith("/")) url = "file://" + encodeURI(url);
  return { url, line: Number(m[2]), column: Number(m[3]) };
}

const RUNTIME_DIR = new URL("./", import.meta.url).href;
const MOD_URL = new URL("../mod.ts", import.meta.url).href;

/** True for frames inside this runtime (they are hidden from users' stacks and callsites). */
export function isRuntimeUrl(url: string): boolean {
  return url.startsWith(RUNTIME_DIR) || url === MOD_URL;
}

/** The first stack frame outside the runtime: where the user called into it. */
export function userCallsite(stack: string | undefined): Frame | undefined {
  if (!stack) return undefined;
  for (const line of stack.split("\n")) {
    const f = parseFrame(line);
    if (f && !isRuntimeUrl(f.url)) return f;
  }
  return undefined;
}

interface CallSiteLike {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}

type StackApi = ErrorConstructor & {
  prepareStackTrace?: (e: Error, sites: CallSiteLike[]) => unknown;
  stackTraceLimit: number;
};

/**
 * The first frame outside the runtime, read through the structured stack API (V8's, which Bun
 * implements too): no stack string is formatted, which costs ≈10x more in Deno.
 */
export function callerFrame(): Frame | undefined {
  const E = Error as StackApi;
  const prepare = E.prepareStackTrace;
  const limit = E.stackTraceLimit;
  let sites: CallSiteLike[] | undefined;
  try {
    E.stackTraceLimit = 12;
    E.prepareStackTrace = (_e, s) => s;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerFrame);
    sites = holder.stack as CallSiteLike[] | undefined;
  } finally {
    E.prepareStackTrace = prepare;
    E.stackTraceLimit = limit;
  }
  if (!Array.isArray(sites)) return userCallsite(new Error().stack);
  for (const c of sites) {
    const name = c.getFileName?.();
    // Bun names a native frame (`Array.prototype.map` calling the user's arrow) "[unknown]"
    // or "[native code]": not where the user is.
    if (!name || name.startsWith("[")) continue;
    const url = name.startsWith("/") ? "file://" + encodeURI(name) : name;
    if (isRuntimeUrl(url)) continue;
    return { url, line: c.getLineNumber() ?? 0, column: c.getColumnNumber() ?? 0 };
  }
  return undefined;
}

/** Where the caller of a runtime function is, as "url:line:col", or undefined. */
export function captureCallsite(): string | undefined {
  const f = callerFrame();
  return f ? `${f.url}:${f.line}:${f.column}` : undefined;
}

/** Removes the runtime's own frames from a stack, keeping the user's. */
export function cleanStack(stack: string): string {
  return stack.split("\n").filter((l) => {
    const f = parseFrame(l);
    return !(f && isRuntimeUrl(f.url)) && !/^\s+at .*(ext:|node:internal|native)/.test(l);
  }).join("\n");
}
