/**
 * What crosses between threads: argument checks, size estimates, references inside values, and
 * errors as plain data.
 *
 * @module
 */
import { cleanStack } from "./_platform.ts";
import type { RemoteErrorInfo } from "./errors.ts";
import { ObjectRef, REF_TAG } from "./object_ref.ts";

/** Tag carried by an actor handle when it is copied into a worker. */
export const ACTOR_TAG = "__rayprofActor";

/** Result of scanning a value that is about to be sent. */
export interface Scan {
  bytes: number;
  /** Whether it contains ObjectRefs (or actor handles) below the top level. */
  refs: boolean;
}

const MAX_NODES = 100_000;

function describePath(path: string, kind: string): string {
  return `${path} is ${kind}`;
}

/**
 * Estimates the size of `value`, finds references inside it, and throws a TypeError naming the
 * path of anything that cannot be sent to a worker (functions, symbols, promises). Stops looking
 * after 100,000 nodes; `postMessage` still catches the rest.
 */
export function scanValue(value: unknown, path: string, out: Scan): void {
  switch (typeof value) {
    case "number":
    case "bigint":
      out.bytes += 8;
      return;
    case "boolean":
    case "undefined":
      out.bytes += 1;
      return;
    case "string":
      out.bytes += value.length;
      return;
    case "function":
      throw new TypeError(describePath(path, "a function, which cannot be sent to a worker"));
    case "symbol":
      throw new TypeError(describePath(path, "a symbol, which cannot be sent to a worker"));
  }
  if (value === null) {
    out.bytes += 1;
    return;
  }
  const seen = new Set<object>();
  let budget = MAX_NODES;
  const walk = (v: unknown, p: string): void => {
    if (--budget < 0) return;
    const t = typeof v;
    if (t !== "object" && t !== "function" && t !== "symbol") {
      out.bytes += t === "string" ? (v as string).length : 8;
      return;
    }
    if (t === "function") {
      throw new TypeError(describePath(p, "a function, which cannot be sent to a worker"));
    }
    if (t === "symbol") {
      throw new TypeError(describePath(p, "a symbol, which cannot be sent to a worker"));
    }
    if (v === null) return;
    const o = v as Record<string, unknown>;
    if (seen.has(o)) return;
    seen.add(o);
    if (o instanceof ObjectRef || ACTOR_TAG in o) {
      out.refs = true;
      out.bytes += 16;
      return;
    }
    if (ArrayBuffer.isView(o)) {
      out.bytes += o.byteLength;
      return;
    }
    if (o instanceof ArrayBuffer || o instanceof SharedArrayBuffer) {
      out.bytes += o.byteLength;
      return;
    }
    if (typeof (o as { then?: unknown }).then === "function") {
      throw new TypeError(
        describePath(
          p,
          "a promise (or thenable), which cannot be sent to a worker; await it first",
        ),
      );
    }
    if (o instanceof Date || o instanceof RegExp) {
      out.bytes += 16;
      return;
    }
    if (Array.isArray(o)) {
      out.bytes += 8;
      for (let i = 0; i < o.length; i++) walk(o[i], `${p}[${i}]`);
      return;
    }
    if (o instanceof Map) {
      let i = 0;
      for (const [k, val] of o) {
        walk(k, `${p}.<key ${i}>`);
        walk(val, `${p}.get(${i++})`);
      }
      return;
    }
    if (o instanceof Set) {
      let i = 0;
      for (const k of o) walk(k, `${p}.<item ${i++}>`);
      return;
    }
    if (o instanceof Error) {
      out.bytes += o.message.length + 32;
      return;
    }
    out.bytes += 8;
    for (const k of Object.keys(o)) walk(o[k], `${p}.${k}`);
  };
  walk(value, path);
}

/**
 * Estimates the bytes of a value without copying it: exact for primitives and binary data,
 * sampled for large arrays and objects (first 64 items, scaled), so big results stay cheap.
 */
export function estimateBytes(v: unknown, depth = 0): number {
  switch (typeof v) {
    case "number":
    case "bigint":
      return 8;
    case "string":
      return v.length;
    case "object":
      break;
    default:
      return 1;
  }
  if (v === null) return 1;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) return v.byteLength;
  if (depth > 8) return 8;
  const items: unknown[] = Array.isArray(v)
    ? v
    : v instanceof Map
    ? [...v.values()]
    : v instanceof Set
    ? [...v]
    : Object.values(v);
  const n = items.length;
  const k = Math.min(n, 64);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += estimateBytes(items[i], depth + 1);
  return 8 + (k === 0 ? 0 : Math.round(sum * (n / k)));
}

/** Replaces copied reference tags inside `value` by live references (in place where possible). */
export function reviveRefs(
  value: unknown,
  makeRef: (id: number) => ObjectRef<unknown>,
  makeActor: (tag: Record<string, unknown>) => unknown,
): unknown {
  const seen = new Set<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v !== "object" || v === null || seen.has(v)) return v;
    seen.add(v);
    const o = v as Record<string, unknown>;
    if (REF_TAG in o && !(o instanceof ObjectRef)) return makeRef(o[REF_TAG] as number);
    if (ACTOR_TAG in o) return makeActor(o);
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) return o;
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) o[i] = walk(o[i]);
    } else if (o instanceof Map) {
      for (const [k, val] of o) o.set(k, walk(val));
    } else if (Object.getPrototypeOf(o) === Object.prototype) {
      for (const k of Object.keys(o)) o[k] = walk(o[k]);
    }
    return o;
  };
  return walk(value);
}

/** Turns any thrown value into plain data that survives `postMessage`. */
export function errorInfo(e: unknown, depth = 0): RemoteErrorInfo {
  if (e instanceof Error) {
    const info: RemoteErrorInfo = {
      name: e.name,
      message: e.message,
      stack: cleanStack(e.stack ?? `${e.name}: ${e.message}`),
    };
    const props: Record<string, unknown> = {};
    let any = false;
    for (const k of Object.keys(e)) {
      const v = (e as unknown as Record<string, unknown>)[k];
      if (k === "cause" || typeof v === "function" || typeof v === "symbol") continue;
      try {
        structuredClone(v);
        props[k] = v;
        any = true;
      } catch { /* not sendable: dropped */ }
    }
    if (any) info.props = props;
    const cause = (e as { cause?: unknown }).cause;
    if (cause !== undefined && depth < 5) info.cause = errorInfo(cause, depth + 1);
    return info;
  }
  let text: string;
  try {
    text = typeof e === "string" ? e : JSON.stringify(e) ?? String(e);
  } catch {
    text = String(e);
  }
  return { name: "Error", message: `Non-error value thrown: ${text}`, stack: "" };
}
