// runtime/_channel.ts: the one-way thread channel (SharedArrayBuffer ring, postMessage fallback), in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import {
  channelBuffer,
  ChannelReader,
  ChannelWriter,
  listen,
  type PortEnvelope,
} from "../runtime/_channel.ts";

/** A writer and a reader on one buffer in this thread; port messages wait until `flushPort()`. */
function pair(bytes = 256) {
  const sab = channelBuffer(bytes);
  const got: unknown[] = [];
  const port: PortEnvelope[] = [];
  const reader = new ChannelReader(sab, (m) => got.push(m));
  const writer = new ChannelWriter(sab, (env) => port.push(structuredClone(env)));
  const flushPort = () => {
    for (const env of port.splice(0)) reader.fromPort(env);
  };
  return { writer, reader, got, port, flushPort };
}

test("channel: strings go through the ring, objects by postMessage, delivered in order", () => {
  const { writer, reader, got, port, flushPort } = pair();
  writer.send("one");
  writer.send({ t: "two" });
  writer.send("three");
  assert.equal(port.length, 1, "only the object went by postMessage");
  assert.equal(reader.drain(), 1, "the ring's first message is delivered");
  assert.deepEqual(got, ["one"]);
  assert.equal(reader.drain(), 0, "'three' waits for 'two', which is still on its way");
  assert.equal(reader.behind, true);
  flushPort();
  assert.deepEqual(got, ["one", { t: "two" }, "three"]);
  assert.equal(reader.behind, false);
});

test("channel: wraps around the ring many times and keeps non-ASCII text exact", () => {
  const { writer, reader, got, port } = pair(256);
  const sent: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = `[${i},"é—😀${"x".repeat(i % 37)}"]`;
    sent.push(s);
    writer.send(s);
    reader.drain();
  }
  assert.equal(port.length, 0, "each fit in the ring, which was drained after each");
  assert.deepEqual(got, sent);
});

test("channel: a reader that lags behind gets every message, in order", () => {
  const { writer, reader, got, port, flushPort } = pair(256);
  const sent: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = `[${i},"é—😀${"x".repeat(i % 37)}"]`;
    sent.push(s);
    writer.send(s);
    if (i % 5 === 4) {
      reader.drain();
      if (i % 15 === 14) flushPort();
    }
  }
  assert.ok(port.length > 0 || got.length < sent.length);
  flushPort();
  reader.drain();
  assert.deepEqual(got, sent);
});

test("channel: a full ring or a long string falls back to postMessage without reordering", () => {
  const { writer, reader, got, port, flushPort } = pair(256);
  const sent: unknown[] = [];
  for (let i = 0; i < 50; i++) {
    const s = i === 7 ? "y".repeat(1000) : `message ${i}`;
    sent.push(s);
    writer.send(s);
  }
  assert.ok(port.length > 1, "the long string and the overflow went by postMessage");
  reader.drain();
  flushPort();
  reader.drain();
  assert.deepEqual(got, sent);
});

test("channel: a message that cannot be cloned throws and is not counted", () => {
  const { writer, reader, got } = pair();
  assert.throws(() => writer.send({ f: () => {} }), /could not be cloned|cannot be cloned|clone/i);
  writer.send("after");
  reader.drain();
  assert.deepEqual(got, ["after"]);
  assert.equal(reader.behind, false);
});

test("channel: listen() wakes on each send from another thread until stopped", async () => {
  const toMain = channelBuffer();
  const got: unknown[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const reader = new ChannelReader(toMain, (m) => {
    got.push(m);
    if (got.length === 300) done();
  });
  const stop = listen(reader);
  const w = new Worker(new URL("./fixtures/runtime/channel_sender.ts", import.meta.url), {
    workerData: toMain,
  });
  w.on("message", (env: PortEnvelope) => reader.fromPort(env));
  try {
    await all;
    assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => i % 10 === 0 ? { n: i } : `m${i}`));
  } finally {
    stop();
    await w.terminate();
  }
});
