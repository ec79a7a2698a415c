/**
 * Code shipping, like Ray's `working_dir`: the driver uploads the local module graph of a remote
 * function's module (content-addressed by SHA-256, so a file is sent once), and a node rebuilds
 * that exact tree in its own cache, checking every hash, before any worker imports from it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Buffer } from "node:buffer";
import { K, type Redis } from "./_redis.ts";
import { acquire } from "./_leases.ts";

/** SHA-256 of bytes, as hex. */
export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The code of the error of {@linkcode readGraph} when the module itself is not a file (the REPL's
 * inputs, eval): its functions then go as source text, as they go to local workers.
 */
export const UNREADABLE = "RAYPROF_UNREADABLE";

/** A module graph as uploaded: its manifest's hash names it. */
export interface Tree {
  /** SHA-256 of the manifest. */
  sha: string;
  /** Path of the entry module inside the tree. */
  entry: string;
  /** The driver's directory the tree's paths are relative to (for stack traces). */
  dir: string;
}

/** The manifest stored under `rp:tree:<sha>`. */
interface Manifest {
  dir: string;
  files: [string, string][];
  /**
   * rayprof's own modules that the code imports: [path in the tree, path in the package]. They
   * are not shipped: a node puts there a module that re-exports its own copy, so that the
   * functions register with, and the refs they get are those of, the runtime that runs them.
   */
  own?: [string, string][];
}

/** This package's root (cluster/ is one of its folders). */
const OWN_ROOT = fileURLToPath(new URL("../", new URL("./", import.meta.url)));
const OWN_RE = /^(?:(?:mod|cli|repl)\.[jt]s|(?:runtime|profile|cluster)\/[\w./-]+\.[jt]s)$/;

/** The path of `file` inside this package, if it is one of rayprof's own modules. */
function ownPath(file: string): string | undefined {
  if (!file.startsWith(OWN_ROOT)) return undefined;
  const rel = relative(OWN_ROOT, file).split(sep).join("/");
  return OWN_RE.test(rel) ? rel : undefined;
}

const IMPORT_RE =
  /(?:\bimport|\bexport)\s*(?:[\w*{}\s,$]*?\bfrom\s*)?["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|new\s+URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url/g;

/** Local files a module imports (relative or file: specifiers); bare ones are the node's. */
function localImports(file: string, text: string): string[] {
  const out: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const m of code.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec) continue;
    let path: string | undefined;
    if (spec.startsWith("./") || spec.startsWith("../")) path = resolve(dirname(file), spec);
    else if (spec.startsWith("file:")) path = fileURLToPath(spec);
    else if (spec.startsWith("/")) path = spec;
    if (path !== undefined) out.push(path.split("?")[0]);
  }
  return out;
}

function commonDir(paths: string[]): string {
  let dir = dirname(paths[0]);
  for (const p of paths) {
    while (!(p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep))) {
      const up = dirname(dir);
      if (up === dir) return dir;
      dir = up;
    }
  }
  return dir;
}

/** The graph of `entryUrl`'s module, read from disk now. */
export async function readGraph(
  entryUrl: string,
): Promise<{ tree: Tree; manifest: Uint8Array; blobs: Map<string, Uint8Array> }> {
  const entry = fileURLToPath(entryUrl);
  const files = new Map<string, Uint8Array>();
  const own = new Map<string, string>();
  const todo = [entry];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (files.has(f) || own.has(f)) continue;
    const mine = f === entry ? undefined : ownPath(f);
    if (mine !== undefined) {
      own.set(f, mine);
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(f);
    } catch {
      if (f === entry) {
        throw Object.assign(
          new Error(`Cannot ship ${entryUrl} to the cluster: it cannot be read`),
          { code: UNREADABLE },
        );
      }
      continue; // an import that does not exist fails on the node as it would here
    }
    files.set(f, bytes);
    if (/\.(m|c)?[jt]sx?$/.test(f)) {
      for (const dep of localImports(f, new TextDecoder().decode(bytes))) todo.push(dep);
    }
  }
  const dir = commonDir([...files.keys(), ...own.keys()]);
  const ownList: [string, string][] = [...own].map(([f, rel]) => [
    relative(dir, f).split(sep).join("/"),
    rel,
  ]);
  ownList.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const list: [string, string][] = [];
  const blobs = new Map<string, Uint8Array>();
  for (const [f, bytes] of files) {
    const sha = sha256(bytes);
    list.push([relative(dir, f).split(sep).join("/"), sha]);
    blobs.set(sha, bytes);
  }
  list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const manifest = new TextEncoder().encode(
    JSON.stringify({ dir, files: list, own: ownList } as Manifest),
  );
  const tree: Tree = {
    sha: sha256(manifest),
    entry: relative(dir, entry).split(sep).join("/"),
    dir,
  };
  return { tree, manifest, blobs };
}

/**
 * Uploads a graph: each blob stored unless present, with `driver` noted as holding it (see
 * _leases.ts), unless `sent` says this driver already did. Returns the keys it now holds.
 */
export async function uploadGraph(
  c: Redis,
  g: { tree: Tree; manifest: Uint8Array; blobs: Map<string, Uint8Array> },
  sent: Set<string>,
  driver: string,
): Promise<string[]> {
  const keys: string[] = [];
  const writes: Promise<unknown>[] = [];
  for (const [sha, bytes] of g.blobs) {
    const k = K.code(sha);
    if (sent.has(k)) continue;
    sent.add(k);
    keys.push(k);
    writes.push(acquire(c, driver, k, bytes));
  }
  const tk = K.tree(g.tree.sha);
  if (!sent.has(tk)) {
    sent.add(tk);
    keys.push(tk);
    writes.push(acquire(c, driver, tk, g.manifest));
  }
  await Promise.all(writes);
  return keys;
}

/**
 * Builds tree `sha` under `cacheDir` from Redis (or finds it built) and returns its directory.
 *
 * @throws {Error} If the manifest or a file is missing, or a hash or a path does not check.
 */
export async function materialize(
  c: Redis,
  sha: string,
  cacheDir: string,
  bufferOpts: unknown,
): Promise<{ dir: string; driverDir: string }> {
  if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error(`bad tree id ${JSON.stringify(sha)}`);
  const dir = join(cacheDir, "trees", sha);
  const done = join(dir, ".rayprof-tree.json");
  if (existsSync(done)) {
    const m = JSON.parse(await readFile(done, "utf8")) as Manifest;
    return { dir, driverDir: m.dir };
  }
  const raw = await c.sendCommand(["GET", K.tree(sha)], bufferOpts) as Buffer | null;
  if (!raw) throw new Error(`code tree ${sha.slice(0, 12)} is not in Redis (its driver is gone?)`);
  if (sha256(raw) !== sha) throw new Error(`code tree ${sha.slice(0, 12)} does not match its hash`);
  const m = JSON.parse(raw.toString("utf8")) as Manifest;
  if (!m || !Array.isArray(m.files) || typeof m.dir !== "string") {
    throw new Error(`code tree ${sha.slice(0, 12)} has a bad manifest`);
  }
  const staging = `${dir}.${process_id()}.tmp`;
  for (const [rel, fileSha] of m.files) {
    const n = normalize(rel);
    if (typeof rel !== "string" || isAbsolute(n) || n.startsWith("..") || n.includes(`..${sep}`)) {
      throw new Error(`code tree ${sha.slice(0, 12)} names a path outside itself: ${rel}`);
    }
    if (!/^[0-9a-f]{64}$/.test(fileSha)) throw new Error(`bad file hash in ${sha.slice(0, 12)}`);
    const blobPath = join(cacheDir, "blobs", fileSha);
    let bytes: Uint8Array;
    if (existsSync(blobPath)) {
      bytes = await readFile(blobPath);
      if (sha256(bytes) !== fileSha) bytes = new Uint8Array(0);
    } else bytes = new Uint8Array(0);
    if (bytes.length === 0 || sha256(bytes) !== fileSha) {
      const b = await c.sendCommand(["GET", K.code(fileSha)], bufferOpts) as Buffer | null;
      if (!b) throw new Error(`file ${rel} (${fileSha.slice(0, 12)}) is not in Redis`);
      if (sha256(b) !== fileSha) throw new Error(`file ${rel} does not match its hash`);
      bytes = new Uint8Array(b);
      await mkdir(dirname(blobPath), { recursive: true });
      await writeFile(blobPath, bytes);
    }
    const out = join(staging, n);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, bytes);
  }
  for (const [rel, mine] of m.own ?? []) {
    const n = normalize(String(rel));
    if (isAbsolute(n) || n.startsWith("..") || !OWN_RE.test(String(mine)) || mine.includes("..")) {
      throw new Error(`code tree ${sha.slice(0, 12)} names a bad rayprof module: ${rel}`);
    }
    // The driver may run the built package (.js) and this node the sources (.ts), or the reverse.
    let target = join(OWN_ROOT, mine);
    const other = target.replace(/\.([jt])s$/, (_, x) => (x === "t" ? ".js" : ".ts"));
    if (!existsSync(target) && existsSync(other)) target = other;
    const out = join(staging, n);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `export * from ${JSON.stringify(pathToFileURL(target).href)};\n`);
  }
  await writeFile(join(staging, ".rayprof-tree.json"), raw);
  await mkdir(dirname(dir), { recursive: true });
  try {
    await rename(staging, dir);
  } catch (e) {
    if (!existsSync(done)) throw e; // another node process built it meanwhile: theirs is the same
  }
  return { dir, driverDir: m.dir };
}

/**
 * The file URL of this node's copy of one of rayprof's own modules, named by its path inside the
 * package (`"profile/run/worker_preload.ts"`), or `undefined` when the path names none.
 */
export function ownModuleUrl(rel: string): string | undefined {
  if (typeof rel !== "string" || rel.includes("..") || !OWN_RE.test(rel)) return undefined;
  // The driver may run the built package (.js) and this node the sources (.ts), or the reverse.
  let target = join(OWN_ROOT, rel);
  const other = target.replace(/\.([jt])s$/, (_, x) => (x === "t" ? ".js" : ".ts"));
  if (!existsSync(target) && existsSync(other)) target = other;
  return existsSync(target) ? pathToFileURL(target).href : undefined;
}

function process_id(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** The file URL of `entry` inside a built tree. */
export function treeUrl(dir: string, entry: string): string {
  return pathToFileURL(join(dir, normalize(entry))).href;
}

/** `text` (a stack) with paths inside the tree mapped back to the driver's files. */
export function mapStack(text: string, dir: string, driverDir: string): string {
  const url = pathToFileURL(dir).href;
  const durl = pathToFileURL(driverDir).href;
  return text.split(url).join(durl).split(dir).join(driverDir);
}
