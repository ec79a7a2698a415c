// cluster/_codec.ts: the wire format both runtimes read. Round trips of every kind of value it
// carries, strings at the length and encoding boundaries of its fast path, refs, refusals, and
// that a result does not change when the next value is encoded (the writer is reused); and the
// TracingChannel polyfill the Redis client is loaded with (cluster/_redis.ts), in both runtimes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode, Nested, raw, WIRE_VERSION } from "../cluster/_codec.ts";

const roundTrip = (v: unknown) => decode(encode(v));

test("codec: scalars, strings of every length and script, big integers", () => {
  for (const v of [0, 1, 127, 128, 2 ** 31, -1, -0, 0.5, NaN, Infinity, -Infinity, true, false]) {
    assert.ok(Object.is(roundTrip(v), v), String(v));
  }
  assert.equal(roundTrip(null), null);
  assert.equal(roundTrip(undefined), undefined);
  // 16 and 17: the edge of the reader's byte-by-byte path; 127 and 128, of the writer's.
  for (const n of [0, 1, 15, 16, 17, 126, 127, 128, 129, 1000, 70_000]) {
    const ascii = "a".repeat(n);
    assert.equal(roundTrip(ascii), ascii, `ascii ${n}`);
    // Non-ASCII at the start, the middle and the end of the fast path's range.
    for (const at of [0, n >> 1, Math.max(0, n - 1)]) {
      const mixed = ascii.slice(0, at) + "é😀" + ascii.slice(at);
      assert.equal(roundTrip(mixed), mixed, `mixed ${n} at ${at}`);
    }
  }
  // 42 three-byte characters: 126 bytes; 43: 129, past one length byte.
  for (const n of [42, 43]) assert.equal(roundTrip("€".repeat(n)), "€".repeat(n));
  assert.equal(roundTrip(12345678901234567890n), 12345678901234567890n);
  assert.equal(roundTrip(-5n), -5n);
});

test("codec: containers, typed arrays, dates, errors and cycles", () => {
  const cyclic: Record<string, unknown> = { name: "c", list: [1, "two", { three: 3 }] };
  cyclic.self = cyclic;
  // deno-lint-ignore no-explicit-any
  const back: any = roundTrip({
    cyclic,
    map: new Map<unknown, unknown>([[1, new Date(5)], ["k", [null]]]),
    set: new Set(["a", 2]),
    bytes: new Uint8Array([0, 1, 255]),
    floats: new Float64Array([0.25, -2]),
    big: new BigInt64Array([-1n]),
    buffer: new Uint8Array([9, 8]).buffer,
    err: new RangeError("out of range"),
    // deno-lint-ignore no-sparse-arrays
    holes: [1, , 3],
    // deno-lint-ignore no-sparse-arrays
    edges: [, 2, , ,],
  });
  assert.equal(back.cyclic.self, back.cyclic);
  assert.deepEqual(back.cyclic.list, [1, "two", { three: 3 }]);
  assert.ok(back.map.get(1) instanceof Date && back.map.get(1).getTime() === 5);
  assert.deepEqual(back.map.get("k"), [null]);
  assert.deepEqual([...back.set], ["a", 2]);
  assert.ok(back.bytes instanceof Uint8Array && back.bytes.join() === "0,1,255");
  assert.ok(back.floats instanceof Float64Array && back.floats.join() === "0.25,-2");
  assert.equal(back.big[0], -1n);
  assert.ok(back.buffer instanceof ArrayBuffer && new Uint8Array(back.buffer).join() === "9,8");
  assert.ok(back.err instanceof RangeError && back.err.message === "out of range");
  assert.equal(back.holes.length, 3);
  assert.ok(!(1 in back.holes));
  assert.equal(back.edges.length, 4);
  assert.deepEqual(Object.keys(back.edges), ["1"]);
});

test("codec: objects written twice come back as one, before and past the writer's list of 16", () => {
  for (const n of [3, 15, 16, 17, 40]) {
    const objs = Array.from({ length: n }, (_, i) => ({ i }));
    // deno-lint-ignore no-explicit-any
    const back: any = roundTrip({ objs, again: [objs[0], objs[n - 1], objs[n >> 1]] });
    assert.equal(back.again[0], back.objs[0], `n=${n}`);
    assert.equal(back.again[1], back.objs[n - 1], `n=${n}`);
    assert.equal(back.again[2], back.objs[n >> 1], `n=${n}`);
    assert.deepEqual(back.objs.map((o: { i: number }) => o.i), objs.map((o) => o.i));
  }
});

test("codec: Nested values read as their own encoding; Raw values as the value, ids kept", () => {
  const args = [1, "two", { three: new Map([[3, [3]]]) }];
  const inner = ["t", 7, new Nested(args), new Nested(new Nested("deep"))];
  // deno-lint-ignore no-explicit-any
  const back: any = decode(encode([new Nested(inner), new Nested(args)]));
  assert.ok(back[0] instanceof Uint8Array && back[1] instanceof Uint8Array);
  // The same bytes as encoding on its own gives.
  assert.deepEqual([...back[1]], [...encode(args)]);
  // deno-lint-ignore no-explicit-any
  const msg: any = decode(back[0]);
  assert.deepEqual(decode(msg[2]), args);
  assert.equal(decode(decode(msg[3]) as Uint8Array), "deep");
  // Objects after a Raw keep their back-references; a Raw used twice gives two objects.
  const opts = raw({ numCpus: 1, name: "n", list: ["a"] });
  const shared = { s: 1 };
  // deno-lint-ignore no-explicit-any
  const r: any = decode(encode([opts, shared, opts, [shared], shared]));
  assert.deepEqual(r[0], { numCpus: 1, name: "n", list: ["a"] });
  assert.deepEqual(r[2], r[0]);
  assert.notEqual(r[2], r[0]);
  assert.equal(r[3][0], r[1]);
  assert.equal(r[4], r[1]);
  // Past the writer's list of 16 objects too.
  const many = Array.from({ length: 20 }, () => opts);
  // deno-lint-ignore no-explicit-any
  const m: any = decode(encode([...many, shared, shared]));
  assert.equal(m[20], m[21]);
  assert.deepEqual(m[19], { numCpus: 1, name: "n", list: ["a"] });
});

test("codec: a result stays as it was when the next value is encoded", () => {
  const first = encode({ task: 1, name: "first" });
  const copy = first.slice();
  encode({ task: 2, name: "second, and longer than the first one" });
  encode("x".repeat(100_000)); // grows past the kept writer's limit
  const third = encode([3]);
  assert.deepEqual(first, copy);
  assert.deepEqual(decode(first), { task: 1, name: "first" });
  assert.deepEqual(decode(third), [3]);
  assert.equal(first[0], WIRE_VERSION);
  // A failed encode does not spoil the next one.
  assert.throws(
    () => encode({ f: () => 1 }),
    /Cannot send the value to another machine as it holds a function/,
  );
  assert.deepEqual(decode(encode({ after: "failure" })), { after: "failure" });
});

test("codec: refs go out as numbers and come back through the caller's table", () => {
  class Ref {
    constructor(readonly id: number) {}
  }
  const bytes = encode(
    [new Ref(7), { nested: new Ref(9) }],
    (o) => o instanceof Ref ? o.id : undefined,
  );
  const back = decode(bytes, (id) => `ref ${id}`);
  assert.deepEqual(back, ["ref 7", { nested: "ref 9" }]);
});

test("codec: garbage, a wrong version and truncated bytes are refused with a reason", () => {
  const good = encode({ a: [1, 2, 3] });
  const wrong = good.slice();
  wrong[0] = WIRE_VERSION + 1;
  assert.throws(() => decode(wrong), /version/i);
  assert.throws(() => decode(good.subarray(0, good.length - 2)));
  assert.throws(() => decode(new Uint8Array([WIRE_VERSION, 250, 250, 250])));
  assert.throws(() => decode(new Uint8Array(0)));
});

test("tracingChannelPolyfill: TracingChannel.hasSubscribers where the runtime lacks it, true only with a subscriber", async () => {
  const dc = (await import("node:diagnostics_channel")).default;
  const { tracingChannelPolyfill } = await import("../cluster/_redis.ts");
  // Bun 1.4 lacks the getter (the polyfill adds it); Deno has it (the polyfill does nothing).
  assert.equal(tracingChannelPolyfill(dc), "Bun" in globalThis);
  assert.equal(tracingChannelPolyfill(dc), false, "added once only");
  const tc = dc.tracingChannel("rayprof:test");
  const has = () => (tc as unknown as { hasSubscribers: boolean }).hasSubscribers;
  assert.equal(has(), false);
  const sub = () => {};
  dc.subscribe("tracing:rayprof:test:asyncEnd", sub);
  assert.equal(has(), true);
  dc.unsubscribe("tracing:rayprof:test:asyncEnd", sub);
  assert.equal(has(), false);
});
