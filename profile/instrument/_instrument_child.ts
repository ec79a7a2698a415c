/**
 * Instruments one module in a child process (see `instrumentInChild` in `loader.ts`): reads the
 * file named in the options given as the first argument, and writes the result as JSON to
 * stdout. Deno only.
 *
 * @module
 */

import { readFileSync, writeSync } from "node:fs";
import { InstrumentError, type InstrumentOptions, loadParser } from "./instrument.ts";
import { instrumentModule, loadInstrumenter } from "./loader.ts";
import { loadTransform } from "./module_hooks.ts";
import { hash } from "./cache.ts";

const options = JSON.parse(Deno.args[0]) as InstrumentOptions;
let reply;
try {
  await loadInstrumenter();
  await loadParser();
  await loadTransform();
  const source = readFileSync(options.file, "utf8");
  reply = { sourceHash: hash(source), module: instrumentModule(source, options) };
} catch (error) {
  const e = error as InstrumentError;
  reply = {
    error: error instanceof InstrumentError
      ? {
        name: e.name,
        message: e.message,
        file: e.file,
        line: e.line,
        column: e.column,
        codeFrame: e.codeFrame,
      }
      : { name: "Error", message: String(e?.message ?? e) },
  };
}
const bytes = new TextEncoder().encode(JSON.stringify(reply));
for (let i = 0; i < bytes.length;) i += writeSync(1, bytes, i);
