/**
 * Errors that callers of the runtime are meant to catch.
 *
 * @module
 */

/**
 * Base class of the runtime's own errors: catch it to tell the runtime's failures from others.
 *
 * @example
 * ```ts
 * import { get, GetTimeoutError, init, RayError, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const slow = remote(async function slow() {
 *   await new Promise((done) => setTimeout(done, 500));
 * });
 * init({ numCpus: 1 });
 * try {
 *   const err = await get(slow.remote(), { timeout: 10 }).catch((e) => e);
 *   assert.ok(err instanceof RayError);
 *   assert.ok(err instanceof GetTimeoutError);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export class RayError extends Error {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   * @param options `cause`: the error behind this one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RayError";
  }
}

/** Describes an error raised inside a worker. */
export interface RemoteErrorInfo {
  /** The error's `name`, e.g. "TypeError". */
  name: string;
  /** The error's `message`. */
  message: string;
  /** The error's `stack` as the worker printed it (empty if it had none). */
  stack: string;
  /** Own enumerable properties of the original error that could be sent (e.g. `code`). */
  props?: Record<string, unknown>;
  /** The error's `cause`, when it was an error too. */
  cause?: RemoteErrorInfo;
}

/**
 * Rebuilds an error object from what a worker sent, keeping its name, message and stack.
 *
 * @param info What the worker sent.
 * @returns A plain `Error` with the remote name, message, stack, properties and cause.
 *
 * @example
 * ```ts
 * import { reviveError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const err = reviveError({
 *   name: "RangeError",
 *   message: "too big",
 *   stack: "RangeError: too big\n    at f (file:///app/tasks.ts:3:9)",
 *   props: { code: "E_BIG" },
 * });
 * assert.equal(err.name, "RangeError");
 * assert.equal((err as Error & { code?: string }).code, "E_BIG");
 * ```
 */
export function reviveError(info: RemoteErrorInfo): Error {
  const err = new Error(info.message);
  err.name = info.name;
  err.stack = info.stack;
  if (info.props) Object.assign(err, info.props);
  if (info.cause) (err as Error & { cause?: unknown }).cause = reviveError(info.cause);
  return err;
}

/**
 * A task threw. `cause` holds the remote error (same name, message and stack); the stack of this
 * error is the remote one, pointing at the user's file and line.
 *
 * @example
 * ```ts
 * import { get, init, remote, shutdown, TaskError } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const parse = remote(function parse(text: string) {
 *   return JSON.parse(text);
 * });
 * init({ numCpus: 1 });
 * try {
 *   const err = await get(parse.remote("{oops")).catch((e) => e);
 *   assert.ok(err instanceof TaskError);
 *   assert.equal(err.taskName, "parse");
 *   assert.equal(err.remoteName, "SyntaxError");
 *   assert.equal((err.cause as Error).name, "SyntaxError");
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export class TaskError extends RayError {
  /** Name of the remote function or actor method. */
  readonly taskName: string;
  /** Task id. */
  readonly taskId: number;
  /** The remote error's name, e.g. "TypeError". */
  readonly remoteName: string;

  /**
   * Makes the error of a failed task; the runtime does this, with what the worker sent.
   *
   * @param taskName Name of the remote function or actor method.
   * @param taskId Task id.
   * @param info The remote error, revived as `cause`.
   */
  constructor(taskName: string, taskId: number, info: RemoteErrorInfo) {
    super(`Task '${taskName}' (id ${taskId}) failed: ${info.name}: ${info.message}`, {
      cause: reviveError(info),
    });
    this.name = "TaskError";
    this.taskName = taskName;
    this.taskId = taskId;
    this.remoteName = info.name;
    const remoteFrames = info.stack.split("\n").filter((l) => /^\s+at /.test(l)).join("\n");
    this.stack = `${this.name}: ${this.message}\n${remoteFrames}`;
  }
}

/**
 * `get` or `wait` gave up after its `timeout`. The task goes on: `get` it again, or `cancel` it.
 *
 * @example
 * ```ts
 * import { get, GetTimeoutError, init, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const slow = remote(async function slow() {
 *   await new Promise((done) => setTimeout(done, 100));
 *   return "done";
 * });
 * init({ numCpus: 1 });
 * try {
 *   const ref = slow.remote();
 *   await assert.rejects(get(ref, { timeout: 5 }), GetTimeoutError);
 *   assert.equal(await get(ref), "done"); // the task was not stopped
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export class GetTimeoutError extends RayError {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "GetTimeoutError";
  }
}

/**
 * The task was cancelled with `cancel` before it produced a result.
 *
 * @example
 * ```ts
 * import { cancel, get, init, remote, shutdown, TaskCancelledError } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const slow = remote(async function slow() {
 *   await new Promise((done) => setTimeout(done, 200));
 * });
 * init({ numCpus: 1 });
 * try {
 *   const running = slow.remote();
 *   const queued = slow.remote(); // waits for the only worker
 *   cancel(queued);
 *   await assert.rejects(get(queued), TaskCancelledError);
 *   await get(running);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export class TaskCancelledError extends RayError {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "TaskCancelledError";
  }
}

/**
 * The worker running the task died (exit, uncaught error, out of memory) and no retry was left.
 *
 * @example
 * ```ts
 * import { get, init, remote, shutdown, WorkerCrashedError } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const crash = remote(function crash() {
 *   // An error thrown later, outside the task, is the worker's uncaught error: it dies.
 *   setTimeout(() => {
 *     throw new Error("boom");
 *   });
 *   return new Promise(() => {});
 * }, { maxRetries: 0 });
 * init({ numCpus: 1 });
 * try {
 *   await assert.rejects(get(crash.remote()), WorkerCrashedError);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export class WorkerCrashedError extends RayError {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   * @param options `cause`: the error behind this one (e.g. the worker's uncaught error).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerCrashedError";
  }
}

/**
 * The actor is dead (killed, its constructor threw, or its worker died).
 *
 * @example An actor whose constructor threw
 * ```ts
 * import { ActorDiedError, get, init, remote, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const Db = remote(class Db {
 *   constructor(url: string) {
 *     if (!url.startsWith("db://")) throw new TypeError(`not a database URL: ${url}`);
 *   }
 *   ping() {
 *     return "pong";
 *   }
 * });
 * init({ numCpus: 1 });
 * try {
 *   const db = Db.remote("http://x");
 *   await assert.rejects(get(db.ping.remote()), ActorDiedError);
 * } finally {
 *   await shutdown();
 * }
 * ```
 */
export class ActorDiedError extends RayError {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   * @param options `cause`: the error behind this one (e.g. the worker's uncaught error).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ActorDiedError";
  }
}

/**
 * The runtime was shut down, or is not running.
 *
 * @example
 * ```ts
 * import { get, init, remote, RuntimeShutdownError, shutdown } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const slow = remote(async function slow() {
 *   await new Promise((done) => setTimeout(done, 1000));
 * });
 * init({ numCpus: 1 });
 * const ref = slow.remote();
 * await shutdown(); // stops the workers; what has not finished is rejected
 * await assert.rejects(get(ref), RuntimeShutdownError);
 * ```
 */
export class RuntimeShutdownError extends RayError {
  /**
   * Makes the error.
   *
   * @param message What went wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "RuntimeShutdownError";
  }
}
