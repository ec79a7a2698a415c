/**
 * The few pure functions of `node:path` (posix) and `node:url` that the profiler's start-up path
 * needs, importing nothing from `node:` under Deno.
 *
 * Under Deno the first `node:` import starts Deno's Node compatibility layer. A script that calls
 * `resolve` and `pathToFileURL` from `node:path` and `node:url` started in a median of 60–67 ms,
 * one that imports nothing in 30–34 ms, and the same script on this module in 32–37 ms (Deno
 * 2.9.6, Linux x86-64, 2 cores; five batches of 25–41 interleaved runs each). JSR's `@std/path`
 * cannot be reached from here, and an npm package would start the same layer.
 *
 * So under Deno on POSIX these are ports of Node's own code (Node 20's `lib/path.js` posix half
 * and the POSIX file-URL functions of `lib/internal/url.js`), down to its errors and their
 * `code`s. Under Bun, and under Deno on Windows, they are the runtime's own `node:path` and
 * `node:url` functions: Bun's start no compatibility layer, and Windows paths are not ported.
 * Those are loaded with `import()` of a specifier held in a variable, because Deno loads the
 * module that a literal `import("node:path")` names ahead of time, whether or not the import runs.
 *
 * What remains different from Node: URLs are parsed and printed by the runtime's global `URL`, as
 * Node does with its own (Deno's reads `file:///\a` as the path `/a`, Node's as `//a`); and an
 * argument of the wrong type that is an odd object (no constructor name) is described in the
 * error message by its tag, where Node uses `util.inspect`.
 *
 * @module
 */

/** The functions this module provides, as both the ports and Node's modules have them. */
interface PathFunctions {
  sep: string;
  isAbsolute(path: string): boolean;
  join(...parts: string[]): string;
  resolve(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string, suffix?: string): string;
  extname(path: string): string;
  relative(from: string, to: string): string;
  fileURLToPath(url: string | URL): string;
  pathToFileURL(path: string): URL;
}

/** Node's errors carry a `code`; these are the ones the ports throw. */
type NodeErrorCode =
  | "ERR_INVALID_ARG_TYPE"
  | "ERR_INVALID_URL"
  | "ERR_INVALID_URL_SCHEME"
  | "ERR_INVALID_FILE_URL_PATH"
  | "ERR_INVALID_FILE_URL_HOST";

function nodeTypeError(code: NodeErrorCode, message: string): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code });
}

/** How Node's ERR_INVALID_ARG_TYPE names the value it got (its `determineSpecificType`). */
function describeReceived(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  switch (typeof value) {
    case "bigint":
      return `type bigint (${value}n)`;
    case "number":
      if (value === 0) return 1 / value === -Infinity ? "type number (-0)" : "type number (0)";
      return `type number (${value})`;
    case "boolean":
      return `type boolean (${value})`;
    case "symbol":
      return `type symbol (${String(value)})`;
    case "function":
      return `function ${value.name}`;
    case "object": {
      const ctor = (value as { constructor?: { name?: unknown } }).constructor;
      if (ctor && "name" in ctor) return `an instance of ${ctor.name}`;
      // Node prints these with util.inspect at depth -1; this matches it for plain objects.
      const empty = Reflect.ownKeys(value).length === 0;
      if (Object.getPrototypeOf(value) === null) {
        return empty ? "[Object: null prototype] {}" : "[Object: null prototype]";
      }
      return `[${Object.prototype.toString.call(value).slice(8, -1)}]`;
    }
    case "string": {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return shown.includes("'")
        ? `type string (${JSON.stringify(shown)})`
        : `type string ('${shown}')`;
    }
  }
  return `type ${typeof value}`;
}

function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== "string") {
    throw nodeTypeError(
      "ERR_INVALID_ARG_TYPE",
      `The "${name}" argument must be of type string. Received ${describeReceived(value)}`,
    );
  }
}

const SLASH = 47; // "/"
const DOT = 46; // "."

/** Resolves `.` and `..` segments and drops empty ones; the result has no leading slash. */
function normalizeString(path: string, allowAboveRoot: boolean): string {
  let res = "";
  let lastSegmentLength = 0;
  let lastSlash = -1;
  let dots = 0;
  let code = 0;
  for (let i = 0; i <= path.length; ++i) {
    if (i < path.length) code = path.charCodeAt(i);
    else if (code === SLASH) break;
    else code = SLASH;

    if (code === SLASH) {
      if (lastSlash === i - 1 || dots === 1) {
        // An empty segment or ".": nothing to add.
      } else if (dots === 2) {
        if (
          res.length < 2 || lastSegmentLength !== 2 ||
          res.charCodeAt(res.length - 1) !== DOT || res.charCodeAt(res.length - 2) !== DOT
        ) {
          if (res.length > 2) {
            const lastSlashIndex = res.lastIndexOf("/");
            if (lastSlashIndex === -1) {
              res = "";
              lastSegmentLength = 0;
            } else {
              res = res.slice(0, lastSlashIndex);
              lastSegmentLength = res.length - 1 - res.lastIndexOf("/");
            }
            lastSlash = i;
            dots = 0;
            continue;
          } else if (res.length !== 0) {
            res = "";
            lastSegmentLength = 0;
            lastSlash = i;
            dots = 0;
            continue;
          }
        }
        if (allowAboveRoot) {
          res += res.length > 0 ? "/.." : "..";
          lastSegmentLength = 2;
        }
      } else {
        if (res.length > 0) res += `/${path.slice(lastSlash + 1, i)}`;
        else res = path.slice(lastSlash + 1, i);
        lastSegmentLength = i - lastSlash - 1;
      }
      lastSlash = i;
      dots = 0;
    } else if (code === DOT && dots !== -1) {
      ++dots;
    } else {
      dots = -1;
    }
  }
  return res;
}

function posixNormalize(path: string): string {
  validateString(path, "path");
  if (path.length === 0) return ".";
  const isAbsolute = path.charCodeAt(0) === SLASH;
  const trailingSeparator = path.charCodeAt(path.length - 1) === SLASH;
  path = normalizeString(path, !isAbsolute);
  if (path.length === 0) {
    if (isAbsolute) return "/";
    return trailingSeparator ? "./" : ".";
  }
  if (trailingSeparator) path += "/";
  return isAbsolute ? `/${path}` : path;
}

function posixIsAbsolute(path: string): boolean {
  validateString(path, "path");
  return path.length > 0 && path.charCodeAt(0) === SLASH;
}

function posixJoin(...parts: string[]): string {
  if (parts.length === 0) return ".";
  const kept: string[] = [];
  for (const part of parts) {
    validateString(part, "path");
    if (part.length > 0) kept.push(part);
  }
  if (kept.length === 0) return ".";
  return posixNormalize(kept.join("/"));
}

function cwd(): string {
  if (typeof Deno === "object") return Deno.cwd();
  return (globalThis as unknown as { process: { cwd(): string } }).process.cwd();
}

function posixResolve(...parts: string[]): string {
  let resolvedPath = "";
  let resolvedAbsolute = false;
  for (let i = parts.length - 1; i >= 0 && !resolvedAbsolute; i--) {
    const path = parts[i];
    validateString(path, `paths[${i}]`);
    if (path.length === 0) continue;
    resolvedPath = `${path}/${resolvedPath}`;
    resolvedAbsolute = path.charCodeAt(0) === SLASH;
  }
  if (!resolvedAbsolute) {
    const dir = cwd();
    resolvedPath = `${dir}/${resolvedPath}`;
    resolvedAbsolute = dir.charCodeAt(0) === SLASH;
  }
  // Relative only if the current directory is not absolute, which Node allows for too.
  resolvedPath = normalizeString(resolvedPath, !resolvedAbsolute);
  if (resolvedAbsolute) return `/${resolvedPath}`;
  return resolvedPath.length > 0 ? resolvedPath : ".";
}

function posixRelative(from: string, to: string): string {
  validateString(from, "from");
  validateString(to, "to");
  if (from === to) return "";
  from = posixResolve(from);
  to = posixResolve(to);
  if (from === to) return "";

  // Both now start with "/": compare what follows it.
  const fromStart = 1;
  const fromEnd = from.length;
  const fromLen = fromEnd - fromStart;
  const toStart = 1;
  const toLen = to.length - toStart;

  // The longest common run of whole segments from the root.
  const length = fromLen < toLen ? fromLen : toLen;
  let lastCommonSep = -1;
  let i = 0;
  for (; i < length; i++) {
    const fromCode = from.charCodeAt(fromStart + i);
    if (fromCode !== to.charCodeAt(toStart + i)) break;
    else if (fromCode === SLASH) lastCommonSep = i;
  }
  if (i === length) {
    if (toLen > length) {
      // `from` is the base of `to` ("/foo/bar" → "/foo/bar/baz"), or the root.
      if (to.charCodeAt(toStart + i) === SLASH) return to.slice(toStart + i + 1);
      if (i === 0) return to.slice(toStart + i);
    } else if (fromLen > length) {
      // `to` is the base of `from` ("/foo/bar/baz" → "/foo/bar"), or the root.
      if (from.charCodeAt(fromStart + i) === SLASH) lastCommonSep = i;
      else if (i === 0) lastCommonSep = 0;
    }
  }

  // One ".." for each segment of `from` past the common part, then the rest of `to`.
  let out = "";
  for (i = fromStart + lastCommonSep + 1; i <= fromEnd; ++i) {
    if (i === fromEnd || from.charCodeAt(i) === SLASH) out += out.length === 0 ? ".." : "/..";
  }
  return `${out}${to.slice(toStart + lastCommonSep)}`;
}

function posixDirname(path: string): string {
  validateString(path, "path");
  if (path.length === 0) return ".";
  const hasRoot = path.charCodeAt(0) === SLASH;
  let end = -1;
  let matchedSlash = true;
  for (let i = path.length - 1; i >= 1; --i) {
    if (path.charCodeAt(i) === SLASH) {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else {
      matchedSlash = false;
    }
  }
  if (end === -1) return hasRoot ? "/" : ".";
  if (hasRoot && end === 1) return "//";
  return path.slice(0, end);
}

function posixBasename(path: string, suffix?: string): string {
  if (suffix !== undefined) validateString(suffix, "suffix");
  validateString(path, "path");
  let start = 0;
  let end = -1;
  let matchedSlash = true;

  if (suffix !== undefined && suffix.length > 0 && suffix.length <= path.length) {
    if (suffix === path) return "";
    let suffixIdx = suffix.length - 1;
    let firstNonSlashEnd = -1;
    for (let i = path.length - 1; i >= 0; --i) {
      const code = path.charCodeAt(i);
      if (code === SLASH) {
        // A slash before the last segment (not one of those trailing it) ends the search.
        if (!matchedSlash) {
          start = i + 1;
          break;
        }
      } else {
        if (firstNonSlashEnd === -1) {
          // The end of the segment, in case the suffix does not match.
          matchedSlash = false;
          firstNonSlashEnd = i + 1;
        }
        if (suffixIdx >= 0) {
          if (code === suffix.charCodeAt(suffixIdx)) {
            if (--suffixIdx === -1) end = i;
          } else {
            suffixIdx = -1;
            end = firstNonSlashEnd;
          }
        }
      }
    }
    if (start === end) end = firstNonSlashEnd;
    else if (end === -1) end = path.length;
    return path.slice(start, end);
  }

  for (let i = path.length - 1; i >= 0; --i) {
    if (path.charCodeAt(i) === SLASH) {
      if (!matchedSlash) {
        start = i + 1;
        break;
      }
    } else if (end === -1) {
      matchedSlash = false;
      end = i + 1;
    }
  }
  if (end === -1) return "";
  return path.slice(start, end);
}

function posixExtname(path: string): string {
  validateString(path, "path");
  let startDot = -1;
  let startPart = 0;
  let end = -1;
  let matchedSlash = true;
  // What was seen between the last segment's start and its last dot: 0 nothing yet,
  // 1 only dots, -1 something else.
  let preDotState = 0;
  for (let i = path.length - 1; i >= 0; --i) {
    const char = path[i];
    if (char === "/") {
      if (!matchedSlash) {
        startPart = i + 1;
        break;
      }
      continue;
    }
    if (end === -1) {
      matchedSlash = false;
      end = i + 1;
    }
    if (char === ".") {
      if (startDot === -1) startDot = i;
      else if (preDotState !== 1) preDotState = 1;
    } else if (startDot !== -1) {
      preDotState = -1;
    }
  }
  if (
    startDot === -1 || end === -1 ||
    // Nothing but the dot itself before it ("a/.profile").
    preDotState === 0 ||
    // The last segment is "..".
    (preDotState === 1 && startDot === end - 1 && startDot === startPart + 1)
  ) {
    return "";
  }
  return path.slice(startDot, end);
}

/** `process.platform` for Deno's name of the OS, as Node's errors print it. */
function nodePlatform(): string {
  const os: string = typeof Deno === "object" ? Deno.build.os : "linux";
  if (os === "windows") return "win32";
  if (os === "solaris" || os === "illumos") return "sunos";
  return os;
}

/** Node's `isURL`: it takes anything URL-shaped, not only instances of its own class. */
function isURL(value: unknown): value is URL {
  const v = value as Record<string, unknown> | null | undefined;
  return Boolean(v?.href && v.protocol && v.auth === undefined && v.path === undefined);
}

function parseURL(input: string): URL {
  try {
    return new URL(input);
  } catch {
    throw Object.assign(nodeTypeError("ERR_INVALID_URL", "Invalid URL"), { input });
  }
}

function posixFileURLToPath(url: string | URL): string {
  if (typeof url === "string") url = parseURL(url);
  else if (!isURL(url)) {
    throw nodeTypeError(
      "ERR_INVALID_ARG_TYPE",
      'The "path" argument must be of type string or an instance of URL. Received ' +
        describeReceived(url),
    );
  }
  if (url.protocol !== "file:") {
    throw nodeTypeError("ERR_INVALID_URL_SCHEME", "The URL must be of scheme file");
  }
  // The URL parser already turns the host "localhost" into "".
  if (url.hostname !== "") {
    throw nodeTypeError(
      "ERR_INVALID_FILE_URL_HOST",
      `File URL host must be "localhost" or empty on ${nodePlatform()}`,
    );
  }
  const pathname = url.pathname;
  for (let n = 0; n < pathname.length; n++) {
    if (pathname[n] === "%") {
      const third = (pathname.codePointAt(n + 2) ?? 0) | 0x20;
      if (pathname[n + 1] === "2" && third === 102) {
        throw nodeTypeError(
          "ERR_INVALID_FILE_URL_PATH",
          "File URL path must not include encoded / characters",
        );
      }
    }
  }
  return decodeURIComponent(pathname);
}

/**
 * The characters that Node's `encodePathChars` escapes before the URL parser sees the path
 * (RFC 1738's "unsafe" ones, and `\`, a file name character on POSIX), in its order: `%` first,
 * so that the escapes it adds are not escaped again.
 */
const PATH_ESCAPES: readonly [string, RegExp, string][] = [
  ["%", /%/g, "%25"],
  ["\t", /\t/g, "%09"],
  ["\n", /\n/g, "%0A"],
  ["\r", /\r/g, "%0D"],
  [" ", / /g, "%20"],
  ['"', /"/g, "%22"],
  ["#", /#/g, "%23"],
  ["?", /\?/g, "%3F"],
  ["[", /\[/g, "%5B"],
  ["\\", /\\/g, "%5C"],
  ["]", /\]/g, "%5D"],
  ["^", /\^/g, "%5E"],
  ["|", /\|/g, "%7C"],
  ["~", /~/g, "%7E"],
];

function encodePathChars(path: string): string {
  for (const [char, all, escape] of PATH_ESCAPES) {
    if (path.includes(char)) path = path.replace(all, escape);
  }
  return path;
}

function posixPathToFileURL(path: string): URL {
  validateString(path, "path");
  let resolved = posixResolve(path);
  // resolve() drops a trailing slash, which a URL of a directory keeps.
  if (path.charCodeAt(path.length - 1) === SLASH && resolved[resolved.length - 1] !== "/") {
    resolved += "/";
  }
  return new URL(`file://${encodePathChars(resolved)}`);
}

const PORTED = typeof Deno === "object" && !("Bun" in globalThis) && Deno.build.os !== "windows";

async function loadNodeFunctions(): Promise<PathFunctions> {
  // Must stay dynamic: only Bun and Windows load these, and a literal import would load them always.
  // Specifiers in variables: Deno would load literal ones with this module (see the module doc).
  const pathSpecifier = "node:path";
  const urlSpecifier = "node:url";
  const [path, url] = await Promise.all([import(pathSpecifier), import(urlSpecifier)]);
  return {
    sep: path.sep,
    isAbsolute: path.isAbsolute,
    join: path.join,
    resolve: path.resolve,
    dirname: path.dirname,
    basename: path.basename,
    extname: path.extname,
    relative: path.relative,
    fileURLToPath: url.fileURLToPath,
    pathToFileURL: url.pathToFileURL,
  };
}

const impl: PathFunctions = PORTED
  ? {
    sep: "/",
    isAbsolute: posixIsAbsolute,
    join: posixJoin,
    resolve: posixResolve,
    dirname: posixDirname,
    basename: posixBasename,
    extname: posixExtname,
    relative: posixRelative,
    fileURLToPath: posixFileURLToPath,
    pathToFileURL: posixPathToFileURL,
  }
  : await loadNodeFunctions();

/**
 * The path separator: `"/"`, or `"\\"` under Deno on Windows (`path.sep`).
 *
 * @example
 * ```ts
 * import { sep } from "./path.ts";
 * ["a", "b"].join(sep); // "a/b" ("a\\b" on Windows)
 * ```
 */
export const sep: string = impl.sep;

/**
 * Whether a path is absolute (`path.isAbsolute`).
 *
 * @example
 * ```ts
 * import { isAbsolute } from "./path.ts";
 * isAbsolute("/tmp/x"); // true
 * isAbsolute("tmp/x"); // false
 * ```
 *
 * @param path The path.
 * @returns Whether it starts at the root.
 * @throws {TypeError} `path` is not a string.
 */
export const isAbsolute: (path: string) => boolean = impl.isAbsolute;

/**
 * Joins path segments with the separator and normalises the result (`path.join`): `.` and `..`
 * are resolved, repeated slashes collapsed, empty segments skipped, a trailing slash kept.
 *
 * @example
 * ```ts
 * import { join } from "./path.ts";
 * join("/a/b", "../c", "d/"); // "/a/c/d/"
 * join(); // "."
 * ```
 *
 * @param parts The segments.
 * @returns The joined path, `"."` if it is empty.
 * @throws {TypeError} A segment is not a string.
 */
export const join: (...parts: string[]) => string = impl.join;

/**
 * Resolves segments, right to left, into an absolute path (`path.resolve`): each relative one is
 * taken from those before it, and the current directory comes first if they do not reach the
 * root. The result is normalised and has no trailing slash (but for the root).
 *
 * @example
 * ```ts
 * import { resolve } from "./path.ts";
 * resolve("/a/b", "./c", "../d"); // "/a/b/d"
 * resolve("/a", "/b"); // "/b"
 * resolve(); // the current directory
 * ```
 *
 * @param parts The segments.
 * @returns The absolute path.
 * @throws {TypeError} A segment is not a string.
 */
export const resolve: (...parts: string[]) => string = impl.resolve;

/**
 * The path without its last segment (`path.dirname`); trailing slashes are ignored.
 *
 * @example
 * ```ts
 * import { dirname } from "./path.ts";
 * dirname("/a/b/c.ts"); // "/a/b"
 * dirname("/a/b/"); // "/a"
 * dirname("c.ts"); // "."
 * ```
 *
 * @param path The path.
 * @returns The directory part, `"."` if there is none.
 * @throws {TypeError} `path` is not a string.
 */
export const dirname: (path: string) => string = impl.dirname;

/**
 * The last segment of a path (`path.basename`), without `suffix` if it ends with it and is not
 * all of it; trailing slashes are ignored.
 *
 * @example
 * ```ts
 * import { basename } from "./path.ts";
 * basename("/a/b/c.ts"); // "c.ts"
 * basename("/a/b/c.ts", ".ts"); // "c"
 * basename("/a/b/"); // "b"
 * ```
 *
 * @param path The path.
 * @param suffix An ending to take off.
 * @returns The last segment.
 * @throws {TypeError} `path` or `suffix` is not a string.
 */
export const basename: (path: string, suffix?: string) => string = impl.basename;

/**
 * The extension of the last segment, from its last dot (`path.extname`); `""` if it has none, or
 * only a leading dot.
 *
 * @example
 * ```ts
 * import { extname } from "./path.ts";
 * extname("/a/b.test.ts"); // ".ts"
 * extname("/a/.profile"); // ""
 * extname("a."); // "."
 * ```
 *
 * @param path The path.
 * @returns The extension with its dot, or `""`.
 * @throws {TypeError} `path` is not a string.
 */
export const extname: (path: string) => string = impl.extname;

/**
 * The path from `from` to `to`, both resolved first (`path.relative`); `""` if they are the same.
 *
 * @example
 * ```ts
 * import { relative } from "./path.ts";
 * relative("/a/b/c", "/a/d"); // "../../d"
 * relative("/a", "/a/b/c"); // "b/c"
 * relative("/a/b", "/a/b"); // ""
 * ```
 *
 * @param from The starting path.
 * @param to The path to reach.
 * @returns The relative path.
 * @throws {TypeError} `from` or `to` is not a string.
 */
export const relative: (from: string, to: string) => string = impl.relative;

/**
 * The path of a `file:` URL (`url.fileURLToPath`), percent-decoded.
 *
 * @example
 * ```ts
 * import { fileURLToPath } from "./path.ts";
 * fileURLToPath("file:///tmp/a%20b.ts"); // "/tmp/a b.ts" (on POSIX)
 * fileURLToPath(new URL("file://localhost/x")); // "/x"
 * ```
 *
 * @param url The URL, as a string or a `URL`.
 * @returns The absolute path.
 * @throws {TypeError} With Node's `code`: `url` is neither a string nor a URL
 * (`ERR_INVALID_ARG_TYPE`), the string is no URL (`ERR_INVALID_URL`), the URL is not a `file:`
 * one (`ERR_INVALID_URL_SCHEME`), its path holds an encoded `/` (`ERR_INVALID_FILE_URL_PATH`), or
 * it names a host other than `localhost` (`ERR_INVALID_FILE_URL_HOST`).
 * @throws {URIError} The path holds a malformed percent-escape.
 */
export const fileURLToPath: (url: string | URL) => string = impl.fileURLToPath;

/**
 * The `file:` URL of a path, resolved first (`url.pathToFileURL`); a trailing slash is kept, and
 * the characters that a URL would read otherwise (`%`, `#`, `?`, `\`, spaces, control and
 * non-ASCII characters, …) are percent-encoded.
 *
 * @example
 * ```ts
 * import { pathToFileURL } from "./path.ts";
 * pathToFileURL("/tmp/a b#1.ts").href; // "file:///tmp/a%20b%231.ts" (on POSIX)
 * pathToFileURL("/tmp/dir/").href; // "file:///tmp/dir/"
 * ```
 *
 * @param path The path, absolute or relative to the current directory.
 * @returns The URL.
 * @throws {TypeError} `path` is not a string.
 */
export const pathToFileURL: (path: string) => URL = impl.pathToFileURL;
