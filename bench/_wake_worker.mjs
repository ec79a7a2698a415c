// The far end of bench/wake.mjs: answers each ping, sleeping between pings in the way the mode
// names ("wait": Atomics.wait; "waitAsync": Atomics.waitAsync in its event loop; "message": its
// event loop, woken by postMessage).
import { parentPort, workerData } from "node:worker_threads";

const cell = new Int32Array(workerData.sab); // [0]: pings sent, [1]: pings answered
let seen = 0;
const answer = () => {
  seen = Atomics.load(cell, 0);
  Atomics.store(cell, 1, seen);
  Atomics.notify(cell, 1);
};
if (workerData.mode === "message") {
  parentPort.on("message", (m) => parentPort.postMessage(m));
} else if (workerData.mode === "waitAsync") {
  const wait = () => {
    const r = Atomics.waitAsync(cell, 0, seen);
    const go = () => {
      answer();
      wait();
    };
    if (r.async) r.value.then(go);
    else go();
  };
  wait();
  parentPort.on("message", () => {}); // a pending waitAsync alone does not keep a thread alive
} else {
  for (;;) {
    Atomics.wait(cell, 0, seen);
    answer();
  }
}
