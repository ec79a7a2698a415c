/**
 * `import()` of a module that Deno should not load ahead of time.
 *
 * Deno builds the graph of every module that a literal `import("./x.ts")` names, transitively,
 * when it loads the module holding it — before anything runs, and whether or not the import
 * ever runs (it reads each file and looks up its analysis). For `cli.ts profile` that was the
 * REPL, the reports, the runtime and the oxc packages: ≈8 ms of every start. A specifier made at
 * run time is resolved only when the import runs. (Deno then asks for read permission on the
 * module, which every command of the CLI needs anyway: it is run with `-A`.)
 *
 * @module
 */

/**
 * Imports a module when called, and not before (see the module comment).
 *
 * @example
 * ```ts ignore
 * const { join } = await importLazily<typeof import("./path.ts")>("./path.ts", import.meta.url);
 * ```
 *
 * @param specifier A path relative to `base`, or a bare specifier (a package name) without it.
 * @param base The importing module's `import.meta.url`.
 * @returns The module's namespace.
 */
export function importLazily<T>(specifier: string, base?: string): Promise<T> {
  // Must stay dynamic: the whole point is a specifier known only when called (module comment).
  return import(base === undefined ? specifier : new URL(specifier, base).href);
}
