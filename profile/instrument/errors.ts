/**
 * The errors of the instrumenter, apart from it so that a run that finds every module in the
 * cache (and so never loads the instrumenter) can still tell them apart.
 *
 * @module
 */

/** Base of the errors that point at a place in a source file. */
export class InstrumentError extends Error {
  /** File of the problem. */
  file: string;
  /** Line (1-based). */
  line: number;
  /** Column (1-based). */
  column: number;
  /** The source lines around the place, with a caret under it. */
  codeFrame: string;

  /** Creates the error. */
  constructor(
    message: string,
    at: { file: string; line: number; column: number; codeFrame: string },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "InstrumentError";
    this.file = at.file;
    this.line = at.line;
    this.column = at.column;
    this.codeFrame = at.codeFrame;
  }
}

/** Thrown when a file to profile does not parse. */
export class InstrumentSyntaxError extends InstrumentError {
  /** Creates the error. */
  constructor(
    message: string,
    at: { file: string; line: number; column: number; codeFrame: string },
  ) {
    super(message, at);
    this.name = "InstrumentSyntaxError";
  }
}

/** Thrown when a `@profile` marker is not directly above something that can be profiled. */
export class MarkerError extends InstrumentError {
  /** Creates the error. */
  constructor(
    message: string,
    at: { file: string; line: number; column: number; codeFrame: string },
  ) {
    super(message, at);
    this.name = "MarkerError";
  }
}
