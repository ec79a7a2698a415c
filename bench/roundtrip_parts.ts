/**
 * Where the driver's time goes in a sync round trip (`await get(f.remote())` of a no-op task on a
 * one-worker pool): the synchronous parts of `.remote()` and `get()`, the flush that sends the
 * task (with the channel write inside it), and the delivery of the result (with `onDoneText`
 * inside it), in µs per round trip, beside the round trip itself. What is left is waiting: the
 * worker's turn and the wake-ups. A diagnostic for the round-trip target, not a target itself.
 *
 *   deno run -A bench/roundtrip_parts.ts      bun bench/roundtrip_parts.ts
 *
 * The wrappers add ≈ 0.1 µs per timed call.
 *
 * @module
 */
import * as ray from "../mod.ts";
import { Pool } from "../runtime/pool.ts";
import { ChannelReader, ChannelWriter } from "../runtime/_channel.ts";

/** The task whose cost is all overhead. */
export const noop = ray.remote(function noop() {});

const spent: Record<string, number> = {};

/** Replaces `proto[name]` with a wrapper that adds the time of each call to `spent[label]`. */
function timeMethod(proto: object, name: string, label: string): void {
  const p = proto as Record<string, (...a: unknown[]) => unknown>;
  const orig = p[name];
  spent[label] = 0;
  p[name] = function (this: unknown, ...args: unknown[]) {
    const t = performance.now();
    try {
      return orig.apply(this, args);
    } finally {
      spent[label] += performance.now() - t;
    }
  };
}

if (import.meta.main) {
  timeMethod(Pool.prototype, "flush", "flush (sends)");
  timeMethod(ChannelWriter.prototype, "send", "  of which channel write");
  timeMethod(ChannelReader.prototype, "drain", "result delivery");
  timeMethod(Pool.prototype, "onDoneText", "  of which onDoneText");
  ray.init({ numCpus: 1 });
  for (let i = 0; i < 3000; i++) await ray.get(noop.remote());
  const N = 5000;
  for (let rep = 0; rep < 5; rep++) {
    for (const k in spent) spent[k] = 0;
    let remote = 0, get = 0;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const a = performance.now();
      const ref = noop.remote();
      const b = performance.now();
      const p = ray.get(ref);
      remote += b - a;
      get += performance.now() - b;
      await p;
    }
    const us = (ms: number) => (ms * 1000 / N).toFixed(2);
    const parts = [`.remote() ${us(remote)}`, `get() ${us(get)}`];
    for (const [k, v] of Object.entries(spent)) parts.push(`${k.trim()} ${us(v)}`);
    console.log(`round trip ${us(performance.now() - t0)} µs: ${parts.join(", ")}`);
  }
  await ray.shutdown();
}
