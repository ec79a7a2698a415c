/**
 * The driver's engine on a cluster, as `init({ address })` loads it.
 *
 * @module
 */
export { ClusterDriver, connectDriver } from "./_driver.ts";
