/**
 * Deno and Bun differences of the line profiler, in one place: how to hook module loading and what
 * the hook must return.
 *
 * - Deno 2.9: `node:module` `registerHooks` with a `load` hook. It must return JavaScript, so the
 *   instrumented TypeScript is transpiled with oxc-transform and gets an inline source map (Deno
 *   applies it to stack traces, so they show the user's lines). Registered per thread: workers
 *   register it again in their preload module.
 * - Bun 1.4: `Bun.plugin` with an `onLoad` hook, which takes TypeScript (`loader: "ts"`) and maps
 *   stack traces to it itself.
 *
 * @module
 */

import { fileURLToPath, pathToFileURL } from "../host/path.ts";
import { readTextSync, statSync } from "../host/sync_fs.ts";
import { importPackage, requirePackage } from "../host/packages.ts";
import { denoJsxFor } from "./jsx_config.ts";

/** Which runtime this is. */
export const RUNTIME: "deno" | "bun" = "Bun" in globalThis ? "bun" : "deno";

/** Turns the text of a local module into what the runtime should execute, or `null` to leave it. */
export type ModuleRewriter = (path: string, source: string) => string | null;

interface BunRewriter {
  rewrite: ModuleRewriter;
  accept: (path: string) => boolean;
}
const BUN_REWRITERS = Symbol.for("rayprof.bunRewriters");

/** File names the loader looks at. */
export const SCRIPT_EXTENSION: RegExp = /\.(?:[cm]?[jt]sx?)$/;

/** Options for {@linkcode registerLoader}. */
export interface RegisterLoaderOptions {
  /**
   * `rewrite` already returns what the runtime runs (under Deno: JavaScript, e.g. from
   * {@linkcode toJavaScript}), so the hook passes it on as it is and oxc-transform is not loaded.
   * @default {false}
   */
  transpiled?: boolean;
  /**
   * Under Deno, called with each import that an accepted module makes and what Deno resolved it
   * to: the referrer's path, the specifier as written, the resolved URL.
   */
  onResolve?: (referrer: string, specifier: string, url: string) => void;
}

/**
 * Hooks module loading in this thread so local modules pass through `rewrite` before they run.
 *
 * @param rewrite Called with each local module's path and original text.
 * @param accept Whether a path is to be rewritten at all (checked before reading it).
 * @param options Whether `rewrite` returns code ready to run.
 * @returns A function that removes the hook (modules already loaded stay instrumented).
 */
export async function registerLoader(
  rewrite: ModuleRewriter,
  accept: (path: string) => boolean,
  options: RegisterLoaderOptions = {},
): Promise<() => void> {
  if (RUNTIME === "bun") {
    // Bun takes the first plugin whose filter matches and requires it to return contents, so one
    // plugin per thread serves every registered rewriter (tests and the REPL may register several).
    const g = globalThis as Record<symbol, BunRewriter[] | undefined>;
    const registered = g[BUN_REWRITERS];
    const mine = { rewrite, accept };
    g[BUN_REWRITERS] = [...(registered ?? []), mine];
    const remove = () => {
      const left = (g[BUN_REWRITERS] ?? []).filter((r) => r !== mine);
      g[BUN_REWRITERS] = left.length ? left : undefined;
      // The last one out removes the plugin (rayprof registers no other).
      // deno-lint-ignore no-explicit-any
      if (!left.length) (globalThis as any).Bun.plugin.clearAll?.();
    };
    if (registered) return remove;
    // deno-lint-ignore no-explicit-any
    const Bun = (globalThis as any).Bun;
    Bun.plugin({
      name: "rayprof-line-profiler",
      // deno-lint-ignore no-explicit-any
      setup(build: any) {
        build.onLoad({ filter: /^(?!.*[\\/]node_modules[\\/]).*\.(?:[cm]?[jt]sx?)$/ }, (
          args: { path: string },
        ) => {
          const source = readTextSync(args.path);
          for (const r of g[BUN_REWRITERS] ?? []) {
            if (!r.accept(args.path)) continue;
            const code = r.rewrite(args.path, source);
            if (code !== null) return { contents: code, loader: bunLoader(args.path) };
          }
          return { contents: source, loader: bunLoader(args.path) };
        });
      },
    });
    return remove;
  }
  if (!options.transpiled) await loadTransform();
  const { registerHooks } = await import("node:module");
  const onResolve = options.onResolve;
  // deno-lint-ignore no-explicit-any
  const handle = (registerHooks as any)({
    ...(onResolve
      ? {
        // deno-lint-ignore no-explicit-any
        resolve(specifier: string, context: any, nextResolve: any) {
          const r = nextResolve(specifier, context);
          const parent: string | undefined = context?.parentURL;
          if (BARE.test(specifier) && typeof r?.url === "string" && r.url.startsWith("file:")) {
            // Deno's resolver, under a hook, takes a bare specifier it cannot map for a path
            // beside the importer ("Loading unprepared module" follows): the error of a plain run.
            let file = false;
            try {
              file = !statSync(new URL(r.url)).isDirectory;
            } catch { /* not there */ }
            if (!file) throw notADependency(specifier, parent);
          }
          if (parent?.startsWith("file:") && typeof r?.url === "string") {
            const path = fileURLToPath(parent);
            if (accept(path)) onResolve(path, specifier, r.url);
          }
          return r;
        },
      }
      : {}),
    // deno-lint-ignore no-explicit-any
    load(url: string, context: any, nextLoad: any) {
      if (!url.startsWith("file:")) return nextLoad(url, context);
      const path = fileURLToPath(url);
      if (!SCRIPT_EXTENSION.test(path) || !accept(path)) {
        const r = nextLoad(url, context);
        // Deno 2.9 under a hook gives a `require`d JSON file no format, and then compiles it as
        // JavaScript (node-redis's `require("../../package.json")` failed so under the profiler).
        if (r && r.format == null && path.endsWith(".json")) return { ...r, format: "json" };
        return r;
      }
      let original: string;
      try {
        original = readTextSync(path);
      } catch {
        // Missing or unreadable: the runtime's own error, as in a plain run.
        return nextLoad(url, context);
      }
      const code = rewrite(path, original);
      if (code === null) return nextLoad(url, context);
      const source = options.transpiled ? code : toJavaScript(path, code, original);
      return { format: "module", source, shortCircuit: true };
    },
  });
  return () => handle?.deregister?.();
}

/** Deno's error for a bare import it cannot map, printed as a plain run prints it. */
function notADependency(specifier: string, parent: string | undefined): Error {
  let at = "";
  if (parent?.startsWith("file:")) {
    try {
      const text = readTextSync(new URL(parent));
      const i = Math.max(text.indexOf(`"${specifier}"`), text.indexOf(`'${specifier}'`));
      if (i >= 0) {
        const before = text.slice(0, i).split("\n");
        at = `\n    at ${parent}:${before.length}:${before.at(-1)!.length + 1}`;
      }
    } catch { /* no place to name */ }
  }
  const error = new Error(`Import "${specifier}" not a dependency${at}`);
  error.name = ""; // printed as "error: Import ...", without "Error: "
  error.stack = error.message;
  return error;
}

/** Neither relative, absolute, nor a URL (scheme:). */
const BARE = /^(?![./]|[a-zA-Z][a-zA-Z\d+.-]*:)/;

let transform: typeof import("oxc-transform").transformSync | undefined;

/**
 * Loads oxc-transform now, so that {@linkcode toJavaScript} can run inside a Deno import hook
 * (where `require()` cannot load it). Only Deno needs it: Bun takes TypeScript.
 */
export async function loadTransform(): Promise<void> {
  if (RUNTIME === "deno") {
    transform ??=
      (await importPackage<typeof import("oxc-transform")>("oxc-transform")).transformSync;
  }
}

/** Whether oxc-transform is loaded (see {@linkcode loadTransform}). */
export function transformLoaded(): boolean {
  return transform !== undefined;
}

/**
 * Transpiles instrumented TypeScript to JavaScript with an inline source map back to the file,
 * which Deno applies to stack traces (what Deno's load hook must return).
 *
 * @param path Absolute path of the module.
 * @param code Instrumented source (TypeScript or JavaScript).
 * @param original The file's original text, embedded in the source map.
 * @returns JavaScript ending in a `sourceMappingURL` comment.
 * @throws {SyntaxError} If the code cannot be transpiled.
 */
export function toJavaScript(path: string, code: string, original: string = code): string {
  // Outside a Deno import hook, require() can load it (`node:module` only now: see `../host/proc.ts`).
  transform ??= requirePackage<typeof import("oxc-transform")>("oxc-transform").transformSync;
  const out = transform!(path, code, {
    sourcemap: true,
    sourceType: "module",
    // As Deno would: TS `import x` of a type-only name is dropped, JSX as its configuration says.
    jsx: /\.[cm]?[jt]sx$/.test(path) ? denoJsxFor(path) : { runtime: "classic" },
  });
  if (out.errors?.length) {
    throw new SyntaxError(`Cannot transpile ${path}: ${out.errors[0].message}`);
  }
  const map = { ...out.map, sources: [pathToFileURL(path).href], sourcesContent: [original] };
  return `${out.code}\n//# sourceMappingURL=data:application/json;base64,${
    base64(JSON.stringify(map))
  }\n`;
}

/**
 * Appends an inline source map to JavaScript made from a module without a transpiler (its types
 * blanked out): Deno applies it to stack traces, as it does {@linkcode toJavaScript}'s.
 *
 * @param path Absolute path of the module.
 * @param code The JavaScript.
 * @param original The file's original text.
 * @param mappings The map's `mappings`, from `code` to `original`.
 * @returns `code` ending in a `sourceMappingURL` comment.
 */
export function withSourceMap(
  path: string,
  code: string,
  original: string,
  mappings: string,
): string {
  const map = {
    version: 3,
    sources: [pathToFileURL(path).href],
    sourcesContent: [original],
    names: [],
    mappings,
  };
  return `${code}\n//# sourceMappingURL=data:application/json;base64,${
    base64(JSON.stringify(map))
  }\n`;
}

function bunLoader(path: string): "ts" | "tsx" | "js" | "jsx" {
  if (/\.[cm]?tsx$/.test(path)) return "tsx";
  if (/\.[cm]?ts$/.test(path)) return "ts";
  if (/\.[cm]?jsx$/.test(path)) return "jsx";
  return "js";
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/**
 * Makes the profiled script see its own arguments: `Deno.args`, `process.argv` and `Bun.argv`
 * become those of `deno run script.ts ARGS` / `bun script.ts ARGS`.
 *
 * @param scriptPath Absolute path of the script.
 * @param args Its arguments.
 * @param loadProcess Under Deno, load its Node `process` now to set its `argv` (else it is set
 *   when something first reads the global `process`): needed when the script may import
 *   `node:process` itself. Loading it starts Deno's Node compatibility layer (≈30 ms).
 */
export async function setScriptArgs(
  scriptPath: string,
  args: string[],
  loadProcess = true,
): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  const setArgv = (argv: string[]) => argv.splice(1, argv.length - 1, scriptPath, ...args);
  if (RUNTIME === "deno") {
    Object.defineProperty(g.Deno as object, "args", { value: args.slice(), configurable: true });
    if (loadProcess) {
      // Must stay dynamic: Node's layer starts only for scripts that use it (loadProcess).
      const spec = "node:process";
      setArgv((await import(spec)).default.argv);
      return;
    }
    // Deno makes `process` a global that loads the module on first read: set argv then.
    const d = Object.getOwnPropertyDescriptor(globalThis, "process");
    if (d?.get) {
      Object.defineProperty(globalThis, "process", {
        configurable: true,
        enumerable: d.enumerable,
        get() {
          const p = d.get!.call(globalThis) as { argv: string[] };
          setArgv(p.argv);
          Object.defineProperty(globalThis, "process", { ...d, get: () => p });
          return p;
        },
        ...(d.set ? { set: d.set } : {}),
      });
    }
    return;
  }
  setArgv((g.process as { argv: string[] }).argv);
  const bun = g.Bun as { argv: string[] };
  try {
    setArgv(bun.argv);
  } catch {
    // Bun.argv is read-only on some versions; process.argv is what most scripts read.
  }
}
