// The far end of bench/_floor_probe.ts: imports the modules it is given (none for the bare floor),
// then answers the first message. Runs as a node:worker_threads worker (workerData: the URLs) or
// as a Web Worker (the URLs come in the first message; Bun gives a Web Worker a parentPort too).
import { parentPort, workerData } from "node:worker_threads";

/** @param {string[]} urls */
async function load(urls) {
  for (const url of urls) await import(url);
}

if (parentPort && Array.isArray(workerData)) {
  await load(workerData);
  parentPort.on("message", (m) => parentPort?.postMessage(m));
} else {
  self.onmessage = async (e) => {
    await load(e.data);
    self.postMessage(0);
  };
}
