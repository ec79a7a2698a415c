/**
 * The cluster's wire format: a compact tagged encoding with structured-clone semantics that Deno
 * and Bun both read (their `node:v8` serializers do not read each other's bytes). The first byte
 * is the format version. Typed arrays and ArrayBuffers travel as raw bytes (one copy each way);
 * repeated objects and cycles as back-references; ObjectRefs through a caller's hook.
 *
 * @module
 */

/** Version byte of this format. */
export const WIRE_VERSION = 1;

const T_UNDEF = 0,
  T_NULL = 1,
  T_TRUE = 2,
  T_FALSE = 3,
  T_INT = 4,
  T_F64 = 5,
  T_STR = 6,
  T_BIGINT = 7,
  T_ARRAY = 8,
  T_OBJECT = 9,
  T_MAP = 10,
  T_SET = 11,
  T_DATE = 12,
  T_REGEXP = 13,
  T_ABUF = 14,
  T_VIEW = 15,
  T_ERROR = 16,
  T_BACKREF = 17,
  T_BOXED = 18,
  T_REF = 19,
  T_HOLE = 20,
  T_SPARSE = 21;

const VIEWS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
] as const;

const ERRORS: Record<string, ErrorConstructor> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/** Turns a value the caller treats specially (an ObjectRef) into a number, or returns undefined. */
export type RefOut = (value: object) => number | undefined;
/** Rebuilds a special value from its number. */
export type RefIn = (id: number) => unknown;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Objects a writer looks up in a list before it uses a map (see `Writer.list`). */
const LIST_MAX = 16;

/**
 * Where a value is written. One is kept between calls (see `encode`): a task's message is a
 * hundred bytes or so, and a fresh writer, buffer and map for each was ≈10% of a pipelining
 * driver's time, with as much again in collecting them.
 */
class Writer {
  buf: Uint8Array = new Uint8Array(256);
  view: DataView = new DataView(this.buf.buffer);
  pos = 0;
  /**
   * The objects written so far, by id (for back-references): the first LIST_MAX in a list that
   * is searched, past that all in a map. A task's message holds 3 or 4 objects, and hashing them
   * (an identity hash made for each new object, then a map cleared) was half its encoding time.
   */
  list: (object | null)[] = new Array(LIST_MAX).fill(null);
  seen: Map<object, number> = new Map();
  ids = 0;

  /** The id of `o` if it was written already, else -1. */
  find(o: object): number {
    const n = this.ids;
    if (n > LIST_MAX) return this.seen.get(o) ?? -1;
    const list = this.list;
    for (let i = 0; i < n; i++) if (list[i] === o) return i;
    return -1;
  }

  /** Gives `o` the next id. */
  add(o: object): void {
    const id = this.ids++;
    if (id < LIST_MAX) {
      this.list[id] = o;
      return;
    }
    if (id === LIST_MAX) { for (let i = 0; i < LIST_MAX; i++) this.seen.set(this.list[i]!, i); }
    this.seen.set(o, id);
  }

  /** Forgets the objects written (so that the kept writer pins none). */
  reset(): void {
    const n = Math.min(this.ids, LIST_MAX);
    for (let i = 0; i < n; i++) this.list[i] = null;
    if (this.ids > LIST_MAX) this.seen.clear();
    this.ids = 0;
  }
  refOut: RefOut | undefined = undefined;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  uint(n: number): void {
    this.ensure(5);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  f64(n: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }

  str(s: string): void {
    const n = s.length;
    if (n < 128) {
      // Short ASCII (keys, names, ids): byte by byte, without an encoder call or a subarray.
      this.ensure(1 + n * 3);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    // A UTF-8 string takes at most 3 bytes per UTF-16 unit.
    this.ensure(5 + s.length * 3);
    const start = this.pos;
    this.pos += s.length < 128 ? 1 : 5;
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.pos));
    if (s.length < 128 && written < 128) {
      this.buf[start] = written;
    } else {
      if (s.length < 128) {
        // Too long for one length byte after all: make room for a 5-byte length.
        this.buf.copyWithin(start + 5, start + 1, start + 1 + written);
      }
      this.uint5(start, written);
      this.pos = start + 5;
    }
    this.pos += written;
  }

  bytes(b: Uint8Array): void {
    this.uint(b.byteLength);
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  /** Scopes of the values being encoded on their own (see {@linkcode Nested}), kept for reuse. */
  scopes: { list: (object | null)[]; seen: Map<object, number> }[] = [];
  depth = 0;

  /** `n.value` encoded on its own, as the bytes of a Uint8Array, written in place. */
  nested(n: Nested, path: string): void {
    this.ensure(7);
    this.buf[this.pos++] = T_VIEW;
    this.buf[this.pos++] = 1; // Uint8Array
    const at = this.pos;
    this.pos += 5; // its length, written after it (5 bytes, as `str` writes long ones)
    const outer = { list: this.list, seen: this.seen, ids: this.ids, refOut: this.refOut };
    const sc = this.scopes[this.depth] ??= {
      list: new Array(LIST_MAX).fill(null),
      seen: new Map(),
    };
    this.depth++;
    this.list = sc.list;
    this.seen = sc.seen;
    this.ids = 0;
    this.refOut = n.refOut;
    try {
      this.byte(WIRE_VERSION);
      write(this, n.value, n.path ?? path);
    } finally {
      this.reset();
      this.depth--;
      this.list = outer.list;
      this.seen = outer.seen;
      this.ids = outer.ids;
      this.refOut = outer.refOut;
    }
    this.uint5(at, this.pos - at - 5);
  }

  /** `n` as a length of 5 bytes at `at`, written once what it counts is (`uint` reads it). */
  uint5(at: number, n: number): void {
    for (let i = 0; i < 4; i++) {
      this.buf[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[at] = n;
  }

  /** A value encoded before (see {@linkcode Raw}), copied. */
  raw(r: Raw): void {
    this.ensure(r.bytes.length);
    this.buf.set(r.bytes, this.pos);
    this.pos += r.bytes.length;
    for (let i = 0; i < r.objects; i++) this.add(RAW_SLOT);
  }
}

/** What a writer's list holds for the objects inside a {@linkcode Raw} (never looked up). */
const RAW_SLOT = Object.freeze({});

/**
 * A value to encode on its own, as the bytes of a Uint8Array (as `encode(value)` would give
 * them), but written in place: no buffer of its own. A task's message holds its arguments so, and
 * a bundle its messages.
 */
export class Nested {
  /** @param value What to encode. @param refOut As `encode`'s. @param path As `encode`'s. */
  constructor(
    readonly value: unknown,
    readonly refOut?: RefOut,
    readonly path?: string,
  ) {}
}

/**
 * A value encoded once (with {@linkcode raw}) and copied into each message that holds it: a
 * task's options, a function's hash. It must hold no object twice (no back-references).
 */
export class Raw {
  /** @param bytes Its encoding, without the version byte. @param objects Objects in it. */
  constructor(readonly bytes: Uint8Array, readonly objects: number) {}
}

/** `value` (which must hold no object twice) as a {@linkcode Raw}. */
export function raw(value: unknown): Raw {
  const w = new Writer();
  write(w, value, "the value");
  return new Raw(w.buf.slice(0, w.pos), w.ids);
}

function unclonable(what: string, path: string): TypeError {
  return new TypeError(`Cannot send ${path} to another machine as it holds ${what}`);
}

function write(w: Writer, v: unknown, path: string): void {
  switch (typeof v) {
    case "undefined":
      w.byte(T_UNDEF);
      return;
    case "boolean":
      w.byte(v ? T_TRUE : T_FALSE);
      return;
    case "number":
      if ((v | 0) === v && !Object.is(v, -0) && v >= 0) {
        w.byte(T_INT);
        w.uint(v);
      } else {
        w.byte(T_F64);
        w.f64(v);
      }
      return;
    case "string":
      w.byte(T_STR);
      w.str(v);
      return;
    case "bigint":
      w.byte(T_BIGINT);
      w.str(v.toString(16));
      return;
    case "function":
      throw unclonable("a function", path);
    case "symbol":
      throw unclonable("a symbol", path);
  }
  if (v === null) {
    w.byte(T_NULL);
    return;
  }
  const o = v as object;
  if (o instanceof Nested) {
    w.nested(o, path);
    return;
  }
  if (o instanceof Raw) {
    w.raw(o);
    return;
  }
  const back = w.find(o);
  if (back >= 0) {
    w.byte(T_BACKREF);
    w.uint(back);
    return;
  }
  if (w.refOut) {
    const id = w.refOut(o);
    if (id !== undefined) {
      w.byte(T_REF);
      w.f64(id);
      return;
    }
  }
  w.add(o);
  if (Array.isArray(o)) {
    const keys = Object.keys(o);
    if (keys.length === o.length) {
      w.byte(T_ARRAY);
      w.uint(o.length);
      for (let i = 0; i < o.length; i++) {
        if (!(i in o)) w.byte(T_HOLE);
        else write(w, o[i], path);
      }
    } else {
      // Holes or extra properties: length, then the own keys with their values.
      w.byte(T_SPARSE);
      w.uint(o.length);
      w.uint(keys.length);
      for (const k of keys) {
        w.str(k);
        write(w, (o as unknown as Record<string, unknown>)[k], path);
      }
    }
    return;
  }
  if (ArrayBuffer.isView(o)) {
    const kind = VIEWS.findIndex((c) => o instanceof c);
    if (kind < 0) throw unclonable(`a ${o.constructor?.name ?? "view"}`, path);
    w.byte(T_VIEW);
    w.byte(kind);
    w.bytes(new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
    return;
  }
  if (o instanceof ArrayBuffer) {
    w.byte(T_ABUF);
    w.bytes(new Uint8Array(o));
    return;
  }
  if (o instanceof Map) {
    w.byte(T_MAP);
    w.uint(o.size);
    for (const [k, x] of o) {
      write(w, k, path);
      write(w, x, path);
    }
    return;
  }
  if (o instanceof Set) {
    w.byte(T_SET);
    w.uint(o.size);
    for (const x of o) write(w, x, path);
    return;
  }
  if (o instanceof Date) {
    w.byte(T_DATE);
    w.f64(o.getTime());
    return;
  }
  if (o instanceof RegExp) {
    w.byte(T_REGEXP);
    w.str(o.source);
    w.str(o.flags);
    return;
  }
  if (o instanceof Error) {
    w.byte(T_ERROR);
    const name = (o as Error).name;
    w.str(name in ERRORS ? name : "Error");
    w.str(String(o.message ?? ""));
    w.str(String(o.stack ?? ""));
    const hasCause = "cause" in o;
    w.byte(hasCause ? 1 : 0);
    if (hasCause) write(w, (o as { cause?: unknown }).cause, path);
    return;
  }
  if (o instanceof Number || o instanceof String || o instanceof Boolean || o instanceof BigInt) {
    w.byte(T_BOXED);
    write(w, o.valueOf(), path);
    return;
  }
  if (
    o instanceof Promise || o instanceof WeakMap || o instanceof WeakSet ||
    (typeof WeakRef !== "undefined" && o instanceof WeakRef)
  ) {
    throw unclonable(`a ${o.constructor.name}`, path);
  }
  // Any other object: its own enumerable string keys, as structured clone copies them.
  const keys = Object.keys(o);
  w.byte(T_OBJECT);
  w.uint(keys.length);
  for (const k of keys) {
    w.str(k);
    write(w, (o as Record<string, unknown>)[k], path);
  }
}

/**
 * Encodes `value`. `refOut` may turn objects into numbers (ObjectRefs).
 *
 * @throws {TypeError} If the value holds what structured clone refuses (functions, symbols...).
 */
export function encode(value: unknown, refOut?: RefOut, path = "the value"): Uint8Array {
  // The kept writer, unless an encode is under way (a refOut that encodes): then a new one.
  const w = spare ?? new Writer();
  spare = null;
  w.pos = 0;
  w.refOut = refOut;
  let keep = true;
  try {
    w.byte(WIRE_VERSION);
    write(w, value, path);
    if (w.buf.length > SPARE_MAX) {
      keep = false; // a big value: its buffer is the result, not kept
      return w.buf.subarray(0, w.pos);
    }
    return w.buf.slice(0, w.pos);
  } finally {
    w.refOut = undefined;
    w.reset();
    if (keep && w.buf.length <= SPARE_MAX) spare = w;
  }
}

/** Largest buffer of the kept writer, in bytes. */
const SPARE_MAX = 1 << 16;
let spare: Writer | null = null;

/** Arrays read are filled from empty (JavaScriptCore) rather than made at their size (V8). */
const PACKED = "Bun" in globalThis;

class Reader {
  pos = 0;
  view: DataView;
  seen: unknown[] = [];
  constructor(readonly buf: Uint8Array, readonly refIn: RefIn | undefined) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError("truncated message");
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  uint(): number {
    let n = 0, shift = 0, b: number;
    do {
      b = this.byte();
      if (shift > 28) throw new RangeError("bad length");
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return n;
  }

  f64(): number {
    this.need(8);
    const n = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return n;
  }

  str(): string {
    const n = this.uint();
    this.need(n);
    if (n <= 16) {
      // Short ASCII (keys, names, ids) byte by byte: 4-15x faster than a decoder call and its
      // subarray for 4-12 characters, in Deno and in Bun; longer, the decoder catches up.
      const buf = this.buf, end = this.pos + n;
      let s = "", p = this.pos;
      for (; p < end; p++) {
        const c = buf[p];
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (p === end) {
        this.pos = end;
        return s;
      }
    }
    const s = fromUtf8.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  bytes(): Uint8Array {
    const n = this.uint();
    this.need(n);
    // A copy into a buffer of its own: aligned for any view, and not pinning the message. (Not
    // `slice`: on a Node Buffer, as the Redis client gives, that is a view of a shared pool.)
    const b = new Uint8Array(n);
    b.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
}

function read(r: Reader, depth: number): unknown {
  if (depth > 10_000) throw new RangeError("nested too deeply");
  const t = r.byte();
  switch (t) {
    case T_UNDEF:
      return undefined;
    case T_NULL:
      return null;
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_INT:
      return r.uint();
    case T_F64:
      return r.f64();
    case T_STR:
      return r.str();
    case T_BIGINT: {
      const s = r.str();
      if (!/^-?[0-9a-f]+$/.test(s)) throw new RangeError("bad bigint");
      return s.startsWith("-") ? -BigInt(`0x${s.slice(1)}`) : BigInt(`0x${s}`);
    }
    case T_BACKREF: {
      const i = r.uint();
      if (i >= r.seen.length) throw new RangeError("bad back-reference");
      return r.seen[i];
    }
    case T_REF: {
      const id = r.f64();
      if (!r.refIn) throw new RangeError("unexpected reference");
      return r.refIn(id);
    }
    case T_ARRAY: {
      const n = r.uint();
      if (n > r.buf.length - r.pos) throw new RangeError("bad array length");
      // JavaScriptCore: filled in order from empty, it stays a packed array unless it has holes
      // (from `new Array(n)`, a reply's items took 3x as long to read). V8: filling from empty
      // grows the store step by step (2.3x as long): it is made at its size.
      const a: unknown[] = PACKED ? [] : new Array(n);
      r.seen.push(a);
      for (let i = 0; i < n; i++) {
        if (r.buf[r.pos] === T_HOLE) {
          r.pos++;
          a.length = i + 1;
          continue;
        }
        a[i] = read(r, depth + 1);
      }
      return a;
    }
    case T_SPARSE: {
      const a: unknown[] = [];
      r.seen.push(a);
      const n = r.uint();
      const keys = r.uint();
      a.length = n;
      for (let i = 0; i < keys; i++) {
        const k = r.str();
        (a as unknown as Record<string, unknown>)[k] = read(r, depth + 1);
      }
      return a;
    }
    case T_OBJECT: {
      const o: Record<string, unknown> = {};
      r.seen.push(o);
      const n = r.uint();
      for (let i = 0; i < n; i++) {
        const k = r.str();
        const x = read(r, depth + 1);
        if (k === "__proto__") Object.defineProperty(o, k, { value: x, enumerable: true });
        else o[k] = x;
      }
      return o;
    }
    case T_MAP: {
      const m = new Map();
      r.seen.push(m);
      const n = r.uint();
      for (let i = 0; i < n; i++) {
        const k = read(r, depth + 1);
        m.set(k, read(r, depth + 1));
      }
      return m;
    }
    case T_SET: {
      const s = new Set();
      r.seen.push(s);
      const n = r.uint();
      for (let i = 0; i < n; i++) s.add(read(r, depth + 1));
      return s;
    }
    case T_DATE: {
      const d = new Date(r.f64());
      r.seen.push(d);
      return d;
    }
    case T_REGEXP: {
      const at = r.seen.length;
      r.seen.push(null);
      const re = new RegExp(r.str(), r.str());
      r.seen[at] = re;
      return re;
    }
    case T_ABUF: {
      const b = r.bytes().buffer;
      r.seen.push(b);
      return b;
    }
    case T_VIEW: {
      const kind = r.byte();
      const C = VIEWS[kind];
      if (!C) throw new RangeError("bad view kind");
      const b = r.bytes();
      const per = C === DataView ? 1 : (C as unknown as { BYTES_PER_ELEMENT: number })
        .BYTES_PER_ELEMENT;
      if (b.byteLength % per !== 0) throw new RangeError("bad view length");
      const v = C === DataView
        ? new DataView(b.buffer)
        : new (C as Uint8ArrayConstructor)(b.buffer, 0, b.byteLength / per);
      r.seen.push(v);
      return v;
    }
    case T_ERROR: {
      const at = r.seen.length;
      r.seen.push(null);
      const name = r.str();
      const E = ERRORS[name] ?? Error;
      const e = new E(r.str());
      e.stack = r.str();
      r.seen[at] = e;
      if (r.byte() === 1) {
        Object.defineProperty(e, "cause", {
          value: read(r, depth + 1),
          writable: true,
          configurable: true,
        });
      }
      return e;
    }
    case T_BOXED: {
      const at = r.seen.length;
      r.seen.push(null);
      const x = read(r, depth + 1);
      const boxed = Object(x);
      r.seen[at] = boxed;
      return boxed;
    }
    default:
      throw new RangeError(`unknown tag ${t}`);
  }
}

/**
 * Decodes what {@linkcode encode} made.
 *
 * @throws {RangeError} For an unknown version, truncated or malformed bytes.
 */
export function decode(bytes: Uint8Array, refIn?: RefIn): unknown {
  if (bytes.length === 0) throw new RangeError("empty message");
  if (bytes[0] !== WIRE_VERSION) {
    throw new RangeError(`unknown wire version ${bytes[0]} (this build reads ${WIRE_VERSION})`);
  }
  const r = new Reader(bytes, refIn);
  r.pos = 1;
  const v = read(r, 0);
  if (r.pos !== bytes.length) throw new RangeError("trailing bytes");
  return v;
}
