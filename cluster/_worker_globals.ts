/**
 * Preloaded in a node's workers: the rayprof API as `ray` (and its names as globals), as the REPL
 * gives its own workers, so that functions typed in a REPL on the driver, which travel as source
 * text, can call `ray.sleepSync(500)` or `get(ref)` on any node.
 *
 * @module
 */
import * as api from "../mod.ts";

const g = globalThis as Record<string, unknown>;
for (const [k, v] of Object.entries(api)) if (!(k in g)) g[k] = v;
g.ray ??= api;
