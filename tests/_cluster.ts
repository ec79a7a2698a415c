/**
 * Test harness of the cluster: a Redis server of its own on a free loopback port (Debian's
 * `redis-server`, which .ci/run installs), nodes started as a user starts them (`cli.ts node`
 * under Deno or Bun), driver scripts run as child processes, and everything stopped at the end.
 *
 * @module
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { after, before } from "node:test";
import { TASK_STREAMS } from "../cluster/_redis.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const BIN = join(ROOT, "node_modules", ".bin");
export const FIXTURES = join(ROOT, "tests", "fixtures", "cluster");

/**
 * The cluster tests are driven from Deno only: each starts Deno and Bun processes itself. Their
 * `skip` under Bun.
 */
export const SKIP: string | false = "Bun" in globalThis
  ? "driven from Deno: it runs Deno and Bun itself"
  : false;

/** The executable and the arguments that run `script` with `args` under `runtime`. */
export function command(runtime: "deno" | "bun", script: string, args: string[] = []): string[] {
  return runtime === "deno"
    ? [join(BIN, "deno"), "run", "-A", script, ...args]
    : [join(BIN, "bun"), script, ...args];
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => ok(port));
    });
  });
}

/** Runs `redis-cli -p PORT args...` and gives its output. */
export function redisCli(
  port: number,
  args: string[],
  password?: string,
  lastArg?: Uint8Array,
): Promise<string> {
  const auth = password ? ["-a", password, "--no-auth-warning"] : [];
  // -x: the last argument is read from stdin, as bytes.
  const x = lastArg ? ["-x"] : [];
  return new Promise((ok, fail) => {
    const c = execFile("redis-cli", ["-p", String(port), ...auth, ...x, ...args], (e, out, err) => {
      if (e) fail(new Error(`redis-cli ${args.join(" ")}: ${err || e.message}`));
      else ok(String(out).trim());
    });
    if (lastArg) c.stdin!.end(lastArg);
  });
}

/** A Redis server of the test's own. */
export class RedisServer {
  port = 0;
  dir = "";
  #child: ChildProcess | undefined;
  readonly #extra: string[];
  readonly password?: string;

  constructor(options: { appendonly?: boolean; password?: string } = {}) {
    this.#extra = ["--appendonly", options.appendonly ? "yes" : "no"];
    if (options.appendonly) this.#extra.push("--appendfsync", "always");
    if (options.password) this.#extra.push("--requirepass", options.password);
    this.password = options.password;
  }

  /** The address, with the password if any. */
  get address(): string {
    return this.password
      ? `redis://:${this.password}@127.0.0.1:${this.port}`
      : `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port and folder, after `stop`). */
  async start(): Promise<void> {
    this.port ||= await freePort();
    this.dir ||= mkdtempSync(join(tmpdir(), "rayprof-redis-"));
    this.#child = spawn("redis-server", [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--dir",
      this.dir,
      ...this.#extra,
    ], { stdio: "ignore" });
    const failed = new Promise<never>((_, fail) => {
      this.#child!.once(
        "error",
        (e) =>
          fail(new Error(`Cannot start redis-server (apt-get install redis-server): ${e.message}`)),
      );
    });
    const deadline = Date.now() + 10_000;
    while (true) {
      try {
        const pong = await Promise.race([redisCli(this.port, ["PING"], this.password), failed]);
        if (pong === "PONG") return;
      } catch (e) {
        if (String(e).includes("Cannot start")) throw e;
      }
      if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
      await sleep(50);
    }
  }

  /** Stops it with SIGKILL (an append-only file keeps what was written). */
  async stop(): Promise<void> {
    const c = this.#child;
    if (!c || c.exitCode !== null) return;
    const done = new Promise((ok) => c.once("exit", ok));
    c.kill("SIGKILL");
    await done;
  }

  /** Stops it and removes its folder. */
  async close(): Promise<void> {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Number of keys. */
  async dbsize(): Promise<number> {
    return Number(await redisCli(this.port, ["DBSIZE"], this.password));
  }

  /** Keys other than the nodes' own (registration, stream) and the shared task streams, sorted. */
  async driverKeys(): Promise<string[]> {
    return (await this.keys()).filter((k) => !/^rp:(node|q):/.test(k) && !TASK_STREAMS.includes(k))
      .sort();
  }

  /** Keys matching `pattern`. */
  async keys(pattern = "*"): Promise<string[]> {
    const out = await redisCli(this.port, ["--scan", "--pattern", pattern], this.password);
    return out ? out.split("\n") : [];
  }
}

/** A node process (`cli.ts node`). */
export class NodeProcess {
  readonly child: ChildProcess;
  log = "";
  readonly exited: Promise<number | null>;

  constructor(
    runtime: "deno" | "bun",
    address: string,
    options: { numCpus?: number; name: string; env?: Record<string, string> },
  ) {
    const [exe, ...args] = command(runtime, join(ROOT, "cli.ts"), [
      "node",
      "--address",
      address,
      "--num-cpus",
      String(options.numCpus ?? 2),
      "--name",
      options.name,
    ]);
    this.child = spawn(exe, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (d) => (this.log += d));
    this.child.stderr!.on("data", (d) => (this.log += d));
    this.exited = new Promise((ok) => this.child.once("exit", (code) => ok(code)));
  }

  /** Waits until its log has a line matching `re`. */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.log)) {
      if (this.child.exitCode !== null) {
        throw new Error(`node exited (${this.child.exitCode}) before ${re}:\n${this.log}`);
      }
      if (Date.now() > deadline) throw new Error(`node log never matched ${re}:\n${this.log}`);
      await sleep(25);
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 20_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    // process.kill, not child.kill: Deno's child.kill reports the process as ended by the signal
    // it sent even when the process handled it and exited with a code of its own.
    process.kill(this.child.pid!, signal);
    const t = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

/** What a driver run printed. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a driver script under `runtime` with `env`, killed after `timeoutMs`. */
export function runDriver(
  runtime: "deno" | "bun",
  script: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
  args: string[] = [],
): Promise<Run> {
  const [exe, ...rest] = command(runtime, script, args);
  return new Promise((ok) => {
    execFile(exe, rest, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", ...env },
      timeout: timeoutMs,
      killSignal: "SIGKILL",
      maxBuffer: 1 << 24,
    }, (e, stdout, stderr) => {
      const code = e ? Number((e as { code?: number }).code ?? 1) : 0;
      ok({
        code: Number.isFinite(code) ? code : 137,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

/** The last line of `stdout` parsed as JSON (driver fixtures print their findings so). */
export function lastJson(r: Run): Record<string, unknown> {
  const lines = r.stdout.trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    throw new Error(`no JSON line (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/**
 * A Redis server for the tests of one file: started before them and closed (its process killed,
 * its folder removed) after them; never started under {@linkcode SKIP}.
 */
export function redisForFile(options?: { appendonly?: boolean; password?: string }): RedisServer {
  const redis = new RedisServer(options);
  before(async () => {
    if (!SKIP) await redis.start();
  });
  after(async () => {
    await redis.close();
  });
  return redis;
}

/** A node to start: its runtime, name and slots (2 by default). */
export type NodeSpec = [runtime: "deno" | "bun", name: string, numCpus?: number];

/** Starts nodes on `address` and waits until each has said it is up. */
export async function startNodes(
  address: string,
  specs: NodeSpec[],
  env?: (index: number) => Record<string, string>,
): Promise<NodeProcess[]> {
  const nodes = specs.map(([rt, name, numCpus], i) =>
    new NodeProcess(rt, address, { name, numCpus, ...(env ? { env: env(i) } : {}) })
  );
  await Promise.all(nodes.map((n) => n.waitFor(/slots, on rediss?:/)));
  return nodes;
}

/** Stops nodes with SIGTERM and waits for their exits. */
export async function stopAll(nodes: NodeProcess[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
}
