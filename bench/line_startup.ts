/**
 * What `cli.ts profile` adds to start-up over running the script plainly (target ≤ 50 ms), for a
 * small script with one marked function, and for one that also imports the runtime (mod.ts), in
 * the runtime running this file.
 *
 *   deno run -A bench/line_startup.ts        bun bench/line_startup.ts
 *
 * Medians of 11 interleaved runs of each command, wall time of the whole process.
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
const rayScript = join(dir, "ray_small.ts");
writeFileSync(
  rayScript,
  `import * as ray from ${
    JSON.stringify(join(ROOT, "mod.ts"))
  };\n// @profile\nfunction f(): number {\n  return typeof ray.init === "function" ? 1 : 0;\n}\nconsole.log(f());\n`,
);
const run = IS_BUN ? [] : ["run", "-A"];
const profile = [...run, join(ROOT, "cli.ts"), "profile", "-q", "-o", join(dir, "o.json")];
const commands: [string, string[]][] = [
  ["plain run", [...run, script]],
  ["cli.ts profile -q", [...profile, script]],
  ["plain run (ray)", [...run, rayScript]],
  ["cli.ts profile (ray)", [...profile, rayScript]],
  ["cli.ts --help", [...run, join(ROOT, "cli.ts"), "--help"]],
];
const times: number[][] = commands.map(() => []);
try {
  for (let r = 0; r < 12; r++) {
    commands.forEach(([, args], i) => {
      const t0 = performance.now();
      execFileSync(process.execPath, args, { cwd: dir, stdio: "ignore" });
      if (r > 0) times[i].push(performance.now() - t0); // the first round warms caches
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const med = times.map((xs) => xs.sort((a, b) => a - b)[xs.length >> 1]);
console.log(`runtime: ${IS_BUN ? "bun" : "deno"}`);
commands.forEach(([name], i) => console.log(`${name.padEnd(20)} ${med[i].toFixed(1)} ms`));
console.log(`${"profile overhead".padEnd(20)} ${(med[1] - med[0]).toFixed(1)} ms`);
console.log(`${"overhead (ray)".padEnd(20)} ${(med[3] - med[2]).toFixed(1)} ms`);
