/**
 * What `cli.ts profile` adds to start-up over running the script plainly (target ≤ 50 ms), for a
 * small script with one marked function, and for one that also imports the runtime (mod.ts), in
 * the runtime running this file.
 *
 *   deno run -A bench/line_startup.ts        bun bench/line_startup.ts
 *
 * Medians of 11 interleaved runs of each command, wall time of the whole process. The profiler
 * caches instrumented modules: "warm" runs find the script in the cache (as every run after the
 * first does), "cold" runs start from an empty cache directory each time (as a first run does)
 * and so also load the parser (and under Deno the transpiler), instrument and write the cache;
 * "edited" runs profile a script changed since its last run (its cache knows the script, not its
 * new text), so they load the parser and instrument it.
 *
 * The "node:module alone" row is what a warm run under Deno no longer pays: the small script with
 * `import "node:module"` added, the module of Deno's only load hook (`registerHooks`), whose first
 * import starts Deno's Node compatibility layer. Warm runs start from copies of the instrumented
 * modules instead (`profile/instrument/_copy_mode.ts`) and import no `node:` module; first runs and edited
 * scripts still hook the loader and load the parser. Under Bun it costs nothing.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

const IS_BUN = "Bun" in globalThis;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "rayprof-start-"));
const script = join(dir, "small.ts");
writeFileSync(
  script,
  `// @profile\nfunction f(n: number): number {\n  let s = 0;\n  for (let i = 0; i < n; i++) s += i;\n  return s;\n}\nconsole.log(f(10));\n`,
);
// A Ray-style script: imports the runtime (and with it Deno's Node compatibility layer), as the
// scripts this profiler is for do.
const moduleScript = join(dir, "small_node_module.ts");
writeFileSync(
  moduleScript,
  `import "node:module";\n// @profile\nfunction f(n: number): number {\n  let s = 0;\n  for (let i = 0; i < n; i++) s += i;\n  return s;\n}\nconsole.log(f(10));\n`,
);
const rayScript = join(dir, "ray_small.ts");
const raySource = `import * as ray from ${
  JSON.stringify(join(ROOT, "mod.ts"))
};\n// @profile\nfunction f(): number {\n  return typeof ray.init === "function" ? 1 : 0;\n}\nconsole.log(f());\n`;
writeFileSync(rayScript, raySource);
// Edited before each run (the runtime's own caches of the file miss too: compare with a plain
// run of a script edited the same way).
const editedScript = join(dir, "ray_edited.ts");
const editedPlain = join(dir, "ray_edited_plain.ts");
let edits = 0;
const edit = (file: string) => () => writeFileSync(file, `${raySource}// edit ${edits++}\n`);
const run = IS_BUN ? [] : ["run", "-A"];
const profile = [...run, join(ROOT, "cli.ts"), "profile", "-q", "-o", join(dir, "o.json")];
const warmCache = join(dir, "cache");
let cold = 0;
// A fresh directory for each cold run: nothing cached.
const coldCache = () => join(dir, `cold-${cold++}`);
const warm = () => warmCache;
const commands: [string, string[], () => string, (() => void)?][] = [
  ["plain run", [...run, script], warm],
  ["cli.ts profile -q", [...profile, script], warm],
  ["  cold cache", [...profile, script], coldCache],
  ["plain, node:module", [...run, moduleScript], warm],
  ["plain run (ray)", [...run, rayScript], warm],
  ["cli.ts profile (ray)", [...profile, rayScript], warm],
  ["  cold cache (ray)", [...profile, rayScript], coldCache],
  ["plain run (ray), edited", [...run, editedPlain], warm, edit(editedPlain)],
  ["  edited script (ray)", [...profile, editedScript], warm, edit(editedScript)],
  ["cli.ts --help", [...run, join(ROOT, "cli.ts"), "--help"], warm],
];
const times: number[][] = commands.map(() => []);
try {
  for (let r = 0; r < 12; r++) {
    commands.forEach(([, args, cache, before], i) => {
      before?.();
      const env: Record<string, string | undefined> = {
        ...process.env,
        RAYPROF_CACHE_DIR: cache(),
      };
      delete env.RAYPROF_NO_CACHE;
      const t0 = performance.now();
      execFileSync(process.execPath, args, { cwd: dir, stdio: "ignore", env });
      if (r > 0) times[i].push(performance.now() - t0); // the first round warms caches
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const med = times.map((xs) => xs.sort((a, b) => a - b)[xs.length >> 1]);
console.log(`runtime: ${IS_BUN ? "bun" : "deno"}`);
commands.forEach(([name], i) => console.log(`${name.padEnd(22)} ${med[i].toFixed(1)} ms`));
const rows: [string, number, number][] = [
  ["profile overhead", 1, 0],
  ["  cold cache", 2, 0],
  ["  node:module alone", 3, 0],
  ["overhead (ray)", 5, 4],
  ["  cold cache (ray)", 6, 4],
  ["  edited script (ray)", 8, 7],
];
for (const [name, a, b] of rows) {
  console.log(`${name.padEnd(22)} ${(med[a] - med[b]).toFixed(1)} ms`);
}
