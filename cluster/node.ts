/**
 * Starting a cluster node from code (the CLI's `node` command uses this).
 *
 * @module
 */
export { type ClusterNode, type NodeOptions, runNode, startNode } from "./_node.ts";
