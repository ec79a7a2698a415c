/**
 * The part of Node's `util.parseArgs` that the CLI uses, with no `node:` import: under Deno,
 * importing any `node:` module starts the Node compatibility layer (`node:util` alone adds
 * ≈12 ms to start-up). Follows Node's `lib/internal/util/parse_args/parse_args.js` in strict
 * mode, error messages and codes included, so the two can be swapped.
 *
 * ```ts
 * import { parseArgs } from "./parse_args.ts";
 *
 * const { values, positionals } = parseArgs({
 *   args: ["-qu", "1e-3", "out.json"],
 *   options: { unit: { type: "string", short: "u" }, quiet: { type: "boolean", short: "q" } },
 *   allowPositionals: true,
 *   strict: true,
 * });
 * // values: { quiet: true, unit: "1e-3" }; positionals: ["out.json"]
 * ```
 *
 * @module
 */

/** One option of {@linkcode parseArgs}, as in Node's `util.parseArgs`. */
export interface ParseArgsOptionConfig {
  /** Whether the option takes a value (`"string"`) or is a flag (`"boolean"`). */
  type: "string" | "boolean";
  /** A one-character alias: `"u"` for `-u`. */
  short?: string;
  /**
   * Collect every use into an array, in order, instead of keeping the last one.
   *
   * @default {false}
   */
  multiple?: boolean;
  /** The value when the option is not given. */
  default?: string | boolean | readonly string[] | readonly boolean[];
}

/** The options of {@linkcode parseArgs}, by long name. */
export type ParseArgsOptionsConfig = Record<string, ParseArgsOptionConfig>;

/** What {@linkcode parseArgs} parses and how. */
export interface ParseArgsConfig<T extends ParseArgsOptionsConfig> {
  /** The arguments, without the program's own (`Deno.args`, `process.argv.slice(2)`). */
  args: readonly string[];
  /** The options it accepts: any other is an error. */
  options?: T;
  /**
   * Accept arguments that are not options.
   *
   * @default {false}
   */
  allowPositionals?: boolean;
  /**
   * Only strict mode is implemented: unknown options and misused values throw.
   *
   * @default {true}
   */
  strict?: true;
}

type Scalar<O extends ParseArgsOptionConfig> = O["type"] extends "string" ? string
  : O["type"] extends "boolean" ? boolean
  : string | boolean;

// `multiple: true` (as `as const` gives) is an array; absent or `false`, one value; unknown, either.
type OptionValue<O extends ParseArgsOptionConfig> = O extends { multiple: true } ? Scalar<O>[]
  : O extends { multiple: false } ? Scalar<O>
  : O extends { multiple: boolean } ? Scalar<O> | Scalar<O>[]
  : Scalar<O>;

/** The option values {@linkcode parseArgs} found: absent unless given or defaulted. */
export type ParsedValues<T extends ParseArgsOptionsConfig> =
  & {
    -readonly [K in keyof T as T[K] extends { default: unknown } ? K : never]: OptionValue<T[K]>;
  }
  & {
    -readonly [K in keyof T as T[K] extends { default: unknown } ? never : K]?: OptionValue<
      T[K]
    >;
  };

/** The result of {@linkcode parseArgs}. */
export interface ParsedResults<T extends ParseArgsOptionsConfig> {
  /** Option values by long name, in an object without a prototype (as Node's). */
  values: ParsedValues<T>;
  /** The arguments that are not options, in order. */
  positionals: string[];
}

/** The error Node throws: a TypeError whose `code` names the problem. */
function parseError(code: string, message: string): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code });
}

function unknownOption(rawName: string, allowPositionals: boolean): TypeError {
  const hint = allowPositionals
    ? `. To specify a positional argument starting with a '-', place it at the end of the ` +
      // Node's message has no closing quote after the JSON; kept so the two read the same.
      `command after '--', as in '-- ${JSON.stringify(rawName)}`
    : "";
  return parseError("ERR_PARSE_ARGS_UNKNOWN_OPTION", `Unknown option '${rawName}'${hint}`);
}

function invalidValue(message: string): TypeError {
  return parseError("ERR_PARSE_ARGS_INVALID_OPTION_VALUE", message);
}

function isOptionLike(value: string | undefined): boolean {
  return value !== undefined && value.length > 1 && value[0] === "-";
}

/**
 * Parses command-line arguments as Node's `util.parseArgs` does in strict mode: `--name`,
 * `--name=value`, `--name value`, `-n`, `-n value`, `-nvalue`, grouped flags `-abc` (the last
 * may take a value), `--` to end the options. Values and errors are Node's, messages and `code`s
 * included.
 *
 * @param config The arguments, the options they may hold, and whether other arguments are allowed.
 * @returns The option values by long name and the other arguments.
 * @throws {TypeError} With `code` `ERR_PARSE_ARGS_UNKNOWN_OPTION` for an option not in `options`,
 * `ERR_PARSE_ARGS_INVALID_OPTION_VALUE` for a string option without a value (or whose value
 * looks like an option) or a boolean one given a value, `ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL`
 * for a positional argument when `allowPositionals` is false; without a `code` for
 * `strict: false`, which is not implemented.
 *
 * @example Options and positionals
 * ```ts
 * import { parseArgs } from "./parse_args.ts";
 *
 * const { values, positionals } = parseArgs({
 *   args: ["--func", "a", "-qu", "1e-3", "--func=b", "out.json"],
 *   options: {
 *     func: { type: "string", multiple: true },
 *     unit: { type: "string", short: "u" },
 *     quiet: { type: "boolean", short: "q" },
 *   },
 *   allowPositionals: true,
 *   strict: true,
 * });
 * // values: { func: ["a", "b"], quiet: true, unit: "1e-3" }; positionals: ["out.json"]
 * ```
 */
export function parseArgs<T extends ParseArgsOptionsConfig>(
  config: ParseArgsConfig<T>,
): ParsedResults<T> {
  if ((config.strict as boolean | undefined) === false) {
    throw new TypeError("Cannot parse arguments as only strict mode is supported: received false");
  }
  const options: ParseArgsOptionsConfig = config.options ?? {};
  const allowPositionals = config.allowPositionals ?? false;
  const entries = Object.entries(options);
  const lookup = (name: string) => Object.hasOwn(options, name) ? options[name] : undefined;
  // Node takes the first option with that short name, else the letter itself as the long name.
  const longName = (short: string) => entries.find(([, o]) => o.short === short)?.[0] ?? short;
  const typeOf = (name: string) => lookup(name)?.type;

  const values: Record<string, string | boolean | (string | boolean)[]> = Object.create(null);
  const positionals: string[] = [];

  // Node's checkOptionUsage, checkOptionLikeValue and storeOption, in that order.
  function option(name: string, rawName: string, value: string | undefined, inline: boolean) {
    const spec = lookup(name);
    if (spec === undefined) throw unknownOption(rawName, allowPositionals);
    const shortAndLong = `${spec.short ? `-${spec.short}, ` : ""}--${name}`;
    if (spec.type === "string" && typeof value !== "string") {
      throw invalidValue(`Option '${shortAndLong} <value>' argument missing`);
    }
    if (spec.type === "boolean" && value !== undefined) {
      throw invalidValue(`Option '${shortAndLong}' does not take an argument`);
    }
    if (!inline && isOptionLike(value)) {
      const example = rawName.startsWith("--")
        ? `'${rawName}=-XYZ'`
        : `'--${name}=-XYZ' or '${rawName}-XYZ'`;
      throw invalidValue(
        `Option '${rawName}' argument is ambiguous.\n` +
          `Did you forget to specify the option argument for '${rawName}'?\n` +
          `To specify an option argument starting with a dash use ${example}.`,
      );
    }
    if (name === "__proto__") return;
    const stored = value ?? true;
    const previous = values[name];
    if (!spec.multiple) values[name] = stored;
    else if (Array.isArray(previous)) previous.push(stored);
    else values[name] = [stored];
  }

  // A queue, as Node's: a short group is expanded in place and read again.
  const rest = [...config.args];
  while (rest.length > 0) {
    const arg = rest.shift()!;
    const next = rest[0];
    if (arg === "--") {
      for (const a of rest) {
        if (!allowPositionals) {
          throw parseError(
            "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
            `Unexpected argument '${a}'. This command does not take positional arguments`,
          );
        }
        positionals.push(a);
      }
      break;
    }
    const short = arg[0] === "-" && arg[1] !== "-" && arg.length >= 2;
    if (short && arg.length === 2) {
      // -f, or -f VALUE for a string option (the next argument is taken whatever it is).
      const name = longName(arg[1]);
      const takes = typeOf(name) === "string" && next !== undefined;
      if (takes) rest.shift();
      option(name, arg, takes ? next : undefined, false);
      continue;
    }
    if (short && typeOf(longName(arg[1])) !== "string") {
      // -abc: -a -b -c; a string option before the end takes the rest: -abfFILE is -a -b -fFILE.
      const expanded: string[] = [];
      for (let i = 1; i < arg.length; i++) {
        if (typeOf(longName(arg[i])) !== "string" || i === arg.length - 1) {
          expanded.push(`-${arg[i]}`);
        } else {
          expanded.push(`-${arg.slice(i)}`);
          break;
        }
      }
      rest.unshift(...expanded);
      continue;
    }
    if (short) {
      // -fFILE
      option(longName(arg[1]), `-${arg[1]}`, arg.slice(2), true);
      continue;
    }
    if (arg.length > 2 && arg.startsWith("--")) {
      if (!arg.includes("=", 3)) {
        // --foo, or --foo VALUE for a string option.
        const name = arg.slice(2);
        const takes = typeOf(name) === "string" && next !== undefined;
        if (takes) rest.shift();
        option(name, arg, takes ? next : undefined, false);
      } else {
        const equals = arg.indexOf("=");
        const name = arg.slice(2, equals);
        option(name, `--${name}`, arg.slice(equals + 1), true);
      }
      continue;
    }
    if (!allowPositionals) {
      throw parseError(
        "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
        `Unexpected argument '${arg}'. This command does not take positional arguments`,
      );
    }
    positionals.push(arg);
  }

  for (const [name, spec] of entries) {
    if (spec.default !== undefined && values[name] === undefined && name !== "__proto__") {
      // The default itself, not a copy, as Node stores it.
      values[name] = spec.default as string | boolean | (string | boolean)[];
    }
  }
  return { values: values as ParsedValues<T>, positionals };
}
