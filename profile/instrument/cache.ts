/**
 * A content-addressed cache of instrumented modules, so a run whose local modules have not
 * changed loads neither the parser nor (under Deno) the transpiler: together 15-30 ms of the
 * profiler's start-up.
 *
 * An entry holds what the import hook hands the runtime for one module (under Deno the
 * transpiled JavaScript with its source map) and what the collectors need (functions, slots,
 * warnings). Its file is named by a hash of the module's path and instrumentation options, so
 * an edited module (or a new profiler version) replaces its entry and the cache never holds more
 * than one entry per module and set of options. An entry is used only when the module's text and
 * the profiler's own version (its instrumenting code and the oxc packages) are also equal to what
 * it records, so a changed file, option or profiler is simply a miss. A run also records which entries it used (a "run list", one per entry script and thread
 * kind), so the next run can tell before hooking the loader whether it will need the parser.
 *
 * Files are written to a temporary name and renamed into place, so concurrent runs never see a
 * partial entry; an entry that does not parse or does not match is ignored. The directory is
 * `$RAYPROF_CACHE_DIR`, else `$XDG_CACHE_HOME/rayprof`, else `~/.cache/rayprof`;
 * `RAYPROF_NO_CACHE=1` or `cli.ts profile --no-cache` turns the cache off.
 *
 * @module
 */

import { join } from "../host/path.ts";
import { env as getEnv, pid } from "../host/proc.ts";
import type { InstrumentResult } from "./instrument.ts";
import {
  mkdirpSync,
  readTextSync,
  removeIfExistsSync,
  renameSync,
  statSync,
  writeTextSync,
} from "../host/sync_fs.ts";

/** Bumped when the layout of an entry changes. */
const FORMAT = 2;

/** What the cache keeps of one instrumented module. */
export interface CachedModule {
  /** What the runtime runs, or `null` when the module is left as it is. */
  code: string | null;
  /** The instrumenter's result, without its code. */
  result: Omit<InstrumentResult, "code" | "js" | "mappings">;
  /** Whether making `code` took the transpiler (under Deno: blanking the types was not enough). */
  transpiled?: boolean;
}

/** What the modules of the last run (in one scope) say about the next. */
export interface Prediction {
  /** Every one of them is cached for its current text: the run needs no parser. */
  cached: boolean;
  /** Some of them needed the transpiler; `undefined` when there is no list to tell. */
  transpiler?: boolean;
}

interface Entry extends CachedModule {
  format: number;
  version: string;
  path: string;
  key: string;
  source: string;
}

/**
 * One module a run loaded: its path, instrumentation options, whether it was transpiled, and
 * (Deno) what each of its imports resolved to.
 */
type RunItem = [
  path: string,
  key: string,
  transpiled: boolean,
  resolved?: Record<string, string>,
];

/**
 * The cache directory to use, from the environment.
 *
 * @returns The directory, or `undefined` when caching is off (or no home directory is known).
 */
export function defaultCacheDir(): string | undefined {
  const env = {
    RAYPROF_NO_CACHE: getEnv("RAYPROF_NO_CACHE"),
    RAYPROF_CACHE_DIR: getEnv("RAYPROF_CACHE_DIR"),
    XDG_CACHE_HOME: getEnv("XDG_CACHE_HOME"),
    HOME: getEnv("HOME"),
    USERPROFILE: getEnv("USERPROFILE"),
  };
  if (env.RAYPROF_NO_CACHE && env.RAYPROF_NO_CACHE !== "0") return undefined;
  if (env.RAYPROF_CACHE_DIR) return env.RAYPROF_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "rayprof");
  const home = env.HOME ?? env.USERPROFILE;
  return home ? join(home, ".cache", "rayprof") : undefined;
}

/** The instrumented modules of one thread's runs, in one directory. */
export class InstrumentCache {
  #dir: string;
  #version: string;
  #runFile: string | undefined;
  #run: RunItem[] = [];
  #runIds = new Set<string>();
  #memo = new Map<string, Entry>();
  /** What {@linkcode predict} found cached, by path and key. */
  #predicted = new Map<string, CachedModule>();
  #tmp = 0;
  #dirty = false;

  private constructor(dir: string, version: string, scope: string | undefined) {
    this.#dir = dir;
    this.#version = version;
    this.#runFile = scope === undefined
      ? undefined
      : join(dir, `run-${hash(`${FORMAT}\0${version}\0${scope}`)}.json`);
  }

  /**
   * Opens the cache in `dir` (created on first write).
   *
   * @param dir The directory.
   * @param scope Names the run list: the entry script and the kind of thread. Without it, no
   *   run list is kept and nothing can be predicted.
   * @returns The cache.
   */
  static open(dir: string, scope?: string): InstrumentCache {
    return new InstrumentCache(dir, profilerVersion(), scope);
  }

  /**
   * What the modules the last run (in this scope) loaded say about this run: whether all are
   * cached for their current text (then a run loading the same modules needs no parser), and
   * whether any needed the transpiler. Reads their entries into memory.
   *
   * @returns `cached` is `false` when there is no run list or any of its modules changed.
   */
  predict(): Prediction {
    const unknown = { cached: false };
    if (this.#runFile === undefined) return unknown;
    let items: RunItem[];
    try {
      items = JSON.parse(readTextSync(this.#runFile));
      if (!Array.isArray(items) || items.length === 0) return unknown;
    } catch {
      return unknown;
    }
    const kept: RunItem[] = [];
    let all = true;
    for (const item of items) {
      if (
        !Array.isArray(item) || typeof item[0] !== "string" || typeof item[1] !== "string" ||
        typeof item[2] !== "boolean" ||
        (item[3] !== undefined && (typeof item[3] !== "object" || item[3] === null))
      ) {
        return unknown;
      }
      let source: string;
      try {
        source = readTextSync(item[0]);
      } catch {
        continue; // gone: a run that still imports it fails to load it anyway
      }
      const cached = this.get(item[0], source, item[1]);
      if (cached) {
        kept.push(item);
        this.#predicted.set(`${item[0]}\0${item[1]}`, cached);
      } else all = false;
    }
    // Modules seen in earlier runs stay listed while they are still cached, so a script that
    // loads one module or another from run to run keeps predicting right.
    for (const item of kept) this.#runIds.add(`${item[0]}\0${item[1]}`);
    this.#run = kept;
    return { cached: all, transpiler: items.some((item) => item[2]) };
  }

  /**
   * The cached instrumentation of a module.
   *
   * @param path Absolute path.
   * @param source Its text now.
   * @param key The instrumentation options, as a string.
   * @returns The entry, or `undefined` when there is none for exactly these inputs.
   */
  get(path: string, source: string, key: string): CachedModule | undefined {
    // (An entry holds `transpiled` when it is true.)
    const id = this.#id(path, key);
    let entry = this.#memo.get(id);
    if (!entry) {
      try {
        entry = JSON.parse(readTextSync(join(this.#dir, `m-${id}.json`))) as Entry;
      } catch {
        return undefined; // missing or corrupt: a miss
      }
    }
    if (
      entry?.format !== FORMAT || entry.version !== this.#version || entry.path !== path ||
      entry.key !== key || entry.source !== source || typeof entry.result !== "object" ||
      (entry.code !== null && typeof entry.code !== "string")
    ) {
      return undefined;
    }
    this.#memo.set(id, entry);
    return { code: entry.code, result: entry.result, transpiled: entry.transpiled === true };
  }

  /**
   * Stores the instrumentation of a module. Failures to write are ignored (the cache only saves
   * time).
   *
   * @param path Absolute path.
   * @param source The text that was instrumented.
   * @param key The instrumentation options, as a string.
   * @param value What to keep.
   */
  put(path: string, source: string, key: string, value: CachedModule): void {
    const id = this.#id(path, key);
    const entry: Entry = {
      format: FORMAT,
      version: this.#version,
      path,
      key,
      source,
      code: value.code,
      result: value.result,
      ...(value.transpiled ? { transpiled: true } : {}),
    };
    this.#memo.set(id, entry);
    this.#write(join(this.#dir, `m-${id}.json`), JSON.stringify(entry));
  }

  /**
   * Notes that this run loaded a module, for the next run's {@linkcode predict}.
   *
   * @param path Absolute path.
   * @param key The instrumentation options, as a string.
   * @param transpiled Whether the module took the transpiler.
   */
  loaded(path: string, key: string, transpiled: boolean): void {
    const id = `${path}\0${key}`;
    if (this.#runFile === undefined) return;
    if (this.#runIds.has(id)) {
      // Listed by an earlier run: what its imports resolve to is noted afresh.
      const item = this.#run.find((i) => i[0] === path && i[1] === key);
      if (item) item[3] = {};
      return;
    }
    this.#runIds.add(id);
    this.#run.push([path, key, transpiled, {}]);
    this.#write(this.#runFile, JSON.stringify(this.#run));
  }

  /**
   * Notes what an import of a module this run loaded resolved to, for a later run that starts
   * from copies (written by {@linkcode flush}).
   *
   * @param path Absolute path of the importing module.
   * @param key Its instrumentation options, as a string.
   * @param specifier The import's specifier, as written.
   * @param url What the runtime resolved it to.
   */
  resolved(path: string, key: string, specifier: string, url: string): void {
    const item = this.#run.find((i) => i[0] === path && i[1] === key);
    if (!item) return;
    (item[3] ??= {})[specifier] = url;
    this.#dirty = true;
  }

  /** Writes the run list if {@linkcode resolved} added to it since it was last written. */
  flush(): void {
    if (!this.#dirty || this.#runFile === undefined) return;
    this.#dirty = false;
    this.#write(this.#runFile, JSON.stringify(this.#run));
  }

  /**
   * The modules of the run list read by {@linkcode predict} that are cached for their current
   * text, in order, with their entries.
   */
  runItems(): {
    path: string;
    key: string;
    module: CachedModule;
    resolved?: Record<string, string>;
  }[] {
    return this.#run.flatMap(([path, key, , resolved]) => {
      const module = this.#predicted.get(`${path}\0${key}`);
      return module ? [{ path, key, module, ...(resolved ? { resolved } : {}) }] : [];
    });
  }

  /**
   * Where the copies of this scope's modules go (see `_copy_mode.ts`), or `undefined` without a
   * scope.
   */
  copyRoot(): string | undefined {
    return this.#runFile === undefined ? undefined : this.#runFile.replace(/\.json$/, ".tree");
  }

  #id(path: string, key: string): string {
    return hash(`${FORMAT}\0${path}\0${key}`);
  }

  #write(file: string, text: string): void {
    const tmp = `${file}.${pid()}.${++this.#tmp}.tmp`;
    try {
      mkdirpSync(this.#dir);
      writeTextSync(tmp, text);
      renameSync(tmp, file); // atomic: readers see the old file or the whole new one
    } catch {
      removeIfExistsSync(tmp);
    }
  }
}

let version: string | undefined;

/** The `package.json` of a package in the nearest `node_modules` above this file, if any. */
function packageFile(name: string): URL | undefined {
  for (let dir = new URL("./", import.meta.url);; dir = new URL("../", dir)) {
    const file = new URL(`node_modules/${name}/package.json`, dir);
    try {
      statSync(file);
      return file;
    } catch { /* not here */ }
    if (dir.pathname === "/") return undefined;
  }
}

/**
 * The profiler's version as far as instrumented output goes: the runtime, the oxc packages, and
 * the size and modification time of the files that make the output (cheaper than their text,
 * and any edit changes them).
 */
function profilerVersion(): string {
  if (version !== undefined) return version;
  const parts = [typeof Deno === "undefined" ? "bun" : "deno"];
  const files = [
    "./instrument.ts",
    "./strip_types.ts",
    "./parser.ts",
    "./loader.ts",
    "./module_hooks.ts",
    "./cache.ts",
  ].map((f) => new URL(f, import.meta.url));
  for (const pkg of ["oxc-parser", "oxc-transform"]) {
    // Found as Node finds it from here (a script's own import map must not change the answer:
    // the child process of a run resolves bare specifiers with the script's configuration).
    const found = packageFile(pkg);
    if (found) files.push(found); // reinstalling rewrites it
    else parts.push(`${pkg}?`);
  }
  for (const file of files) {
    try {
      const s = statSync(file);
      parts.push(`${file}:${s.size}:${s.mtimeMs}`);
    } catch {
      parts.push(`${file}?`);
    }
  }
  return version = hash(parts.join("\0"));
}

/**
 * A 128-bit hash (four 32-bit lanes of multiply-xorshift) as hex: names files, and entries are
 * checked against their full inputs, so a collision costs a miss, never a wrong module.
 */
export function hash(text: string): string {
  let a = 0x9e3779b9, b = 0x85ebca6b, c = 0xc2b2ae35, d = 0x27d4eb2f;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    a = Math.imul(a ^ ch, 0x85ebca77);
    b = Math.imul(b ^ ch, 0xc2b2ae3d);
    c = Math.imul(c ^ ch, 0x27d4eb2f);
    d = Math.imul(d ^ ch, 0x165667b1);
    a ^= a >>> 15;
    b ^= b >>> 13;
    c ^= c >>> 16;
    d ^= d >>> 12;
  }
  a = Math.imul(a ^ (a >>> 16), 0x7feb352d) ^ b;
  b = Math.imul(b ^ (b >>> 15), 0x846ca68b) ^ c;
  c = Math.imul(c ^ (c >>> 16), 0x7feb352d) ^ d;
  d = Math.imul(d ^ (d >>> 15), 0x846ca68b) ^ a;
  return [a, b, c, d].map((x) => (x >>> 0).toString(16).padStart(8, "0")).join("");
}
