/**
 * `.profile EXPR`: instruments the session's functions with the line profiler, swaps the
 * instrumented copies into the globals while EXPR runs, and reports kernprof's table.
 *
 * Each function is instrumented from the TypeScript text it was typed as, at its line in its input,
 * so the table shows the user's lines. Functions imported from local modules are instrumented by
 * importing a fresh copy of their module (a `?rayprof-profile=N` URL) through the line profiler's
 * module loader hook; workers load the plain module under that URL, so remote functions keep
 * working. Bun keeps one module per path whatever the query: there the copy is a hidden file beside
 * the module.
 *
 * @module
 */
import vm from "node:vm";
import { pathToFileURL } from "node:url";
import { LineCollector, PROBES_KEY } from "../line/collector.ts";
import { instrument } from "../instrument/instrument.ts";
import { showText } from "../line/report.ts";
import type { DefinedFunction } from "./transform.ts";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { importPackage } from "../host/packages.ts";
import { isUserModule } from "../instrument/loader.ts";
import { registerLoader, RUNTIME } from "../instrument/module_hooks.ts";

// As in transform.ts: rayprof's node_modules on disk, else `npm:` at the pinned version.
const { parseSync } = await importPackage<typeof import("oxc-parser")>("oxc-parser");
const { transformSync } = await importPackage<typeof import("oxc-transform")>("oxc-transform");

/** A function of the session: where it was typed. */
export interface SessionFunction extends DefinedFunction {
  /** Input number. */
  input: number;
}

/** A global bound by an `import` in the session. */
export interface SessionImport {
  /** The global's name. */
  local: string;
  /** The module's URL. */
  url: string;
  /** The export: a name, "default", or "*". */
  imported: string;
}

/** A prepared profile run. */
export interface ProfileRun {
  /** Instrumentation problems (functions left unprofiled). */
  warnings: string[];
  /** Puts the instrumented functions in place of the session's. */
  swapIn(): void;
  /** Puts the session's own functions back. */
  swapOut(): void;
  /** The kernprof table of what ran. */
  report(columns: number): Promise<string>;
}

/**
 * Instruments the session's functions.
 *
 * @param functions The session's top-level functions.
 * @param cwd The session's directory (input file names live there).
 * @returns The run.
 */
export async function prepareProfile(
  functions: SessionFunction[],
  cwd: string,
  imports: SessionImport[] = [],
): Promise<ProfileRun> {
  const collector = new LineCollector();
  const g = globalThis as Record<string | symbol, unknown>;
  const warnings: string[] = [];
  const made = new Map<string, unknown>();
  const saved = new Map<string, unknown>();
  const base = pathToFileURL(cwd + "/").href;
  const previousProbes = g[PROBES_KEY];
  collector.install(); // instrumented code reads the probes when it is evaluated
  await instrumentImports(imports, collector, made, warnings);
  for (const f of functions) {
    const file = `${base}$deno$repl-${f.input}.ts`;
    const decl = f.declaration ? f.source : `const ${f.name} = ${f.source};`;
    const text = "\n".repeat(Math.max(0, f.line - 1)) + decl + "\n";
    try {
      const r = instrument(text, {
        file,
        firstSlot: collector.nextSlot,
        select: { all: true },
      });
      if (r.functions.length === 0) continue;
      const wrapped = `(function () {${r.code}\n;return ${f.name};})()`;
      const js = transformSync("profiled.ts", wrapped, { typescript: {} });
      if (js.errors.length > 0) throw new SyntaxError(js.errors[0].message);
      collector.register(r.functions, r.nextSlot);
      warnings.push(...r.warnings);
      made.set(f.name, vm.runInThisContext(js.code, { filename: file }));
    } catch (e) {
      warnings.push(`'${f.name}' was not profiled: ${(e as Error).message}`);
    }
  }
  return {
    warnings,
    swapIn() {
      collector.install();
      for (const [name, fn] of made) {
        saved.set(name, g[name]);
        g[name] = fn;
      }
    },
    swapOut() {
      for (const [name, fn] of saved) if (g[name] === made.get(name)) g[name] = fn;
      if (previousProbes !== undefined) g[PROBES_KEY] = previousProbes;
      else delete g[PROBES_KEY];
    },
    report() {
      const stats = collector.snapshot();
      stats.functions = stats.functions.filter((fn) => fn.lines.length > 0);
      if (stats.functions.length === 0) {
        return Promise.resolve(
          made.size === 0
            ? "No function of this session was profiled: define functions in the REPL, or import them from a module (with Deno)"
            : "None of the session's functions ran",
        );
      }
      return Promise.resolve(showText(stats, { cwd, readSource: false }).trimEnd());
    },
  };
}

// The module loader hook is registered for the time of the fresh imports of one `.profile`, and
// instruments only the module being imported at that moment.
let rewriting: ((path: string, source: string) => string | null) | null = null;
let freshCount = 0;

/**
 * Imports a fresh, instrumented copy of each local module the session imported functions from,
 * and records its exports to swap in. Only the module's top-level functions are instrumented:
 * the functions given to `remote()` keep their text, since workers load them from the module.
 */
async function instrumentImports(
  imports: SessionImport[],
  collector: LineCollector,
  made: Map<string, unknown>,
  warnings: string[],
): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  const byUrl = new Map<string, SessionImport[]>();
  for (const b of imports) {
    if (!b.url.startsWith("file:") || !isUserModule(fileURLToPath(b.url))) continue;
    let original: Record<string, unknown>;
    try {
      // Must stay dynamic: the user's own module, imported in the session.
      original = await import(b.url);
    } catch {
      continue;
    }
    const value = b.imported === "*" ? original : original[b.imported];
    if (g[b.local] !== value) continue; // rebound since
    if (typeof value !== "function" && b.imported !== "*") continue;
    byUrl.set(b.url, [...byUrl.get(b.url) ?? [], b]);
  }
  if (byUrl.size === 0) return;
  if (RUNTIME === "bun") {
    await importCopies(byUrl, collector, made, warnings);
    return;
  }
  const unregister = await registerLoader(
    (path, source) => rewriting?.(path, source) ?? null,
    (path) => rewriting !== null && isUserModule(path),
  );
  try {
    await importFresh(byUrl, collector, made, warnings);
  } finally {
    unregister();
  }
}

async function importFresh(
  byUrl: Map<string, SessionImport[]>,
  collector: LineCollector,
  made: Map<string, unknown>,
  warnings: string[],
): Promise<void> {
  for (const [url, bindings] of byUrl) {
    const path = fileURLToPath(url);
    const names = topLevelFunctionNames(readFileSync(path, "utf8"), path);
    rewriting = (p, source) => {
      if (p !== path) return null;
      const r = instrument(source, {
        file: path,
        firstSlot: collector.nextSlot,
        select: { names },
      });
      collector.register(r.functions, r.nextSlot);
      warnings.push(...r.warnings);
      return r.code;
    };
    let fresh: Record<string, unknown>;
    try {
      // Must stay dynamic: a fresh instance of the user's module, made at run time.
      fresh = await import(`${url}?rayprof-profile=${++freshCount}`);
    } catch (e) {
      warnings.push(`${path} was not profiled: ${(e as Error).message}`);
      continue;
    } finally {
      rewriting = null;
    }
    for (const b of bindings) made.set(b.local, b.imported === "*" ? fresh : fresh[b.imported]);
  }
}

/** Names of a module's top-level functions (declared, or function expressions in a `const`). */
function topLevelFunctionNames(source: string, path: string): string[] {
  const names: string[] = [];
  // deno-lint-ignore no-explicit-any
  const body: any[] = parseSync(path, source, { sourceType: "module" }).program.body;
  for (let node of body) {
    if (node.type.startsWith("Export") && node.declaration) node = node.declaration;
    if (node.type === "FunctionDeclaration" && node.id) names.push(node.id.name);
    if (node.type === "VariableDeclaration") {
      for (const d of node.declarations) {
        if (
          d.id.type === "Identifier" &&
          (d.init?.type === "FunctionExpression" || d.init?.type === "ArrowFunctionExpression")
        ) names.push(d.id.name);
      }
    }
  }
  return names;
}

const copies: string[] = [];

/**
 * Bun keeps one module per path, whatever the query, so the instrumented copy is written beside
 * the module (its relative imports resolve alike) as a hidden file, removed when the REPL exits:
 * workers may import it later to find its remote functions.
 */
async function importCopies(
  byUrl: Map<string, SessionImport[]>,
  collector: LineCollector,
  made: Map<string, unknown>,
  warnings: string[],
): Promise<void> {
  for (const [url, bindings] of byUrl) {
    const path = fileURLToPath(url);
    const source = readFileSync(path, "utf8");
    let fresh: Record<string, unknown>;
    try {
      const r = instrument(source, {
        file: path,
        firstSlot: collector.nextSlot,
        select: { names: topLevelFunctionNames(source, path) },
      });
      const copy = join(
        dirname(path),
        `.rayprof-profile-${process.pid}-${++freshCount}-${basename(path)}`,
      );
      if (copies.length === 0) {
        process.on("exit", () => {
          for (const f of copies) rmSync(f, { force: true });
        });
      }
      copies.push(copy);
      writeFileSync(copy, r.code);
      collector.register(r.functions, r.nextSlot); // before it runs: its header looks its slots up
      warnings.push(...r.warnings);
      // Workers that import the copy to find its remote functions have no probes; they fall back
      // to the functions' source, as for functions typed in the REPL.
      // Must stay dynamic: the instrumented copy of the user's module, written just above.
      fresh = await import(pathToFileURL(copy).href);
    } catch (e) {
      warnings.push(`${path} was not profiled: ${(e as Error).message}`);
      continue;
    }
    for (const b of bindings) made.set(b.local, b.imported === "*" ? fresh : fresh[b.imported]);
  }
}
