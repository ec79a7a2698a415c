/**
 * `ray status` for a cluster: its live nodes and their slots, the tasks queued in the stream and
 * those taken by nodes.
 *
 * @module
 */
import { checkAddress, connect, destroy, K, pairs, scanKeys, TASK_STREAMS } from "./_redis.ts";
import { liveNodes, type NodeInfo } from "./_wire.ts";

export type { NodeInfo };

/** What {@linkcode clusterStatus} reports. */
export interface ClusterStatus {
  /** Live nodes, by name. */
  nodes: NodeInfo[];
  /** Slots of all live nodes. */
  slots: number;
  /** Entries of the task streams that no node has taken yet (a bundle of short tasks is one). */
  queued: number;
  /** Entries taken by nodes and not acknowledged (running or about to run). */
  running: number;
  /** Drivers connected: their leases, and the ms each has left unless renewed (each second). */
  drivers: { id: string; leaseMs: number }[];
}

/**
 * Reads the state of the cluster at `address`.
 *
 * @param address `redis://` or `rediss://` URL.
 * @param timeoutMs Give up connecting after this many ms.
 * @returns The nodes and task counts.
 * @throws {Error} If Redis cannot be reached.
 *
 * @example Print the nodes
 * ```ts ignore
 * import { clusterStatus } from "./cluster/mod.ts";
 * console.log((await clusterStatus("redis://127.0.0.1:6379")).nodes);
 * ```
 */
export async function clusterStatus(address: string, timeoutMs = 5000): Promise<ClusterStatus> {
  const c = await connect(checkAddress(address), { timeoutMs });
  try {
    const nodes = await liveNodes(c);
    let queued = 0;
    let running = 0;
    for (const stream of TASK_STREAMS) {
      try {
        const groups = await c.sendCommand(["XINFO", "GROUPS", stream]) as unknown[][];
        for (const g of groups) {
          const o = pairs(g);
          if (o.name === K.group) {
            running += Number(o.pending ?? 0);
            queued += Number(o.lag ?? 0);
          }
        }
      } catch { /* no stream yet */ }
    }
    const drivers: ClusterStatus["drivers"] = [];
    for (const k of await scanKeys(c, K.lease("*"))) {
      const left = Number(await c.sendCommand(["PTTL", k]));
      if (left > 0) drivers.push({ id: k.slice(K.lease("").length), leaseMs: left });
    }
    drivers.sort((a, b) => a.id.localeCompare(b.id));
    return { nodes, slots: nodes.reduce((n, x) => n + x.numCpus, 0), queued, running, drivers };
  } finally {
    destroy(c);
  }
}

/** Status as the CLI prints it: one line per node, then totals. */
export function formatStatus(s: ClusterStatus): string {
  const lines = [
    `${s.nodes.length} node(s), ${s.slots} slot(s), ${s.queued} queued, ${s.running} running, ${s.drivers.length} driver(s)`,
  ];
  for (const n of s.nodes) {
    lines.push(
      `  ${n.name.padEnd(20)} ${String(n.numCpus).padStart(3)} slots  ${
        String(n.running).padStart(5)
      } tasks  ${n.runtime}  ${n.host} pid ${n.pid}  (${n.id})`,
    );
  }
  for (const d of s.drivers) {
    lines.push(`  driver ${d.id.padEnd(14)} lease ${(d.leaseMs / 1000).toFixed(0)} s left`);
  }
  return lines.join("\n");
}
