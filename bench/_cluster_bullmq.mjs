// The BullMQ peer of bench/cluster.ts (Node): `node bench/_cluster_bullmq.mjs worker PORT` runs a
// Worker (concurrency 100) that completes no-op jobs; `... produce PORT N` adds N jobs in bulk and
// prints the time until all completed (QueueEvents), then one sync round trip's median.
import { Queue, QueueEvents, Worker } from "bullmq";

const [mode, port, n] = process.argv.slice(2);
const connection = { host: "127.0.0.1", port: Number(port), maxRetriesPerRequest: null };
if (mode === "worker") {
  new Worker("bench", (job) => Promise.resolve(job.data.i), { connection, concurrency: 100 });
  console.log("ready");
} else {
  const queue = new Queue("bench", { connection });
  const events = new QueueEvents("bench", { connection });
  await events.waitUntilReady();
  const total = Number(n);
  let done = 0;
  let finish;
  const all = new Promise((ok) => (finish = ok));
  events.on("completed", () => {
    if (++done === total) finish();
  });
  const t0 = performance.now();
  for (let i = 0; i < total; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(total, i + 1000); j++) {
      batch.push({ name: "noop", data: { i: j }, opts: { removeOnComplete: true } });
    }
    await queue.addBulk(batch);
  }
  await all;
  const pipelined = total / ((performance.now() - t0) / 1000);
  const times = [];
  for (let i = 0; i < 200; i++) {
    const s = performance.now();
    const job = await queue.add("noop", { i });
    await job.waitUntilFinished(events);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ pipelined, syncUs: times[times.length >> 1] * 1000 }));
  await queue.close();
  await events.close();
  process.exit(0);
}
