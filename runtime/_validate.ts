/**
 * Checks of the options and arguments the API takes, each with its own precise message.
 *
 * @module
 */

/** Throws a TypeError naming the first key of `options` that is not in `allowed`. */
export function checkKeys(what: string, options: object, allowed: Set<string>): void {
  for (const k of Object.keys(options)) {
    if (!allowed.has(k)) {
      throw new TypeError(
        `Cannot ${what} as '${k}' is not a known option: expected one of ${
          [...allowed].join(", ")
        }`,
      );
    }
  }
}

/** A value as an error message shows it. */
export function describe(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** Checks an integer option of at least `min`; returns it. */
export function checkCount(what: string, name: string, v: unknown, min: number): number {
  if (typeof v !== "number") {
    throw new TypeError(
      `Cannot ${what} as '${name}' must be a number: received ${typeof v} ${describe(v)}`,
    );
  }
  if (!Number.isInteger(v) || v < min) {
    const kind = min === 1
      ? "a positive integer"
      : min === 0
      ? "a non-negative integer"
      : `an integer >= ${min}`;
    throw new RangeError(`Cannot ${what} as '${name}' must be ${kind}: received ${describe(v)}`);
  }
  return v;
}

/** Checks a `name` option; returns it. */
export function checkName(what: string, name: unknown): string {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot ${what} as 'name' must be a non-empty string: received ${describe(name)}`,
    );
  }
  return name;
}

/** Checks a `timeout` option (ms); returns it, or null for no limit. */
export function checkTimeout(what: string, t: unknown): number | null {
  if (t === undefined || t === null) return null;
  if (typeof t !== "number" || Number.isNaN(t) || t < 0) {
    throw new RangeError(
      `Cannot ${what} as 'timeout' must be a non-negative number of milliseconds: received ${
        describe(t)
      }`,
    );
  }
  return Number.isFinite(t) ? t : null;
}
