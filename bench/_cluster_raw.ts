// The floor of a cluster round trip, for bench/cluster.ts: a consumer in a process of its own that
// reads a stream as a consumer group (XREADGROUP BLOCK), acknowledges, and answers on a reply
// stream (XADD), with the same client (node-redis) that rayprof's nodes use and no rayprof code.
//   deno run -A bench/_cluster_raw.ts ADDRESS      bun bench/_cluster_raw.ts ADDRESS
import process from "node:process";
import { createClient } from "@redis/client";

const c = createClient({ url: process.argv[2] });
const reader = c.duplicate();
await c.connect();
await reader.connect();
try {
  await c.sendCommand(["XGROUP", "CREATE", "raw:q", "g", "0", "MKSTREAM"]);
} catch { /* exists */ }
console.log("ready");
while (true) {
  const r = await reader.sendCommand([
    "XREADGROUP",
    "GROUP",
    "g",
    "c",
    "COUNT",
    "1000",
    "BLOCK",
    "0",
    "STREAMS",
    "raw:q",
    ">",
  ]) as [string, [string, string[]][]][] | null;
  if (!r) continue;
  const ids: string[] = [];
  const replies: Promise<unknown>[] = [];
  for (const [, entries] of r) {
    for (const [id, fields] of entries) {
      ids.push(id);
      if (fields[1] === "stop") process.exit(0);
      replies.push(c.sendCommand(["XADD", "raw:r", "*", "m", fields[1]]));
    }
  }
  await Promise.all(replies);
  await c.sendCommand(["XACK", "raw:q", "g", ...ids]);
  await c.sendCommand(["XDEL", "raw:q", ...ids]);
}
