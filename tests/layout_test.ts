// The architecture, checked: which package may import which, no reaching into another folder's
// `_` files, no npm import in the runtime, and a comment at the top of every product file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname ?? ".", "..");

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...filesUnder(rel));
    else if (/\.(ts|mjs)$/.test(name)) out.push(rel);
  }
  return out;
}

const PRODUCT = [
  "mod.ts",
  "cli.ts",
  "repl.ts",
  ...filesUnder("runtime"),
  ...filesUnder("profile"),
  ...filesUnder("cluster"),
];

/** Specifiers of a file's imports (static, dynamic, lazy, `typeof import`, workers), comments left out. */
function imports(file: string): string[] {
  const code = readFileSync(join(ROOT, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const specs = [
    ...code.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g),
    ...code.matchAll(/\b(?:importLazily<[^>]*>|importLazily)\(\s*["']([^"']+)["']/g),
    ...code.matchAll(/new URL\(\s*["'](\.{1,2}\/[^"']+)["']\s*,\s*import\.meta\.url/g),
  ].map((m) => m[1]);
  return [...new Set(specs)];
}

/** The package a product file belongs to: "root", "runtime", or "profile/<sub>". */
function packageOf(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "runtime") return "runtime";
  if (parts[0] === "cluster") return "cluster";
  if (parts[0] === "profile") return parts.length > 2 ? `profile/${parts[1]}` : "profile";
  return "root";
}

/** Who may import whom: data flows runtime ← line, func ← instrument ← run ← cli. */
const ALLOWED: Record<string, string[]> = {
  runtime: ["runtime"],
  cluster: ["cluster", "runtime"],
  "profile/host": ["profile/host"],
  "profile/line": ["profile/line", "profile/host"],
  "profile/func": ["profile/func", "profile/host"],
  "profile/instrument": ["profile/instrument", "profile/host", "profile/line", "profile/func"],
  "profile/views": ["profile/views", "profile/line", "profile/func", "runtime"],
  "profile/run": [
    "profile/run",
    "profile/host",
    "profile/instrument",
    "profile/line",
    "profile/func",
    "profile/views",
    "runtime",
    "root",
  ],
  "profile/repl": [
    "profile/repl",
    "profile/host",
    "profile/instrument",
    "profile/line",
    "profile/views",
    "runtime",
    "root",
  ],
  profile: ["profile/func", "profile/instrument", "profile/line", "profile/run", "profile/views"],
  root: [
    "root",
    "runtime",
    "profile/host",
    "profile/run",
    "profile/line",
    "profile/func",
    "profile/repl",
    "cluster",
  ],
};

/** Names that cross the rule for a reason: runtime/_platform.ts tells the API's own stack frames
 * from the user's by the URL of mod.ts (it imports nothing from it). */
const EXCEPTIONS = new Set([
  "runtime/_platform.ts -> mod.ts",
  // init({ address }) loads the cluster's driver by a dynamic import, only then: the runtime does
  // not depend on it otherwise, and single-machine use loads no Redis client.
  "runtime/init.ts -> cluster/mod.ts",
  // A node's workers get the API as users import it (`ray`), for functions typed in a REPL.
  "cluster/_worker_globals.ts -> mod.ts",
]);

test("product files import only the packages below them, never another folder's _ files", () => {
  const problems: string[] = [];
  for (const file of PRODUCT) {
    const from = packageOf(file);
    for (const spec of imports(file)) {
      if (!spec.startsWith(".")) continue;
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
      const to = packageOf(target);
      if (EXCEPTIONS.has(`${file} -> ${target}`)) continue;
      if (!(ALLOWED[from] ?? []).includes(to)) {
        problems.push(`${file} (${from}) imports ${target} (${to})`);
      }
      const base = target.split("/").pop()!;
      if (base.startsWith("_") && dirname(target) !== dirname(file)) {
        problems.push(`${file} imports ${target}, private to ${dirname(target)}/`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test("runtime/ and mod.ts import nothing but each other and node: built-ins", () => {
  const problems: string[] = [];
  for (const file of ["mod.ts", ...filesUnder("runtime")]) {
    for (const spec of imports(file)) {
      if (!spec.startsWith(".") && !spec.startsWith("node:")) problems.push(`${file}: ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("every product file opens with a comment saying what it is for", () => {
  const bare = PRODUCT.filter((file) => {
    const first = readFileSync(join(ROOT, file), "utf8").split("\n").find((l) => l.trim() !== "");
    return !/^\s*(\/\/|\/\*)/.test(first ?? "");
  });
  assert.deepEqual(bare, []);
});

test("each package folder has a mod.ts", () => {
  const folders = [
    "runtime",
    "cluster",
    ...readdirSync(join(ROOT, "profile")).map((d) => `profile/${d}`),
  ]
    .filter((d) => statSync(join(ROOT, d)).isDirectory());
  assert.deepEqual(folders.filter((d) => !PRODUCT.includes(`${d}/mod.ts`)), []);
});
