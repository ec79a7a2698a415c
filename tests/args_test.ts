// profile/host/parse_args.ts: the port of node:util parseArgs, checked against Node's on the CLI's own option tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseArgs as nodeParseArgs } from "node:util";
import { parseArgs, type ParseArgsOptionsConfig } from "../profile/host/parse_args.ts";
import { PROFILE_OPTIONS, SHOW_OPTIONS } from "../cli.ts";

// The CLI's own option specs.
const PROFILE = PROFILE_OPTIONS;
const SHOW = SHOW_OPTIONS;

// The corners: a long name one letter long (-x finds it), defaults, a multiple boolean.
const EDGE = {
  x: { type: "boolean" },
  name: { type: "string", short: "n", default: "anon" },
  tag: { type: "string", short: "t", multiple: true, default: ["a"] },
  flag: { type: "boolean", multiple: true },
  verbose: { type: "boolean", short: "V" },
} as const;

const SPECS: Record<string, [ParseArgsOptionsConfig, boolean]> = {
  // profile parses only what comes before SCRIPT, so no positionals; show takes FILEs.
  profile: [PROFILE, false],
  show: [SHOW, true],
  edge: [EDGE, true],
  "edge-strict": [EDGE, false],
};

const VECTORS: [string, string[]][] = [
  ["profile", []],
  ["profile", ["--all"]],
  ["profile", ["--unit", "1e-3"]],
  ["profile", ["--unit=1e-3"]],
  ["profile", ["-u", "1e-3"]],
  ["profile", ["-u1e-3"]],
  ["profile", ["-qz"]],
  ["profile", ["-qu", "1e-3"]],
  ["profile", ["-qu1e-3"]],
  ["profile", ["-zqu", "5", "--all"]],
  ["profile", ["--func", "a", "--func=b", "--func", "c"]],
  ["profile", ["--module", "x.ts", "--func", "f", "--module=y.ts"]],
  ["profile", ["--unit", "1", "--unit", "2", "-u3"]],
  ["profile", ["--all", "--all"]],
  ["profile", ["--unit="]],
  ["profile", ["-u", ""]],
  ["profile", ["--output", "-"]],
  ["profile", ["-u=1"]],
  ["profile", ["--unit=-1"]],
  ["profile", ["-u-1"]],
  ["profile", ["--unit=a=b"]],
  ["profile", ["--sort", "time,calls", "--sort=name", "--per-worker", "--speedscope", "s.json"]],
  ["profile", ["--timeline", "t.json", "--gantt", "--html=r.html", "--functions"]],
  ["profile", ["--no-cache", "--overwrite", "--sample", "--summarize"]],
  ["profile", ["-h"]],
  ["profile", ["-hq", "--help"]],
  ["profile", ["--nope"]],
  ["profile", ["--Unit", "1"]],
  ["profile", ["---unit", "1"]],
  ["profile", ["-x"]],
  ["profile", ["-qx"]],
  ["profile", ["-z=1"]],
  ["profile", ["--no-all"]],
  ["profile", ["--__proto__"]],
  ["profile", ["--toString"]],
  ["profile", ["--constructor=1"]],
  ["profile", ["--="]],
  ["profile", ["--unit"]],
  ["profile", ["-u"]],
  ["profile", ["-qu"]],
  ["profile", ["--func"]],
  ["profile", ["--all", "--unit"]],
  ["profile", ["--unit", "--all"]],
  ["profile", ["-u", "-q"]],
  ["profile", ["--unit", "-1"]],
  ["profile", ["-qu", "-z"]],
  ["profile", ["-o", "--"]],
  ["profile", ["--all=true"]],
  ["profile", ["--quiet="]],
  ["profile", ["-q", "script.ts"]],
  ["profile", ["--", "script.ts"]],
  ["profile", ["--all", "--"]],
  ["profile", ["-"]],
  ["profile", ["--nope", "script.ts"]],
  ["profile", ["script.ts", "--nope"]],
  ["show", ["a.json", "b.json"]],
  ["show", ["-u", "1e-3", "a.json", "--summarize", "b.json"]],
  ["show", ["a.json", "--", "--unit", "-z", "--"]],
  ["show", ["-", "a.json"]],
  ["show", [""]],
  ["show", ["-zu", "1", "a.json"]],
  ["show", ["--nope", "a.json"]],
  ["show", ["-x"]],
  ["show", ["-zx"]],
  ["show", ["--skip-zero=", "a.json"]],
  ["show", ["--unit", "--summarize", "a.json"]],
  ["show", ["--unit"]],
  ["edge", []],
  ["edge", ["-x"]],
  ["edge", ["-n", "bob", "-t", "b", "--tag=c", "pos"]],
  ["edge", ["--flag", "--flag", "-x"]],
  ["edge", ["-xV"]],
  ["edge", ["-xnbob"]],
  ["edge", ["-nx"]],
  ["edge", ["-Vn"]],
  ["edge", ["--flag=yes"]],
  ["edge-strict", ["--name", "a", "b"]],
  ["edge-strict", ["-v"]],
];

const isBun = "Bun" in globalThis;

// Bun's node:util names an option that came from a group without its dash ("Unknown option
// 'x'", "Option 'u' argument is ambiguous"); Node 20 and Deno say '-x' and '-u', as we do.
// Under Bun these are held to Node's answer written out, which the other runtimes check.
const NODE_ANSWERS: Record<string, Outcome> = {
  'profile ["-qx"]': {
    error: {
      name: "TypeError",
      code: "ERR_PARSE_ARGS_UNKNOWN_OPTION",
      message: "Unknown option '-x'",
    },
  },
  'profile ["-z=1"]': {
    error: {
      name: "TypeError",
      code: "ERR_PARSE_ARGS_UNKNOWN_OPTION",
      message: "Unknown option '-='",
    },
  },
  'profile ["-qu","-z"]': {
    error: {
      name: "TypeError",
      code: "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
      message: "Option '-u' argument is ambiguous.\n" +
        "Did you forget to specify the option argument for '-u'?\n" +
        "To specify an option argument starting with a dash use '--unit=-XYZ' or '-u-XYZ'.",
    },
  },
  'show ["-zx"]': {
    error: {
      name: "TypeError",
      code: "ERR_PARSE_ARGS_UNKNOWN_OPTION",
      message: "Unknown option '-x'. To specify a positional argument starting with a '-', " +
        `place it at the end of the command after '--', as in '-- "-x"`,
    },
  },
};

type Outcome =
  | { values: unknown; positionals: string[] }
  | { error: { name: string; code: unknown; message: string } };

type Parse = (config: {
  args: string[];
  options: ParseArgsOptionsConfig;
  allowPositionals: boolean;
  strict: true;
}) => { values: unknown; positionals: string[] };

// Node's types do not take `as const`'s readonly default arrays; its code does.
const nodeParse: Parse = (config) =>
  nodeParseArgs(config as NonNullable<Parameters<typeof nodeParseArgs>[0]>);

function outcome(parse: Parse, spec: string, args: string[]): Outcome {
  const [options, allowPositionals] = SPECS[spec];
  try {
    const { values, positionals } = parse({ args, options, allowPositionals, strict: true });
    return { values, positionals };
  } catch (e) {
    assert.ok(e instanceof TypeError, `not a TypeError: ${e}`);
    return { error: { name: e.name, code: (e as { code?: unknown }).code, message: e.message } };
  }
}

for (const [spec, args] of VECTORS) {
  const key = `${spec} ${JSON.stringify(args)}`;
  test(`parseArgs() answers as node:util's for ${key}`, () => {
    const ours = outcome(parseArgs, spec, args);
    const written = NODE_ANSWERS[key];
    if (written) assert.deepEqual(ours, written);
    if (!(written && isBun)) assert.deepEqual(ours, outcome(nodeParse, spec, args));
  });
}

test("parseArgs() returns values without a prototype, as node:util's", () => {
  const { values } = parseArgs({ args: ["--unit", "1"], options: SHOW, strict: true });
  assert.equal(Object.getPrototypeOf(values), null);
});

test("parseArgs() refuses strict: false, which it does not implement", () => {
  assert.throws(
    () => parseArgs({ args: [], strict: false as true }),
    { name: "TypeError", message: /only strict mode is supported/ },
  );
});

test("parseArgs() types values as cli.ts uses them", () => {
  const { values } = parseArgs({ args: ["--func", "f"], options: PROFILE, strict: true });
  const e = parseArgs({ args: [], options: EDGE, strict: true }).values;
  // Each line fails `deno check` if the type is wider or narrower than written.
  const checks: [
    Equal<typeof values.unit, string | undefined>,
    Equal<typeof values.all, boolean | undefined>,
    Equal<typeof values.func, string[] | undefined>,
    Equal<typeof values["skip-zero"], boolean | undefined>,
    Equal<typeof e.name, string>,
    Equal<typeof e.tag, string[]>,
    Equal<typeof e.flag, boolean[] | undefined>,
  ] = [true, true, true, true, true, true, true];
  assert.deepEqual(checks, [true, true, true, true, true, true, true]);
  assert.deepEqual(values.func, ["f"]);
});

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

test("profile/host/parse_args.ts imports nothing from node:", () => {
  const text = readFileSync(new URL("../profile/host/parse_args.ts", import.meta.url), "utf8");
  assert.doesNotMatch(text, /from\s*["']node:/);
  assert.doesNotMatch(text, /import\s*\(\s*["']node:/);
});
