#!/usr/bin/env node
// Builds the npm package's JavaScript: every product file (mod.ts, cli.ts, repl.ts, runtime/,
// profile/, cluster/) to dist/ as `.js` with its `.d.ts` and source map, made by oxc-transform (already a
// dependency of the profiler). Deno will not strip types under node_modules, so the tarball
// carries JavaScript; Bun reads the same files. Run by `npm pack`/`npm publish` (prepack), or
// by hand: `node npm/build.mjs [OUT]`.
//
// Relative `.ts` specifiers become `.js`: imports and exports (oxc's rewriteImportExtensions), and
// the string literals the code resolves itself: `new URL("./worker.ts", import.meta.url)`,
// `importLazily("./x.ts", ...)`, `typeof import("./x.ts")` and the lists of own files.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isolatedDeclarationSync, transformSync } from "oxc-transform";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = resolve(process.argv[2] ?? join(ROOT, "dist"));

/** Product files, relative to the root. */
function sources() {
  const out = ["mod.ts", "cli.ts", "repl.ts"];
  const walk = (dir) => {
    for (const name of readdirSync(join(ROOT, dir)).sort()) {
      const rel = join(dir, name);
      if (statSync(join(ROOT, rel)).isDirectory()) walk(rel);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(rel);
    }
  };
  walk("runtime");
  walk("profile");
  walk("cluster");
  return out;
}

// A quoted relative path ending in .ts: './x.ts', "../y/z.ts", `./w.ts`.
const RELATIVE_TS = /(["'`])(\.{1,2}\/[^"'`\s]*?)\.ts\1/g;
const toJs = (code) => code.replace(RELATIVE_TS, (_, q, path) => `${q}${path}.js${q}`);

const errors = [];
rmSync(OUT, { recursive: true, force: true });
const files = sources();
for (const rel of files) {
  const source = readFileSync(join(ROOT, rel), "utf8");
  const base = rel.slice(0, -3);
  const result = transformSync(rel, source, {
    sourceType: "module",
    lang: "ts",
    sourcemap: true,
    target: "es2022",
    typescript: { rewriteImportExtensions: "rewrite" },
  });
  const dts = isolatedDeclarationSync(rel, source, { stripInternal: true });
  for (const e of [...result.errors, ...dts.errors]) errors.push(`${rel}: ${e.message}`);
  const target = join(OUT, `${base}.js`);
  mkdirSync(dirname(target), { recursive: true });
  // The code keeps its shebang line (cli.ts, repl.ts) first, as oxc emits it.
  const name = base.split("/").pop();
  writeFileSync(target, `${toJs(result.code)}\n//# sourceMappingURL=${name}.js.map\n`);
  const map = { ...result.map, sources: [relative(dirname(target), join(ROOT, rel))] };
  writeFileSync(`${target}.map`, JSON.stringify(map));
  writeFileSync(join(OUT, `${base}.d.ts`), toJs(dts.code));
}
if (errors.length > 0) {
  console.error(`npm/build.mjs: ${errors.length} error(s)\n${errors.join("\n")}`);
  process.exit(1);
}
console.error(`npm/build.mjs: ${files.length} files -> ${relative(process.cwd(), OUT) || "."}`);
