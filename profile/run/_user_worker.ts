/**
 * The entry of a user's Web Worker in a profiled process (see `_user_workers.ts`): waits for its
 * configuration (the first message), instruments the worker's modules as they load, imports the
 * module the program asked for, then delivers the messages that came meanwhile, in order, as the
 * module would have received them had it been the entry itself.
 *
 * @module
 */

import { startLineProfiling } from "../instrument/loader.ts";
import { USER_WORKER_KEY, type UserWorkerStart } from "./_user_workers.ts";

const held: MessageEvent[] = [];
let holding = true;
let started!: (start: UserWorkerStart) => void;
const first = new Promise<UserWorkerStart>((resolve) => (started = resolve));
const hold = (e: Event) => {
  if (!holding) return;
  e.stopImmediatePropagation();
  const data = (e as MessageEvent).data;
  if (data && typeof data === "object" && USER_WORKER_KEY in data) started(data[USER_WORKER_KEY]);
  else held.push(e as MessageEvent);
};
self.addEventListener("message", hold);

const { target, arena, config } = await first;
await startLineProfiling({
  select: config.select,
  selectIn: config.selectIn,
  clock: config.ticks
    ? {
      mode: "sample",
      ticks: { cells: new Int32Array(config.ticks.buffer), periodMs: config.ticks.periodMs },
      arena,
    }
    : { mode: "exact", arena },
  ...(config.cache ? { cache: config.cache } : {}),
});
try {
  // Must stay dynamic: the user's Worker module, named at run time.
  await import(target);
} finally {
  holding = false;
  self.removeEventListener("message", hold);
  for (const e of held) {
    self.dispatchEvent(new MessageEvent("message", { data: e.data, ports: [...e.ports] }));
  }
}
