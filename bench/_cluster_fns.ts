// Remote functions of bench/cluster.ts (a module of their own, so nodes import only this).
import * as ray from "../mod.ts";

export const noop = ray.remote(function noop() {});

export const megabyte = ray.remote(function megabyte(seed: number) {
  return new Uint8Array(1 << 20).fill(seed & 255);
});
