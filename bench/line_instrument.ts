/**
 * Cost of instrumenting source at import time, per 1,000 lines (target ≤ 20 ms), on a real tree:
 * by default this repository's own runtime/ and profile/ (every .ts file, recursively), or the
 * folders given (e.g. a checkout of denoland/std). Each file is instrumented as its own module,
 * the way the import hook does it (`instrumentOptionsFor` with `--all`: under Deno its types
 * blanked to JavaScript, or transpiled with oxc-transform and a source map where blanking is not
 * enough).
 *
 *   deno run -A bench/line_instrument.ts [DIR...]        bun bench/line_instrument.ts [DIR...]
 *
 * Figures: loading oxc-parser and the instrumenter, then for markers only and for `--all`: the
 * first pass over the whole tree in this fresh process (what a cold `cli.ts profile` run pays,
 * the instrumenter not yet compiled by the JIT), and the median of 5 later passes; then the same
 * with oxc's raw transfer (`useFastParser()`, Deno only), which the CLI turns on for big scripts.
 *
 * @module
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

const RUNTIME = "Bun" in globalThis ? "bun" : "deno";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dirs = process.argv.slice(2).length
  ? process.argv.slice(2).map((d) => resolve(d))
  : [join(ROOT, "runtime"), join(ROOT, "profile")];

let t0 = performance.now();
const loader = await import("../profile/instrument/loader.ts");
await loader.loadInstrumenter();
const { useFastParser, loadParser } = await import("../profile/instrument/parser.ts");
await loadParser();
const loadParserMs = performance.now() - t0;
t0 = performance.now();
await import("../profile/instrument/module_hooks.ts").then((m) => m.loadTransform());
const loadTransformMs = performance.now() - t0;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    const info = statSync(path, { throwIfNoEntry: false }); // a dangling link: left out
    if (info?.isDirectory()) walk(path, out);
    else if (/\.(m?ts|tsx)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}
const files = dirs.flatMap((d) => walk(d)).map((path) => ({
  path,
  source: readFileSync(path, "utf8"),
}));

interface Pass {
  ms: number;
  lines: number;
  functions: number;
  transpiled: number;
  failed: number;
}

function pass(all: boolean): Pass {
  const plan = {
    select: all ? { all: true } : undefined,
    probes: "call" as const,
    functionProbes: false,
  };
  const p: Pass = { ms: 0, lines: 0, functions: 0, transpiled: 0, failed: 0 };
  const start = performance.now();
  for (const { path, source } of files) {
    try {
      const m = loader.instrumentModule(source, loader.instrumentOptionsFor(plan, path, 1));
      p.functions += m.result.functions.length;
      if (m.transpiled) p.transpiled++;
    } catch {
      p.failed++; // a syntax error (test data), or decorators under Deno
      continue;
    }
    p.lines += source.split("\n").length;
  }
  p.ms = performance.now() - start;
  return p;
}

const per1k = (p: Pass, ms = p.ms) => `${(ms / p.lines * 1000).toFixed(2)} ms / 1,000 lines`;
function measure(label: string): string[][] {
  const rows: string[][] = [];
  for (const all of [false, true]) {
    const first = pass(all);
    const later: number[] = [];
    for (let i = 0; i < 5; i++) later.push(pass(all).ms);
    const median = later.sort((a, b) => a - b)[2];
    const name = `${all ? "--all" : "markers only"}${label}`;
    rows.push([`${name}: first pass`, `${first.ms.toFixed(0)} ms = ${per1k(first)}`]);
    rows.push([
      `${name}: later (median of 5)`,
      `${median.toFixed(0)} ms = ${per1k(first, median)}`,
    ]);
    if (all) {
      rows.push([
        `${name}: what it made`,
        `${first.functions} functions; ${first.transpiled} files transpiled, ${first.failed} not instrumentable`,
      ]);
    }
  }
  return rows;
}

const plain = measure("");
t0 = performance.now();
const fast = useFastParser();
const fastLoadMs = performance.now() - t0;
const total = files.reduce((n, f) => n + f.source.split("\n").length, 0);
const rows = [
  ["runtime", RUNTIME],
  ["tree", `${dirs.map((d) => relative(process.cwd(), d) || ".").join(", ")}`],
  ["corpus", `${files.length} files, ${total} lines`],
  ["load oxc-parser + instrumenter", `${loadParserMs.toFixed(1)} ms`],
  ["load oxc-transform", `${loadTransformMs.toFixed(1)} ms`],
  ...plain,
  ...(fast
    ? [["load raw transfer", `${fastLoadMs.toFixed(1)} ms`], ...measure(" (raw)")]
    : [["raw transfer", "not supported here"]]),
];
for (const [k, v] of rows) console.log(`${k.padEnd(40)} ${v}`);
