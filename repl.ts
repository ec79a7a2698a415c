/**
 * The rayprof REPL: TypeScript with the runtime's API loaded, printing how long each input took,
 * how many tasks it ran on how many workers, and their parallelism.
 *
 *   deno run -A repl.ts [--num-cpus N] [--no-timing]      bun repl.ts [...]
 *
 * With Deno, `-q` keeps Deno's module-loading progress line from clearing the prompt when runtime
 * workers start (the REPL redraws it, but a line being typed at that moment can flicker).
 *
 * @module
 */
import process from "node:process";
import { main } from "./profile/repl/mod.ts";

export { main, type ReplIO } from "./profile/repl/mod.ts";

if (import.meta.main) {
  process.exit(await main(process.argv.slice(2)));
}
