/**
 * Deno's fast start for a profiled run whose modules are all in the instrument cache: instead of
 * hooking module loading (Deno's only hook, `node:module` `registerHooks`, starts its Node
 * compatibility layer: ≈30–40 ms of every start), the driver imports copies of the instrumented
 * modules, written under the cache directory at their own paths (`<root>/<absolute path>.js`),
 * so that relative imports between them still resolve to each other.
 *
 * A copy is the instrumented JavaScript the hook would have handed Deno, with two changes made
 * at the offsets the instrumenter recorded (`ModuleLinks`), none of which moves a line:
 * - a specifier naming a module that is not copied (rayprof's own runtime, a JSON file, a file of
 *   node_modules) becomes that module's absolute URL, so the copy shares its one instance; one
 *   naming a copied module gets the copy's `.js` (or its absolute URL); a bare one becomes what
 *   Deno resolved it to in the last run that hooked module loading (the load hook notes every
 *   resolution: workspace members, import maps and scopes applied by Deno itself). Only an
 *   import's own line has its columns moved, after the specifier;
 * - `import.meta` becomes `__rp$m()   ` (as long), a function appended after the code that gives
 *   the original's `url`, `filename`, `dirname` and `main`, and resolves against the original;
 * - nothing else: the inline source map already names the original file, which Deno applies to
 *   stack traces and to the call sites the runtime reads (so workers import the original module,
 *   instrumented there by their own hook).
 *
 * It is used only where that is known to be exact, else the run hooks the loader as before: every
 * module the last run loaded is cached and was instrumented (none left as it was, none needing the
 * transpiler), none has an `import()` of a computed specifier, or of a module of the script that
 * the last run did not load, or a bare specifier whose resolution was not noted or leads into a
 * package (node_modules, Deno's npm cache: it resolves from the importing file's place), and POSIX
 * paths.
 *
 * @module
 */

import { dirname, fileURLToPath, join, pathToFileURL } from "../host/path.ts";
import type { CachedModule } from "./cache.ts";
import type { ModuleLinks } from "./instrument.ts";
import {
  mkdirpSync,
  readTextSync,
  removeIfExistsSync,
  renameSync,
  statSync,
  writeTextSync,
} from "../host/sync_fs.ts";
import { pid } from "../host/proc.ts";

/** One module of a run, from the cache. */
export interface CopyItem {
  /** Absolute path of the original. */
  path: string;
  /** What the import hook would have handed the runtime for it. */
  module: CachedModule;
  /** What each of its imports resolved to when module loading was last hooked. */
  resolved?: Record<string, string>;
}

/** Specifiers with a scheme that resolve the same from anywhere. */
const PLACELESS = /^(?:node|npm|jsr|https?|data):/;
/**
 * Appended to a copy's name: Deno then runs it as the JavaScript it is, and applies its source
 * map alone (a `.ts` name has it transpile the file again, and map columns wrong).
 */
const COPY_SUFFIX = ".js";
const META = "import.meta";
const META_CALL = "__rp$m()".padEnd(META.length, " ");

/** Where packages live: a specifier resolved into one is resolved from the importing file's place. */
const PACKAGE_PATH = /\/node_modules\/|\/npm\/registry\.npmjs\.org\//;

/**
 * Where a specifier of the module at `referrer` leads: a specifier that resolves the same from
 * anywhere (kept as written, or as Deno resolved it), a file, or `undefined` when that cannot be
 * told from here (a bare specifier whose resolution was not noted, or that leads into a package).
 */
function targetOf(
  spec: string,
  referrer: URL,
  resolved: Record<string, string> | undefined,
): { placeless: string } | { file: URL; relative: boolean } | undefined {
  if (PLACELESS.test(spec)) return { placeless: spec };
  const path = /^\.{0,2}\//.test(spec) || spec.startsWith("file:");
  const url = resolved?.[spec] ?? (path ? new URL(spec, referrer).href : undefined);
  if (url === undefined) return undefined;
  if (url.startsWith("file:")) {
    if (!path && PACKAGE_PATH.test(url)) return undefined;
    const file = new URL(url);
    if (!path) {
      // Deno resolves a bare specifier it cannot map as a path: a run that fails to load it.
      try {
        statSync(file);
      } catch {
        return undefined;
      }
    }
    return { file, relative: spec[0] === "." && file.href === new URL(spec, referrer).href };
  }
  if (/^(?:node|https?|data):/.test(url)) return { placeless: url };
  return undefined;
}

/**
 * Writes the copies of a run's modules under `root` (leaving those already there with the same
 * text), or finds that the run cannot use them.
 *
 * @param items Every module the run will load, the entry among them.
 * @param entry Absolute path of the entry script.
 * @param root Directory for the copies.
 * @param instrumented Whether the load hook would instrument a module: a module importing one
 *   that is not among `items` (the last run did not load it, or its list was cut short) cannot be
 *   copied, as that one would run uninstrumented.
 * @returns The URL of the entry's copy, or `undefined` when the run must hook the loader.
 */
export function writeCopies(
  items: CopyItem[],
  entry: string,
  root: string,
  instrumented: (path: string) => boolean = () => false,
): string | undefined {
  if (!entry.startsWith("/") || !items.some((i) => i.path === entry)) return undefined;
  const copied = new Set(items.map((i) => i.path));
  // Only what the entry imports, through the copies: a module an earlier run loaded and this one
  // would not would get counters (and report lines) it never had under the hook.
  const reached = new Set([entry]);
  const queue = [entry];
  const byPath = new Map(items.map((i) => [i.path, i]));
  while (queue.length > 0) {
    const item = byPath.get(queue.pop()!)!;
    const links = item.module.result.links;
    const referrer = pathToFileURL(item.path);
    for (const [, , spec] of [...links?.specifiers ?? [], ...links?.dynamicSpecifiers ?? []]) {
      let target: string;
      try {
        const t = targetOf(spec, referrer, item.resolved);
        if (!t || !("file" in t)) continue;
        target = fileURLToPath(t.file);
      } catch {
        continue;
      }
      if (copied.has(target) && !reached.has(target)) {
        reached.add(target);
        queue.push(target);
      }
    }
  }
  if (reached.size !== items.length) return undefined;
  const texts: [path: string, text: string][] = [];
  for (const { path, module, resolved } of items) {
    const links = module.result.links;
    if (module.code === null || module.transpiled || !links || links.dynamicImports) {
      return undefined;
    }
    const text = copyText(path, module.code, links, path === entry, {
      copied,
      root,
      resolved,
      instrumented,
    });
    if (text === undefined) return undefined;
    texts.push([path, text]);
  }
  for (const [path, text] of texts) writeIfChanged(join(root, path) + COPY_SUFFIX, text);
  return pathToFileURL(join(root, entry) + COPY_SUFFIX).href;
}

/** `code` with `edits` (sorted, not overlapping) made, or `undefined` if they overlap. */
function applyEdits(code: string, edits: [number, number, string][]): string | undefined {
  edits.sort((a, b) => a[0] - b[0]);
  let out = "";
  let last = 0;
  for (const [start, end, text] of edits) {
    if (start < last) return undefined;
    out += code.slice(last, start) + text;
    last = end;
  }
  return out + code.slice(last);
}

/** The text of the copy of module `path`, or `undefined` when it cannot be copied. */
function copyText(
  path: string,
  code: string,
  links: ModuleLinks,
  isEntry: boolean,
  run: {
    copied: Set<string>;
    root: string;
    resolved: Record<string, string> | undefined;
    instrumented: (path: string) => boolean;
  },
): string | undefined {
  const { copied, root, resolved } = run;
  const url = pathToFileURL(path);
  const edits: [start: number, end: number, text: string][] = [];
  for (const [start, end, spec] of [...links.specifiers, ...links.dynamicSpecifiers ?? []]) {
    // An entry whose code does not hold what its links say (edited by hand) is not copied.
    if (code.slice(start + 1, end - 1) !== spec) return undefined;
    const t = targetOf(spec, url, resolved);
    if (t === undefined) return undefined; // it resolves from the file's place
    if ("placeless" in t) {
      if (t.placeless !== spec) edits.push([start, end, JSON.stringify(t.placeless)]);
      continue;
    }
    let targetPath: string;
    try {
      targetPath = fileURLToPath(t.file);
    } catch {
      return undefined;
    }
    if (copied.has(targetPath)) {
      if (t.file.search || t.file.hash) return undefined;
      // A relative specifier finds the other copy where it is, under its name + ".js"; others
      // are told where it is.
      const to = t.relative
        ? spec + COPY_SUFFIX
        : pathToFileURL(join(root, targetPath) + COPY_SUFFIX).href;
      edits.push([start, end, JSON.stringify(to)]);
      continue;
    }
    // A module of the script that the last run's list does not hold (an import() it never made,
    // or a list cut short: a run that ended while loading, or one running at the same time) would
    // run uninstrumented: the hook would instrument it.
    if (run.instrumented(targetPath)) return undefined;
    edits.push([start, end, JSON.stringify(t.file.href)]);
  }
  for (const at of links.metas) {
    if (!code.startsWith(META, at)) return undefined;
    edits.push([at, at + META.length, META_CALL]);
  }
  let out = applyEdits(code, edits);
  if (out === undefined) return undefined;
  if (links.metas.length > 0) {
    const meta = {
      url: url.href,
      filename: path,
      dirname: dirname(path),
      main: isEntry,
    };
    // After everything (the source map comment included), on lines of its own: a hoisted
    // function, so `import.meta` works wherever the module's code uses it first.
    out += `\nvar __rp$M;function __rp$m(){return __rp$M||(__rp$M={...${
      JSON.stringify(meta)
    },resolve:(s)=>/^\\.{0,2}\\//.test(s)?new URL(s,${JSON.stringify(url.href)}).href:(${
      JSON.stringify(resolved ?? {})
    }[s]??import.meta.resolve(s))})}\n`;
  }
  return out;
}

let tmp = 0;

/** Writes `text` to `file` unless it already holds it (atomically: temp file and rename). */
function writeIfChanged(file: string, text: string): void {
  try {
    if (readTextSync(file) === text) return;
  } catch {
    // not there yet
  }
  mkdirpSync(dirname(file));
  const t = `${file}.${pid()}.${++tmp}.tmp`;
  try {
    writeTextSync(t, text);
    renameSync(t, file);
  } catch (error) {
    removeIfExistsSync(t);
    throw error;
  }
}
