/**
 * One fresh process's cost of `import * as ray from "mod.ts"` (the path given), in ms; printed as
 * a number. Run by bench/startup.mjs.
 *
 * @module
 */
const g = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
const path = g.Deno ? g.Deno.args[0] : g.process!.argv[2];
const t0 = performance.now();
await import(path);
console.log((performance.now() - t0).toFixed(3));
