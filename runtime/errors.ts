/**
 * Errors that callers of the runtime are meant to catch.
 *
 * @module
 */

/** Base class of the runtime's own errors. */
export class RayError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RayError";
  }
}

/** Describes an error raised inside a worker. */
export interface RemoteErrorInfo {
  name: string;
  message: string;
  stack: string;
  /** Own enumerable properties of the original error that could be sent (e.g. `code`). */
  props?: Record<string, unknown>;
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
  constructor(message: string) {
    super(message);
    this.name = "GetTimeoutError";
  }
}

/** The task was cancelled with `cancel` before it produced a result. */
export class TaskCancelledError extends RayError {
  constructor(message: string) {
    super(message);
    this.name = "TaskCancelledError";
  }
}

/** The worker running the task died (exit, uncaught error, out of memory) and no retry was left. */
export class WorkerCrashedError extends RayError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerCrashedError";
  }
}

/** The actor is dead (killed, its constructor threw, or its worker died). */
export class ActorDiedError extends RayError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ActorDiedError";
  }
}

/** The runtime was shut down, or is not running. */
export class RuntimeShutdownError extends RayError {
  constructor(message: string) {
    super(message);
    this.name = "RuntimeShutdownError";
  }
}
