// A bare node:worker_threads worker that sends every message straight back: the floor for a
// round trip through worker_threads, with none of the runtime's work.
import { parentPort } from "node:worker_threads";

parentPort.on("message", (m) => parentPort.postMessage(m));
