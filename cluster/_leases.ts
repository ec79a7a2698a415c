/**
 * Who holds what in Redis, so that nothing outlives the drivers that need it.
 *
 * Code is content-addressed and shared: two drivers that run the same program upload the same
 * `rp:code:`, `rp:tree:` and `rp:fn:` keys. Each holder is noted in a set beside the key
 * (`rp:holds:<key>`), and each driver lists what it holds (`rp:held:<driver>`). A driver that
 * shuts down releases its keys; a key is deleted when its last holder lets it go. (Before, the
 * first driver to end deleted keys that the other still needed, and a node joining later could not
 * build the other's code.)
 *
 * A driver also keeps a lease (`rp:lease:<driver>`, refreshed every second). A driver that ended
 * without shutting down (killed, an exit call, a crash) stops refreshing it; once it has expired,
 * a node sweeping the cluster removes what the driver left: its reply stream, its objects and
 * its holds. The lease is written before the reply stream exists, so a reply stream without a
 * lease always belongs to a driver that is gone.
 *
 * @module
 */
import { buf, K, type Redis, scanKeys } from "./_redis.ts";

/**
 * How long a driver's lease lives without being refreshed, in ms: long enough that a driver
 * whose event loop is busy for a while (a long synchronous step between two awaits) is not taken
 * for gone. `RAYPROF_DRIVER_LEASE_MS` sets it (the tests use a short one).
 */
export function leaseMs(env: Record<string, string | undefined>): number {
  const v = Number(env.RAYPROF_DRIVER_LEASE_MS);
  return Number.isFinite(v) && v >= 500 ? v : 120_000;
}

/** Sets the value of shared key KEYS[1] unless it exists, and notes ARGV[2] as a holder. */
const ACQUIRE = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], KEYS[1])
return 1
`;

/**
 * Drops driver ARGV[1]'s holds (listed in KEYS[1]); deletes each key that no one holds any more.
 * Returns the number of keys deleted.
 */
const RELEASE = `
local deleted = 0
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local holds = 'rp:holds:' .. k
  redis.call('SREM', holds, ARGV[1])
  if redis.call('SCARD', holds) == 0 then
    deleted = deleted + redis.call('DEL', k)
    redis.call('DEL', holds)
  end
end
redis.call('DEL', KEYS[1])
return deleted
`;

/** Stores a shared key (if absent) and notes `driver` as holding it; atomic. */
export function acquire(
  c: Redis,
  driver: string,
  key: string,
  value: Uint8Array,
): Promise<unknown> {
  return c.sendCommand([
    "EVAL",
    ACQUIRE,
    "3",
    key,
    K.holds(key),
    K.held(driver),
    buf(value),
    driver,
  ]);
}

/** Lets go of every shared key `driver` holds. Resolves to the number of keys deleted. */
export async function release(c: Redis, driver: string): Promise<number> {
  return Number(await c.sendCommand(["EVAL", RELEASE, "1", K.held(driver), driver]));
}

/** Writes or refreshes `driver`'s lease. */
export function renewLease(c: Redis, driver: string, ms: number): Promise<unknown> {
  return c.sendCommand(["SET", K.lease(driver), String(ms), "PX", String(ms)]);
}

/** What one sweep removed, for the log. */
export interface Swept {
  driver: string;
  keys: number;
}

/** Deletes the sweep's lock if `ARGV[1]` still holds it. */
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Removes what drivers whose lease expired left behind: their reply streams, objects and holds.
 * One node sweeps at a time: a lock, released when the sweep ends (so that a cluster at rest
 * holds no key of it), and living `periodMs` at most if its node dies meanwhile.
 */
export async function sweepGoneDrivers(c: Redis, node: string, periodMs: number): Promise<Swept[]> {
  const locked = await c.sendCommand(["SET", K.sweep, node, "NX", "PX", String(periodMs)]);
  if (locked === null) return [];
  try {
    return await sweep(c);
  } finally {
    await c.sendCommand(["EVAL", UNLOCK, "1", K.sweep, node]).catch(() => {});
  }
}

async function sweep(c: Redis): Promise<Swept[]> {
  const swept: Swept[] = [];
  for (const reply of await scanKeys(c, K.reply("*"))) {
    const driver = reply.slice(K.reply("").length);
    if (Number(await c.sendCommand(["EXISTS", K.lease(driver)])) === 1) continue;
    const objects = await scanKeys(c, `${K.obj(driver, 0).slice(0, -1)}*`);
    let keys = await release(c, driver);
    for (let i = 0; i < objects.length; i += 500) {
      keys += Number(await c.sendCommand(["UNLINK", ...objects.slice(i, i + 500)]));
    }
    keys += Number(await c.sendCommand(["DEL", reply, K.driver(driver)]));
    swept.push({ driver, keys });
  }
  return swept;
}
