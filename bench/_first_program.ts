/**
 * The smallest whole program that uses the runtime: start it, get one no-op result, shut down.
 * bench/startup.mjs times it from process start to exit.
 *
 * @module
 */
import * as ray from "../mod.ts";
export const noop = ray.remote(function noop() {});
if (import.meta.main) {
  ray.init({ numCpus: 2 });
  await ray.get(noop.remote());
  await ray.shutdown();
}
