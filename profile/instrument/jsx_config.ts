/**
 * The JSX settings Deno would transpile a module with: `compilerOptions.jsx`, `jsxImportSource`,
 * `jsxFactory` and `jsxFragmentFactory` of the configuration file a plain run uses (the one named
 * by `--config`, or the nearest `deno.json`/`deno.jsonc` above the module, over its workspace
 * root's). Under Deno the profiler's import hook must return JavaScript, so it transpiles the
 * `.tsx`/`.jsx` modules it instruments itself, and must make the same JSX calls Deno would.
 *
 * @module
 */

import { dirname, join } from "../host/path.ts";
import { readTextSync } from "../host/sync_fs.ts";
import { env } from "../host/proc.ts";

/** The environment variable naming the configuration file of the run; empty: `--no-config`. */
export const DENO_CONFIG_ENV = "RAYPROF_DENO_CONFIG";

/** oxc-transform's JSX options, as Deno's configuration asks. */
export interface JsxSettings {
  /** `classic`: calls to `pragma`; `automatic`: imports from `importSource/jsx-runtime`. */
  runtime: "classic" | "automatic";
  /** The automatic runtime's package. */
  importSource?: string;
  /** The classic runtime's element factory. */
  pragma?: string;
  /** The classic runtime's fragment. */
  pragmaFrag?: string;
  /** `react-jsxdev`: the development runtime. */
  development?: boolean;
}

const KEYS = ["jsx", "jsxImportSource", "jsxFactory", "jsxFragmentFactory"] as const;
type Options = Partial<Record<(typeof KEYS)[number], string>>;
interface Config {
  options: Options;
  workspace?: string[];
}

const configs = new Map<string, Config | null>();
const settings = new Map<string, JsxSettings>();

/**
 * The JSX settings for the module at `path` (memoized per folder).
 *
 * @param path Absolute path of a `.tsx` or `.jsx` module.
 * @returns The options to give oxc-transform's `jsx`.
 */
export function denoJsxFor(path: string): JsxSettings {
  const dir = dirname(path);
  let s = settings.get(dir);
  if (!s) {
    s = toSettings(optionsFor(dir));
    settings.set(dir, s);
  }
  return s;
}

function optionsFor(dir: string): Options {
  const named = env(DENO_CONFIG_ENV);
  if (named !== undefined) return named === "" ? {} : readConfig(named)?.options ?? {};
  let nearest: { dir: string; config: Config } | undefined;
  for (let d = dir;; d = dirname(d)) {
    const config = configIn(d);
    if (config && !nearest) {
      nearest = { dir: d, config };
      if (config.workspace) return config.options;
    } else if (config?.workspace && nearest) {
      // A member's settings over its workspace root's.
      const member = config.workspace.some((m) => join(d, m) === nearest!.dir);
      return member ? { ...config.options, ...nearest.config.options } : nearest.config.options;
    }
    if (dirname(d) === d) return nearest?.config.options ?? {};
  }
}

function configIn(dir: string): Config | undefined {
  for (const name of ["deno.json", "deno.jsonc"]) {
    const config = readConfig(join(dir, name));
    if (config) return config;
  }
  return undefined;
}

function readConfig(file: string): Config | undefined {
  if (configs.has(file)) return configs.get(file) ?? undefined;
  let config: Config | null = null;
  try {
    const json = JSON.parse(withoutComments(readTextSync(file)));
    const options: Options = {};
    for (const key of KEYS) {
      const value = json?.compilerOptions?.[key];
      if (typeof value === "string") options[key] = value;
    }
    const workspace = Array.isArray(json?.workspace)
      ? json.workspace
      : Array.isArray(json?.workspace?.members)
      ? json.workspace.members
      : undefined;
    config = { options, ...(workspace ? { workspace } : {}) };
  } catch { /* no file, or not JSON: Deno would stop on the latter before the hook runs */ }
  configs.set(file, config);
  return config ?? undefined;
}

function toSettings(o: Options): JsxSettings {
  switch (o.jsx) {
    case "react-jsx":
    case "react-jsxdev":
    // Deno's precompile mode turns static parts into templates; the calls it makes for the rest
    // are the automatic runtime's, which every precompile-capable runtime also exports.
    case "precompile":
      return {
        runtime: "automatic",
        importSource: o.jsxImportSource ?? "react",
        ...(o.jsx === "react-jsxdev" ? { development: true } : {}),
      };
    default:
      return {
        runtime: "classic",
        pragma: o.jsxFactory ?? "React.createElement",
        pragmaFrag: o.jsxFragmentFactory ?? "React.Fragment",
      };
  }
}

/** JSONC to JSON: comments and trailing commas out, strings left alone. */
function withoutComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      out += text.slice(start, i + 1);
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2);
      if (i < 0) break;
      i++;
    } else if (c === ",") {
      const rest = text.slice(i + 1).match(/^\s*(?:\/\/[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*[}\]]/);
      if (!rest) out += c;
    } else {
      out += c;
    }
  }
  return out;
}
