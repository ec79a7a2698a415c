/**
 * Errors that callers of the runtime are meant to catch.
 *
 * @module
 */

/** Base class of the runtime's own errors. */
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

/** Rebuilds an error object from what a worker sent, keeping its name, message and stack. */
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

/** `get` or `wait` gave up after its `timeout`. */
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

/** The task was cancelled with `cancel` before it produced a result. */
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

/** The worker running the task died (exit, uncaught error, out of memory) and no retry was left. */
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

/** The actor is dead (killed, its constructor threw, or its worker died). */
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

/** The runtime was shut down, or is not running. */
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
