// profile/host/path.ts: the POSIX path and file-URL ports, checked against node:path and node:url.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import nodePath from "node:path";
import process from "node:process";
import * as nodeUrl from "node:url";
import * as ours from "../profile/host/path.ts";

const BUN = "Bun" in globalThis;
const WINDOWS = process.platform === "win32";
/** Whether `host/path.ts` runs its own ports here rather than re-exporting the runtime's functions. */
const PORTED = !BUN && !WINDOWS;
const ref = nodePath.posix;

type Outcome =
  | { value: unknown }
  | { error: string; code: unknown; message: string };

/** What a call returns (a URL as its href) or throws (class, `code`, message). */
function outcome(call: () => unknown): Outcome {
  try {
    const value = call();
    return { value: value instanceof URL ? `URL ${value.href}` : value };
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return { error: err.constructor.name, code: err.code, message: err.message };
  }
}

function assertSame(label: string, actual: () => unknown, expected: () => unknown) {
  assert.deepEqual(outcome(actual), outcome(expected), label);
}

const show = (args: unknown[]) => args.map((a) => JSON.stringify(a)).join(", ");

// Every path below goes through isAbsolute, dirname, basename, extname, join and resolve.
const PATHS = [
  "",
  ".",
  "..",
  "...",
  "/",
  "//",
  "///",
  "//a",
  "//a/",
  "///a",
  "//a/b",
  "a",
  "a/",
  "a//",
  "/a",
  "/a/",
  "/a//b",
  "//a//b//",
  "a/b/c",
  "./a",
  "../a",
  "a/..",
  "a/../..",
  "a/b/../../../c",
  "/..",
  "/../a",
  "/a/b/../../..",
  "/./a/./",
  "/a/./../b",
  "a/./b/./c/",
  "./",
  "../",
  "..//",
  ".../a",
  "a/...",
  "..a",
  "..a/b",
  "a/.b",
  "a/..b",
  "/a/b/c/..",
  "/a/b/c/../",
  "/a/b/.",
  "/a/b/./",
  "/x/..",
  "/x/../",
  "/.../",
  "foo.bar",
  ".bashrc",
  "/x/.bashrc",
  "/x/.bashrc.bak",
  "a.",
  "a..",
  "a.b.c",
  "/a.b/c",
  "/a.b/c.",
  "a/b.c/",
  "a/b.c//",
  "/a/b.tar.gz",
  "/a/b/c.d.ts",
  "x/y.ts/",
  ".x.",
  "a\\b",
  "a\\b.c",
  "C:\\x\\y.ts",
  "/a/b/ c",
  "/a b/c d.e f",
  "/日本/語.ts",
  "/emoji/😀.js",
];

test("isAbsolute(), dirname(), basename(), extname() agree with node:path on every path", () => {
  for (const p of PATHS) {
    const label = JSON.stringify(p);
    assertSame(`isAbsolute(${label})`, () => ours.isAbsolute(p), () => ref.isAbsolute(p));
    assertSame(`dirname(${label})`, () => ours.dirname(p), () => ref.dirname(p));
    assertSame(`basename(${label})`, () => ours.basename(p), () => ref.basename(p));
    assertSame(`extname(${label})`, () => ours.extname(p), () => ref.extname(p));
  }
});

test("join() and resolve() of one path agree with node:path on every path", () => {
  for (const p of PATHS) {
    const label = JSON.stringify(p);
    assertSame(`join(${label})`, () => ours.join(p), () => ref.join(p));
    assertSame(`resolve(${label})`, () => ours.resolve(p), () => ref.resolve(p));
    assertSame(`resolve("/r", ${label})`, () => ours.resolve("/r", p), () => ref.resolve("/r", p));
  }
});

test("basename() takes off a suffix as node:path does", () => {
  const cases: [string, string | undefined][] = [
    ["a.ts", ".ts"],
    ["a.ts", "a.ts"],
    ["/a/b.ts/", ".ts"],
    ["/a/b.ts//", "b.ts"],
    ["a.ts", "ts"],
    ["a.ts", ""],
    ["a.ts", undefined],
    ["a.ts", "x.ts"],
    ["a", "aa"],
    ["/a/b", "b"],
    ["aaa", "a"],
    ["/a.ts", "/a.ts"],
    ["ts", ".ts"],
    [".ts", ".ts"],
    ["a/.ts", ".ts"],
    ["", "x"],
    ["/", "/"],
    ["a/", "a"],
    ["/x/file.test.ts", ".test.ts"],
    ["/x/file.test.ts", "test.ts"],
  ];
  for (const [p, suffix] of cases) {
    assertSame(
      `basename(${show([p, suffix])})`,
      () => ours.basename(p, suffix),
      () => ref.basename(p, suffix),
    );
  }
});

test("join() joins and normalises as node:path does", () => {
  const cases: string[][] = [
    [],
    [""],
    ["", ""],
    ["a", "b"],
    ["/a", "/b"],
    ["a", "", "b"],
    ["a/", "b/"],
    ["/", "a"],
    ["a", "../.."],
    ["a", "..", "..", "b"],
    [".", "."],
    ["/", ".."],
    ["//a", "b"],
    ["a/", ""],
    ["", "/a"],
    ["", "a", ""],
    ["./", "./"],
    ["a", "/"],
    ["/a/b", "../../../c/"],
    ["a", ".", "b/", "./c/.."],
  ];
  for (const parts of cases) {
    assertSame(`join(${show(parts)})`, () => ours.join(...parts), () => ref.join(...parts));
  }
});

test("resolve() resolves from the current directory as node:path does", () => {
  const cases: string[][] = [
    [],
    [""],
    ["", ""],
    ["."],
    [".."],
    ["/a", "b"],
    ["/a", "/b", "c"],
    ["a", "b"],
    ["/a/b", "../.."],
    ["/", ".."],
    ["a", "", "/b"],
    ["/a/", "./"],
    ["/foo/bar", "./baz"],
    ["/foo/bar", "/tmp/file/"],
    ["wwwroot", "static_files/png/", "../gif/image.gif"],
    ["/a/b", "c/../../d"],
    ["a/", "../../.."],
  ];
  for (const parts of cases) {
    assertSame(
      `resolve(${show(parts)})`,
      () => ours.resolve(...parts),
      () => ref.resolve(...parts),
    );
  }
  assert.equal(ours.resolve(), process.cwd());
  const before = process.cwd();
  process.chdir("/");
  try {
    for (const p of ["", "a", "..", "a/../../b"]) {
      assertSame(`resolve(${JSON.stringify(p)}) in /`, () => ours.resolve(p), () => ref.resolve(p));
    }
    assert.equal(ours.resolve(), "/");
  } finally {
    process.chdir(before);
  }
});

test("relative() agrees with node:path, across the root and between equal paths", () => {
  const cases: [string, string][] = [
    ["/a/b/c", "/a/d"],
    ["/a", "/a/b/c"],
    ["/a/b", "/a/b"],
    ["/a/b", "/a/b/"],
    ["/a//b/", "/a/b"],
    ["/", "/a"],
    ["/a", "/"],
    ["/", "/"],
    ["/a/b", "/a/bc"],
    ["/a/bc", "/a/b"],
    ["a", "b"],
    ["a/b", "a"],
    ["", ""],
    ["", "a"],
    ["a", ""],
    [".", ".."],
    ["/foo/bar/baz", "/foo/bar"],
    ["/foo/bar", "/foo/bar/baz"],
    ["/var/lib", "/bin"],
    ["/a/b/c/d", "/a/x/y"],
    ["/page1/page2/foo", "/"],
    ["/baz-quux", "/baz"],
    ["/baz", "/baz-quux"],
    ["/foo/test", "/foo/test/bar/package.json"],
    ["/a/./b", "/a/../a/b"],
    ["/x/日本", "/x/日本語"],
  ];
  for (const [from, to] of cases) {
    assertSame(
      `relative(${show([from, to])})`,
      () => ours.relative(from, to),
      () => ref.relative(from, to),
    );
  }
});

// Characters that Node's pathToFileURL escapes itself, those the URL parser escapes, and some
// that neither does.
const URL_CHARS = [
  " ",
  "%",
  "\\",
  "\n",
  "\r",
  "\t",
  "#",
  "?",
  '"',
  "<",
  ">",
  "`",
  "{",
  "}",
  "[",
  "]",
  "^",
  "|",
  "~",
  "'",
  "!",
  "$",
  "&",
  "(",
  ")",
  "*",
  "+",
  ",",
  ";",
  "=",
  "@",
  ":",
  "\x00",
  "\x01",
  "\x7f",
  "é",
  "日",
  "😀",
  "\ud800",
];

test("pathToFileURL() encodes like node:url", () => {
  const paths = [
    ...URL_CHARS.map((c) => `/a${c}b`),
    "",
    ".",
    "/",
    "//",
    "a",
    "a/",
    "/a/",
    "/a/..",
    "/a/../",
    "rel/x/",
    "/a/./b/",
    "..",
    "/tmp/a b/c#d?e",
    "/%2F",
    "/a%20b",
    "/%25",
    "/C:/x",
    "/\\\\server\\share\\",
    "/a/b\\",
  ];
  for (const p of paths) {
    assertSame(
      `pathToFileURL(${JSON.stringify(p)})`,
      () => ours.pathToFileURL(p),
      () => nodeUrl.pathToFileURL(p),
    );
  }
  assert.ok(ours.pathToFileURL("/x") instanceof URL);
});

test("pathToFileURL() and fileURLToPath() round-trip every character", () => {
  for (const c of URL_CHARS) {
    if (c === "\ud800") continue; // a lone surrogate becomes U+FFFD in any URL
    const p = `/dir/a${c}b`;
    assert.equal(ours.fileURLToPath(ours.pathToFileURL(p)), p, JSON.stringify(p));
  }
});

test("fileURLToPath() decodes and rejects like node:url", () => {
  const urls = [
    "file:///a/b",
    "file:///a%20b",
    "file:///a b",
    "file://localhost/a",
    "file://LOCALHOST/a",
    "file://host/a",
    "file://127.0.0.1/a",
    "file://[::1]/a",
    "file://xn--nxasmq6b/a",
    "file:///a%2Fb",
    "file:///a%2fb",
    "file:///a%2",
    "file:///a%25",
    "file:///a%252F",
    "file:///a%5Cb",
    "file:///%E6%97%A5",
    "file:///tmp/%F0%9F%98%80",
    "file:///a%E9",
    "file:///%",
    "file:///%00",
    "file:///a?x=1#y",
    "file:///a/../b",
    "file:///C:/x",
    "file:/a",
    "file:a",
    "file:",
    "file://",
    "file:///",
    "FILE:///A",
    "http://example.com/a",
    "https://x/",
    "data:text/plain,x",
    "node:path",
  ];
  for (const u of urls) {
    const label = JSON.stringify(u);
    assertSame(
      `fileURLToPath(${label})`,
      () => ours.fileURLToPath(u),
      () => nodeUrl.fileURLToPath(u),
    );
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      continue;
    }
    assertSame(
      `fileURLToPath(new URL(${label}))`,
      () => ours.fileURLToPath(url),
      () => nodeUrl.fileURLToPath(url),
    );
  }
});

test("fileURLToPath() throws Node's errors with their codes", () => {
  const cases: [string, string, string][] = [
    ["http://x/a", "ERR_INVALID_URL_SCHEME", "The URL must be of scheme file"],
    [
      "file:///a%2Fb",
      "ERR_INVALID_FILE_URL_PATH",
      "File URL path must not include encoded / characters",
    ],
    [
      "file://host/a",
      "ERR_INVALID_FILE_URL_HOST",
      `File URL host must be "localhost" or empty on ${process.platform}`,
    ],
  ];
  for (const [u, code, message] of cases) {
    assert.throws(() => ours.fileURLToPath(u), (e: unknown) => {
      assert.ok(e instanceof TypeError, u);
      assert.equal((e as { code?: unknown }).code, code, u);
      assert.equal(e.message, message, u);
      return true;
    });
  }
});

// Values of the wrong type, with how Node 20 names them in ERR_INVALID_ARG_TYPE.
const WRONG: [unknown, string][] = [
  [undefined, "undefined"],
  [null, "null"],
  [1, "type number (1)"],
  [-0, "type number (-0)"],
  [NaN, "type number (NaN)"],
  [1n, "type bigint (1n)"],
  [true, "type boolean (true)"],
  [Symbol("s"), "type symbol (Symbol(s))"],
  [function foo() {}, "function foo"],
  [{}, "an instance of Object"],
  [[], "an instance of Array"],
  [Object.create(null), "[Object: null prototype] {}"],
  [Object.assign(Object.create(null), { a: 1 }), "[Object: null prototype]"],
  [new Date(0), "an instance of Date"],
  [new URL("file:///a"), "an instance of URL"],
];

/** The exports, to call with arguments of the wrong type. */
type Fns = Record<string, (...args: unknown[]) => unknown>;

test("every function rejects a non-string as node:path does (class and code)", () => {
  const o = ours as unknown as Fns, r = ref as unknown as Fns, u = nodeUrl as unknown as Fns;
  for (const [value, name] of WRONG) {
    const calls: [string, (m: Fns) => unknown, Fns][] = [
      ["isAbsolute", (m) => m.isAbsolute(value), r],
      ["dirname", (m) => m.dirname(value), r],
      ["extname", (m) => m.extname(value), r],
      ["basename", (m) => m.basename(value), r],
      ["join", (m) => m.join("a", value), r],
      ["resolve", (m) => m.resolve("a", value), r],
      ["relative from", (m) => m.relative(value, "a"), r],
      ["relative to", (m) => m.relative("a", value), r],
      ["pathToFileURL", (m) => m.pathToFileURL(value), u],
    ];
    if (value !== undefined) calls.push(["basename suffix", (m) => m.basename("a", value), r]);
    if (!(value instanceof URL)) calls.push(["fileURLToPath", (m) => m.fileURLToPath(value), u]);
    for (const [fn, call, theirs] of calls) {
      const a = outcome(() => call(o)), b = outcome(() => call(theirs));
      assert.ok("error" in a && "error" in b, `${fn}(${name})`);
      assert.equal(a.error, b.error, `${fn}(${name})`);
      assert.equal(a.code, b.code, `${fn}(${name})`);
    }
  }
});

test("the ports' messages for a non-string are Node's", { skip: !PORTED }, () => {
  const expect = (call: () => unknown, argument: string, received: string, label: string) =>
    assert.deepEqual(outcome(call), {
      error: "TypeError",
      code: "ERR_INVALID_ARG_TYPE",
      message: `The ${argument} must be of type string${
        label.startsWith("fileURLToPath") ? " or an instance of URL" : ""
      }. Received ${received}`,
    }, label);
  const o = ours as unknown as Fns;
  for (const [value, name] of WRONG) {
    expect(() => o.isAbsolute(value), '"path" argument', name, `isAbsolute(${name})`);
    expect(() => o.dirname(value), '"path" argument', name, `dirname(${name})`);
    expect(() => o.extname(value), '"path" argument', name, `extname(${name})`);
    expect(() => o.join("a", value), '"path" argument', name, `join(${name})`);
    expect(() => o.resolve(value, "a"), '"paths[0]" argument', name, `resolve(${name})`);
    expect(() => o.pathToFileURL(value), '"path" argument', name, `pathToFileURL(${name})`);
    // Deno's node:path says "ext", "path" and "path" for these three; Node says:
    if (value !== undefined) {
      expect(() => o.basename("a", value), '"suffix" argument', name, `basename suffix (${name})`);
    }
    expect(() => o.relative(value, "a"), '"from" argument', name, `relative from (${name})`);
    expect(() => o.relative("a", value), '"to" argument', name, `relative to (${name})`);
    if (value instanceof URL) continue;
    expect(() => o.fileURLToPath(value), '"path" argument', name, `fileURLToPath(${name})`);
  }
  expect(
    () => o.resolve("a", "b", 2),
    '"paths[2]" argument',
    "type number (2)",
    "resolve(a, b, 2)",
  );
  const long = "it's a rather long string, this one";
  expect(() => o.basename(1, long), '"path" argument', "type number (1)", "basename(1, long)");
  expect(() => o.basename(long, 1), '"suffix" argument', "type number (1)", "basename(long, 1)");
});

test("the ports follow Node where Deno's node:url does not", { skip: !PORTED }, () => {
  // Node's fileURLToPath takes anything URL-shaped; Deno's takes only its URL class.
  const urlish = { href: "file:///x", protocol: "file:", hostname: "", pathname: "/y%20z" };
  assert.equal(ours.fileURLToPath(urlish as unknown as URL), "/y z");
  // Node's "Invalid URL" carries a code; Deno's URL parser throws a bare TypeError.
  for (const input of ["not a url", "", "/abs/path", "x".repeat(30)]) {
    assert.throws(() => ours.fileURLToPath(input), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.equal((e as { code?: unknown }).code, "ERR_INVALID_URL");
      assert.equal(e.message, "Invalid URL");
      assert.equal((e as { input?: unknown }).input, input);
      return true;
    });
  }
});

test("sep is node:path's, and under Bun every export is the runtime's own function", () => {
  assert.equal(ours.sep, nodePath.sep);
  if (!PORTED) {
    assert.equal(ours.resolve, nodePath.resolve);
    assert.equal(ours.join, nodePath.join);
    assert.equal(ours.relative, nodePath.relative);
    assert.equal(ours.dirname, nodePath.dirname);
    assert.equal(ours.basename, nodePath.basename);
    assert.equal(ours.extname, nodePath.extname);
    assert.equal(ours.isAbsolute, nodePath.isAbsolute);
    assert.equal(ours.fileURLToPath, nodeUrl.fileURLToPath);
    assert.equal(ours.pathToFileURL, nodeUrl.pathToFileURL);
  }
});

test("profile/host/path.ts imports nothing from node: or npm: statically", async () => {
  const source = await readFile(new URL("../profile/host/path.ts", import.meta.url), "utf8");
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  assert.doesNotMatch(code, /\bfrom\s*["'](?:node|npm):/);
  assert.doesNotMatch(code, /\bimport\s*["'](?:node|npm):/);
  assert.doesNotMatch(code, /\bimport\s*\(\s*["'`](?:node|npm):/);
  assert.doesNotMatch(code, /\brequire\s*\(/);
  // and the whole text, comments included, has no `from "node:`
  assert.doesNotMatch(source, /from\s*["']node:/);
});
