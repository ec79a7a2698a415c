/**
 * The import map a plain `deno run script.ts` would use, for the profiler to apply to the script's
 * own modules: under `deno run -A cli.ts profile script.ts` Deno takes its configuration from
 * beside cli.ts (rayprof's own deno.json), so a bare specifier that the script's deno.json maps
 * ("@std/assert", "mylib") would not resolve. The load hook applies it where Deno's own resolution
 * fails, and a run started from copies (`_copy_mode.ts`) writes the mapped URLs into the copies.
 *
 * Found as Deno finds it: the first `deno.json` or `deno.jsonc` in the script's directory or
 * above; its `imports` and `scopes`, or the file its `importMap` names. Resolution follows the
 * import maps standard (exact keys, then the longest key ending in "/"; scopes by the longest
 * prefix of the importing module's URL).
 *
 * @module
 */

import { dirname, join, pathToFileURL } from "../host/path.ts";
import { readTextSync } from "../host/sync_fs.ts";

type Specifiers = Record<string, string>;

/** An import map, with the URL its relative addresses are resolved against. */
export interface ImportMap {
  /** URL of the file it came from. */
  base: string;
  imports: Specifiers;
  scopes: Record<string, Specifiers>;
}

/**
 * The import map of the Deno configuration governing `dir`.
 *
 * @param dir An absolute directory (the script's).
 * @returns The map, or `undefined` when no configuration (or no map in it) is found, or it
 *   cannot be read.
 */
export function findImportMap(dir: string): ImportMap | undefined {
  for (let d = dir;; d = dirname(d)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const file = join(d, name);
      let text: string;
      try {
        text = readTextSync(file);
      } catch {
        continue;
      }
      try {
        const config = parseJsonc(text);
        if (typeof config?.importMap === "string") {
          const url = new URL(config.importMap, pathToFileURL(file));
          if (url.protocol !== "file:") return undefined;
          return mapOf(JSON.parse(readTextSync(url)), url.href);
        }
        return mapOf(config, pathToFileURL(file).href);
      } catch {
        return undefined;
      }
    }
    if (dirname(d) === d) return undefined;
  }
}

// deno-lint-ignore no-explicit-any
function mapOf(json: any, base: string): ImportMap | undefined {
  const imports = isSpecifiers(json?.imports) ? json.imports : {};
  const scopes: Record<string, Specifiers> = {};
  if (json?.scopes && typeof json.scopes === "object") {
    for (const [prefix, map] of Object.entries(json.scopes)) {
      if (isSpecifiers(map)) scopes[new URL(prefix, base).href] = map;
    }
  }
  if (Object.keys(imports).length === 0 && Object.keys(scopes).length === 0) return undefined;
  return { base, imports, scopes };
}

function isSpecifiers(x: unknown): x is Specifiers {
  return typeof x === "object" && x !== null &&
    Object.values(x).every((v) => typeof v === "string");
}

/**
 * Resolves a bare specifier with an import map.
 *
 * @param map The map.
 * @param specifier As written in the importing module.
 * @param referrer URL of the importing module.
 * @returns The address (an absolute URL, or a `jsr:`/`npm:` specifier), or `undefined` when the
 *   map does not map it.
 */
export function resolveImport(
  map: ImportMap,
  specifier: string,
  referrer: string,
): string | undefined {
  const scopes = Object.keys(map.scopes)
    .filter((p) => p.endsWith("/") ? referrer.startsWith(p) : referrer === p)
    .sort((a, b) => b.length - a.length);
  for (const scope of scopes) {
    const hit = match(map.scopes[scope], specifier, map.base);
    if (hit !== undefined) return hit;
  }
  return match(map.imports, specifier, map.base);
}

function match(specifiers: Specifiers, specifier: string, base: string): string | undefined {
  const exact = specifiers[specifier];
  if (exact !== undefined) return address(exact, base);
  let best: string | undefined;
  for (const key of Object.keys(specifiers)) {
    if (key.endsWith("/") && specifier.startsWith(key) && key.length > (best?.length ?? 0)) {
      best = key;
    }
  }
  if (best === undefined) return undefined;
  const target = specifiers[best];
  if (!target.endsWith("/")) return undefined; // a prefix must map to a prefix
  return address(target + specifier.slice(best.length), base);
}

/** A map's value as an address: relative ones against the map's file. */
function address(value: string, base: string): string {
  if (/^\.{0,2}\//.test(value)) return new URL(value, base).href;
  return value; // a URL, or jsr:/npm:
}

/** JSON with comments and trailing commas (deno.jsonc). */
// deno-lint-ignore no-explicit-any
function parseJsonc(text: string): any {
  // Two passes, each stepping over strings: comments out, then commas before a closing bracket.
  const pass = (src: string, other: (i: number, out: string[]) => number): string => {
    const out: string[] = [];
    for (let i = 0; i < src.length; i++) {
      if (src[i] === '"') {
        let j = i + 1;
        while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
        out.push(src.slice(i, j + 1));
        i = j;
      } else i = other(i, out);
    }
    return out.join("");
  };
  const bare = pass(text, (i, out) => {
    if (text[i] === "/" && text[i + 1] === "/") {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    } else if (text[i] === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
      out.push(" ");
    } else out.push(text[i]);
    return i;
  });
  return JSON.parse(pass(bare, (i, out) => {
    if (bare[i] === ",") {
      let k = i + 1;
      while (/\s/.test(bare[k] ?? "")) k++;
      if (bare[k] === "}" || bare[k] === "]") return i; // a trailing comma: dropped
    }
    out.push(bare[i]);
    return i;
  }));
}
