/**
 * Preloaded in every runtime worker started by the REPL: the rayprof API as globals and as `ray`,
 * as on the REPL's side, so remote functions typed in the REPL (sent as source text) can call
 * `ray.sleepSync(500)` or `get(ref)`.
 *
 * @module
 */
import * as api from "../../mod.ts";

const g = globalThis as Record<string, unknown>;
for (const [k, v] of Object.entries(api)) if (!(k in g)) g[k] = v;
g.ray ??= api;
