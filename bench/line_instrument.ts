/**
 * Cost of instrumenting source at import time, per 1,000 lines (target ≤ 20 ms), on real
 * TypeScript: this repository's own runtime and profiler sources, concatenated.
 *
 *   deno run -A bench/line_instrument.ts        bun bench/line_instrument.ts
 *
 * Figures: loading oxc-parser (first import), then warm medians of: instrumenting with markers
 * only (parse + scan), instrumenting every function (`--all`), and, as Deno's load hook does,
 * `--all` plus transpiling to JavaScript with a source map (oxc-transform); then the same with
 * oxc's raw transfer (`useFastParser()`, Deno only), which the CLI turns on for big scripts.
 *
 * @module
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const RUNTIME = "Bun" in globalThis ? "bun" : "deno";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

let t0 = performance.now();
const { instrument, useFastParser } = await import("../profile/instrument/instrument.ts");
const loadParserMs = performance.now() - t0;
t0 = performance.now();
const { transformSync } = await import("oxc-transform");
const loadTransformMs = performance.now() - t0;

const files = ["runtime", "profile"].flatMap((d) =>
  readdirSync(join(ROOT, d)).filter((f) => f.endsWith(".ts")).map((f) => join(ROOT, d, f))
);
const source = files.map((f) => readFileSync(f, "utf8")).join("\n");
const lines = source.split("\n").length;

function median(f: () => void, rounds = 9): number {
  f();
  const xs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    f();
    xs.push(performance.now() - t);
  }
  return xs.sort((a, b) => a - b)[rounds >> 1];
}

const file = "/bench/corpus.ts";
let profiled = 0;
const per1k = (ms: number) => `${(ms / lines * 1000).toFixed(2)} ms / 1,000 lines`;
function measure(label: string): string[][] {
  const markersMs = median(() => void instrument(source, { file }));
  const allMs = median(() => {
    profiled = instrument(source, { file, select: { all: true } }).functions.length;
  });
  const transpiledMs = median(() => {
    const r = instrument(source, { file, select: { all: true } });
    transformSync(file, r.code, { sourcemap: true, sourceType: "module" });
  });
  return [
    [`markers only${label}`, `${markersMs.toFixed(1)} ms = ${per1k(markersMs)}`],
    [`--all${label}`, `${allMs.toFixed(1)} ms = ${per1k(allMs)}`],
    [`--all + transpile${label}`, `${transpiledMs.toFixed(1)} ms = ${per1k(transpiledMs)}`],
  ];
}
const plain = measure("");
t0 = performance.now();
const fast = useFastParser();
const fastLoadMs = performance.now() - t0;
const rows = [
  ["runtime", RUNTIME],
  ["corpus", `${lines} lines from ${files.length} files, ${profiled} functions`],
  ["load oxc-parser + instrumenter", `${loadParserMs.toFixed(1)} ms`],
  ["load oxc-transform", `${loadTransformMs.toFixed(1)} ms`],
  ...plain,
  ...(fast
    ? [["load raw transfer", `${fastLoadMs.toFixed(1)} ms`], ...measure(" (raw)")]
    : [["raw transfer", "not supported here"]]),
];
for (const [k, v] of rows) console.log(`${k.padEnd(31)} ${v}`);
