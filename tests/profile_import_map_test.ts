// The script's import map, as the profiler reads it (profile/instrument/_import_map.ts): found as Deno finds
// it, resolved as the import maps standard says.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findImportMap, resolveImport } from "../profile/instrument/_import_map.ts";

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "rayprof-map-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test("the nearest deno.json or deno.jsonc above the script holds the map", () => {
  const dir = tree({
    "deno.json": '{ "imports": { "top": "./top.ts" } }',
    "app/deno.jsonc": '{\n  // app\n  "imports": { "a": "./a.ts", "b/": "./b/", }, /* c */\n}',
    "app/src/main.ts": "",
    "other/main.ts": "",
  });
  try {
    const app = findImportMap(join(dir, "app", "src"))!;
    const from = pathToFileURL(join(dir, "app", "src", "main.ts")).href;
    assert.equal(resolveImport(app, "a", from), pathToFileURL(join(dir, "app", "a.ts")).href);
    assert.equal(
      resolveImport(app, "b/x/y.ts", from),
      pathToFileURL(join(dir, "app/b/x/y.ts")).href,
    );
    assert.equal(resolveImport(app, "top", from), undefined, "only the nearest configuration");
    assert.equal(resolveImport(app, "b", from), undefined, "a prefix key needs the slash");
    const top = findImportMap(join(dir, "other"))!;
    assert.equal(resolveImport(top, "top", from), pathToFileURL(join(dir, "top.ts")).href);
    assert.equal(findImportMap(tmpdir()), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("importMap files, URLs and jsr:/npm: values, the longest prefix, scopes", () => {
  const dir = tree({
    "deno.json": '{ "importMap": "./maps/import_map.json" }',
    "maps/import_map.json": JSON.stringify({
      imports: {
        "@std/assert": "jsr:@std/assert@^1",
        "lodash": "npm:lodash@4",
        "x/": "https://example.com/x/",
        "x/deep/": "./deep/",
        "local": "/abs/local.ts",
      },
      scopes: { "../vendor/": { "lodash": "./vendored-lodash.js" } },
    }),
  });
  try {
    const map = findImportMap(dir)!;
    const main = pathToFileURL(join(dir, "main.ts")).href;
    assert.equal(resolveImport(map, "@std/assert", main), "jsr:@std/assert@^1");
    assert.equal(resolveImport(map, "lodash", main), "npm:lodash@4");
    assert.equal(resolveImport(map, "x/y.js", main), "https://example.com/x/y.js");
    assert.equal(
      resolveImport(map, "x/deep/z.ts", main),
      pathToFileURL(join(dir, "maps", "deep", "z.ts")).href,
    );
    assert.equal(resolveImport(map, "local", main), "file:///abs/local.ts");
    const vendored = pathToFileURL(join(dir, "vendor", "v.ts")).href;
    assert.equal(
      resolveImport(map, "lodash", vendored),
      pathToFileURL(join(dir, "maps", "vendored-lodash.js")).href,
    );
    assert.equal(resolveImport(map, "unmapped", main), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a configuration that does not parse, or has no map, gives none", () => {
  const dir = tree({ "a/deno.json": "{ not json", "b/deno.json": '{ "tasks": {} }' });
  try {
    assert.equal(findImportMap(join(dir, "a")), undefined);
    assert.equal(findImportMap(join(dir, "b")), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
