/**
 * The cluster: the same `remote`/`get` API across machines, on Redis. Start Redis, start a node
 * on each machine (`deno run -A cli.ts node --address redis://HOST:6379`), then in the script
 * `await init({ address: "redis://HOST:6379" })` (or set `RAYPROF_ADDRESS`). The runtime imports
 * this module only then: single-machine use loads no Redis client.
 *
 * @example Status of a cluster
 * ```ts ignore
 * import { clusterStatus, formatStatus } from "./cluster/mod.ts";
 * console.log(formatStatus(await clusterStatus("redis://127.0.0.1:6379")));
 * ```
 *
 * @module
 */
export * from "./driver.ts";
export * from "./node.ts";
export * from "./status.ts";
export * from "./wire.ts";
