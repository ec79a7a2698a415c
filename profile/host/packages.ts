/**
 * The npm packages the profiler loads (oxc's parser and transformer), found the same way whatever
 * configuration the process runs with: a profiled script's child process resolves bare
 * specifiers with the script's own import map, which knows nothing of rayprof's dependencies.
 * Loaded from rayprof's own `node_modules` (Node's resolution from this file) when rayprof is on
 * disk, else (rayprof imported from a URL) from the npm registry at the pinned version.
 *
 * @module
 */

import { nodeProcess } from "./proc.ts";

/** The versions rayprof is built and tested with (as in its package.json). */
export const PINNED: Readonly<Record<"oxc-parser" | "oxc-transform", string>> = {
  "oxc-parser": "0.159.0",
  "oxc-transform": "0.151.0",
};

/** A package name the profiler loads. */
export type PackageName = keyof typeof PINNED;

type NodeRequire = ReturnType<typeof import("node:module").createRequire>;

/** `require()` from rayprof's own files (loads `node:module`: under Deno, its Node layer). */
export function requireHere(): NodeRequire {
  return (nodeProcess().getBuiltinModule("node:module") as typeof import("node:module"))
    .createRequire(import.meta.url);
}

/** Whether rayprof runs from files on disk (and so has a `node_modules` to load from). */
export function onDisk(): boolean {
  return import.meta.url.startsWith("file:");
}

/**
 * Loads a package synchronously from rayprof's `node_modules`.
 *
 * @throws {Error} If rayprof is not on disk, or the package is not installed.
 */
export function requirePackage<T>(name: PackageName): T {
  if (!onDisk()) {
    throw new Error(
      `Cannot load ${name} synchronously as rayprof runs from ${import.meta.url}: load it first`,
    );
  }
  return requireHere()(name) as T;
}

/** Loads a package: from rayprof's `node_modules` on disk, else `npm:` at the pinned version. */
export async function importPackage<T>(name: PackageName): Promise<T> {
  if (onDisk()) return requirePackage<T>(name);
  // Must stay dynamic: only a remote rayprof needs the registry, and only once it is asked to.
  // A specifier made at run time: Deno would otherwise fetch it whenever this module loads.
  const specifier = `npm:${name}@${PINNED[name]}`;
  return await import(specifier) as T;
}
