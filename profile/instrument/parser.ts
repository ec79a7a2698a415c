/**
 * Loading oxc-parser for the instrumenter: its native binding directly where it can (its
 * JavaScript entry costs ≈35 ms more under Deno), lazily (a run whose modules all come from the
 * cache never loads it), and its raw-transfer mode for big trees.
 *
 * @module
 */

import type * as OxcParser from "oxc-parser";
import { importPackage, onDisk, requireHere, requirePackage } from "../host/packages.ts";
import { nodeProcess } from "../host/proc.ts";
import { readTextSync } from "../host/sync_fs.ts";

/** A node of oxc's ESTree-shaped syntax tree. */
// deno-lint-ignore no-explicit-any
type Node = any;

/** Options added to every parse: raw transfer once {@linkcode useFastParser} turned it on. */
export let RAW_OPTIONS: Record<string, boolean> = {};

// The parser costs 10-20 ms to load, which a run whose instrumented modules all come from the
// cache (`cache.ts`) never pays.
let oxc: Parser | undefined;

/** What the instrumenter uses of oxc-parser. */
export type Parser =
  & Pick<typeof OxcParser, "parseSync">
  & Partial<Pick<typeof OxcParser, "rawTransferSupported">>;

/**
 * Loads the parser now, so that {@linkcode instrument} can run where a synchronous `require()`
 * cannot load it (inside a Deno import hook). Elsewhere `instrument` loads it on first use.
 */
export async function loadParser(): Promise<void> {
  oxc ??= nativeParser() ?? await importPackage<typeof import("oxc-parser")>("oxc-parser");
}

/** Whether the parser is loaded. */
export function parserLoaded(): boolean {
  return oxc !== undefined;
}

/** The parser, loaded on first use with a synchronous `require()`. */
export function parser(): Parser {
  return oxc ??= nativeParser() ?? requirePackage<typeof import("oxc-parser")>("oxc-parser");
}

type NodeRequire = ReturnType<typeof import("node:module").createRequire>;

/**
 * oxc-parser's native binding with the little of its JavaScript entry that `parseSync` needs.
 * The entry finds the binding for the platform by reading files through `node:fs` and loads
 * modules the instrumenter never uses: 37–45 ms under Deno, against 4–8 ms for the binding itself
 * (a first run's start-up, `bench/line_startup.ts`). `undefined` when the binding for this
 * platform is not installed under the name napi-rs gives it, or is not the entry's own version:
 * then the entry is used.
 */
function nativeParser(): Parser | undefined {
  if (!onDisk()) return undefined;
  let req: NodeRequire;
  let version: string;
  try {
    req = requireHere();
    version = packageVersion(req.resolve("oxc-parser"));
  } catch {
    return undefined;
  }
  const { platform, arch } = nodeProcess();
  const abis = platform === "linux" ? ["-gnu", "-musl"] : platform === "win32" ? ["-msvc"] : [""];
  for (const abi of abis) {
    const name = `@oxc-parser/binding-${platform}-${arch}${abi}`;
    try {
      if (packageVersion(req.resolve(name)) !== version) continue;
      const binding = req(name);
      if (typeof binding?.parseSync !== "function") continue;
      return {
        // deno-lint-ignore no-explicit-any
        parseSync: ((file: string, source: string, options: any) =>
          parsedResult(binding.parseSync(file, source, options))) as Parser["parseSync"],
      };
    } catch {
      // not installed: the next, or the entry
    }
  }
  return undefined;
}

/** The `version` of the package a file belongs to (its nearest package.json naming one). */
function packageVersion(file: string): string {
  let dir = file;
  for (let i = 0; i < 4; i++) {
    dir = dir.slice(0, Math.max(dir.lastIndexOf("/"), dir.lastIndexOf("\\")));
    try {
      const pkg = JSON.parse(readTextSync(`${dir}/package.json`));
      if (typeof pkg.version === "string") return pkg.version;
    } catch {
      // not here
    }
  }
  throw new Error(`No package.json with a version above ${file}`);
}

/**
 * A native `ParseResult` as oxc-parser's entry hands it out (its `wrap.js`): the fields taken
 * out at once (each read frees Rust-side memory), the tree parsed from JSON when first read,
 * with the `value` of BigInt and RegExp literals made from the `fixes` the JSON lists.
 */
// deno-lint-ignore no-explicit-any
function parsedResult(result: any) {
  const { module, comments, errors } = result;
  let json: string | null = result.program;
  let program: Node;
  return {
    get program() {
      if (program === undefined) {
        const { node, fixes } = JSON.parse(json!);
        for (const path of fixes as (string | number)[][]) {
          let n = node;
          for (const key of path) n = n[key];
          if (n.bigint) n.value = BigInt(n.bigint);
          else {
            try {
              n.value = RegExp(n.regex.pattern, n.regex.flags);
            } catch {
              // a pattern this engine cannot build: value stays null
            }
          }
        }
        program = node;
        json = null;
      }
      return program;
    },
    module,
    comments,
    errors,
  };
}

/**
 * Switches parsing to oxc's raw transfer where the runtime supports it (Deno): the tree comes
 * over through shared memory, about twice as fast for big sources, for a one-time cost of
 * ≈10 ms to load its decoder. Worth it when there are thousands of lines to instrument. Call it
 * before any import hook runs: the decoder is loaded with require(), which fails inside a hook.
 *
 * @returns Whether raw transfer is now in use.
 */
export function useFastParser(): boolean {
  // The entry's raw transfer (not the binding alone: its decoder is JavaScript).
  const full: typeof OxcParser = oxc && "rawTransferSupported" in oxc
    ? oxc as typeof OxcParser
    : requirePackage<typeof OxcParser>("oxc-parser");
  const { parseSync, rawTransferSupported } = full;
  if (!rawTransferSupported()) return false;
  oxc = full;
  // (The option is experimental: not in the package's types.)
  RAW_OPTIONS = { experimentalRawTransfer: true };
  parseSync("warm-up.ts", "", { lang: "ts", ...RAW_OPTIONS });
  return true;
}
