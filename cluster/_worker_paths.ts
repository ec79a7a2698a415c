/**
 * Preloaded in a node's workers that run a driver's tasks in workers of its own kind (profiled),
 * before the driver's preloads: `hooks().driverPath` maps a file of a shipped code tree
 * (`<cache>/trees/<sha>/<path>`) to the driver's file it is a copy of, by the tree's manifest;
 * `hooks().nodeCacheDir` names the node's folder for the tools' caches.
 *
 * @module
 */
import { readFileSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import { hooks, workerData } from "../runtime/hooks.ts";
import { CACHE_KEY, TREES_KEY } from "./_wire.ts";

const cache = workerData()[CACHE_KEY];
if (typeof cache === "string") hooks().nodeCacheDir = cache;

const trees = workerData()[TREES_KEY];
if (typeof trees === "string") {
  const prefixes = [trees + sep];
  try {
    const real = realpathSync(trees) + sep;
    if (real !== prefixes[0]) prefixes.push(real);
  } catch { /* no tree built yet: the folder is made as it is named */ }
  const driverDirs = new Map<string, string | null>();
  hooks().driverPath = (path: string) => {
    const prefix = prefixes.find((p) => path.startsWith(p));
    if (prefix === undefined) return path;
    const rest = path.slice(prefix.length);
    const cut = rest.indexOf(sep);
    if (cut < 0) return path;
    const sha = rest.slice(0, cut);
    let dir = driverDirs.get(sha);
    if (dir === undefined) {
      try {
        const m = JSON.parse(readFileSync(join(prefix, sha, ".rayprof-tree.json"), "utf8"));
        dir = typeof m?.dir === "string" ? m.dir as string : null;
      } catch {
        dir = null;
      }
      driverDirs.set(sha, dir);
    }
    // The driver's paths use its own separator; its manifest's entries use "/".
    return dir === null
      ? path
      : `${dir}${dir.endsWith("/") ? "" : "/"}${rest.slice(cut + 1).split(sep).join("/")}`;
  };
}
