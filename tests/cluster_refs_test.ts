// Refs that leave a cluster node: a task's result holding refs made on its node (a nested task's,
// a put's) or the ref it was given. The driver gets them, waits on them, passes them on (top
// level and nested), a failed nested task's ref fails with TaskError, a ref whose node dies fails
// with WorkerCrashedError naming it, and nothing is left in Redis. Driven from Deno only (it
// starts both runtimes itself).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FIXTURES,
  lastJson,
  type NodeSpec,
  redisForFile,
  runDriver,
  SKIP,
  sleep,
  startNodes,
  stopAll,
} from "./_cluster.ts";

const REFS = join(FIXTURES, "refs.ts");

const redis = redisForFile();

const TASK_ERROR = {
  name: "TaskError",
  message: "Task 'innerBoom' (id 15) failed: RangeError: inner bad input",
  cause: "RangeError",
  stack: true,
};

const EXPECTED = {
  areRefs: [true, true],
  got: [40, 5],
  waited: 2,
  topLevel: 45,
  nested: 45,
  passedFresh: 67,
  nestedFresh: 67,
  sameRef: true,
  givenBack: [41, 7],
  failed: TASK_ERROR,
  failedPassed: TASK_ERROR,
  actor: [[1, 2], [10, 20]],
  many: 2110,
};

/** Runs the fixture's checks from `driver` on nodes of the other runtime; no key is left. */
async function semantics(driver: "deno" | "bun", nodeSpecs: NodeSpec[]) {
  const nodes = await startNodes(redis.address, nodeSpecs);
  try {
    const r = await runDriver(driver, REFS, { RAYPROF_ADDRESS: redis.address });
    assert.equal(
      r.code,
      0,
      `${driver} driver:\n${r.stderr}\n${nodes.map((n) => n.log).join("\n")}`,
    );
    const out = lastJson(r) as Record<string, Record<string, unknown>>;
    // The failed nested task's id is the node's own: checked by its form only.
    for (const k of ["failed", "failedPassed"]) {
      assert.match(String(out[k].message), /^Task 'innerBoom' \(id \d+\) failed: RangeError/);
      out[k].message = TASK_ERROR.message;
    }
    // How the runtime words a function it cannot clone varies: checked by its form only.
    const { unsendable, ...rest } = out;
    assert.equal(unsendable.name, "TaskError", JSON.stringify(unsendable));
    assert.match(String(unsendable.message), /^Task 'withFunction' \(id \d+\) failed: /);
    assert.deepEqual(rest, EXPECTED);
    // The driver has shut down: only the nodes' own keys are left while they run.
    const keys = await redis.driverKeys();
    assert.deepEqual(keys, []);
  } finally {
    await stopAll(nodes);
  }
  assert.equal(await redis.dbsize(), 0, (await redis.keys()).join(" "));
}

test(
  "a Deno driver gets, waits on and passes on refs made on a Bun node; a failed one is a TaskError; no keys are left",
  { skip: SKIP },
  () => semantics("deno", [["bun", "bn"]]),
);

test(
  "a Bun driver does the same with refs made on a Deno node",
  { skip: SKIP },
  () => semantics("bun", [["deno", "dn"]]),
);

test(
  "with a Deno and a Bun node: the same, refs made on one passed to tasks that may run on the other",
  { skip: SKIP },
  () => semantics("deno", [["deno", "dn"], ["bun", "bn"]]),
);

test(
  "a ref whose node is killed before its value is ready fails with WorkerCrashedError naming the node",
  { skip: SKIP },
  async () => {
    const [victim] = await startNodes(redis.address, [["bun", "victim"]]);
    const dir = mkdtempSync(join(tmpdir(), "rayprof-refs-"));
    const mark = join(dir, "mark");
    try {
      const run = runDriver("deno", REFS, { RAYPROF_ADDRESS: redis.address }, 60_000, [
        "lost",
        mark,
      ]);
      const deadline = Date.now() + 30_000;
      while (!existsSync(mark) && Date.now() < deadline) await sleep(25);
      assert.ok(existsSync(mark), "the driver never got the outer result");
      victim.child.kill("SIGKILL");
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      const out = lastJson(r) as {
        isRef: boolean;
        lost: { name: string; message: string };
        lostAfterMs: number;
      };
      assert.equal(out.isRef, true);
      assert.equal(out.lost.name, "WorkerCrashedError", JSON.stringify(out.lost));
      assert.match(
        out.lost.message,
        /^ObjectRef\(\d+\) was lost: node 'victim', where 'slow' \(id \d+\) made it, died before it was ready$/,
      );
      // Found within the node's registration's life (3 s) and the driver's watch (1 s).
      assert.ok(out.lostAfterMs < 10_000, `${out.lostAfterMs} ms`);
    } finally {
      await victim.stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
    // What the killed node held is the driver's to free, or expires with it.
    const deadline = Date.now() + 10_000;
    let keys = await redis.keys();
    while (keys.some((k) => !/^rp:(q:|tasks(:short)?$)/.test(k)) && Date.now() < deadline) {
      await sleep(200);
      keys = await redis.keys();
    }
    assert.deepEqual(keys.filter((k) => !/^rp:(q:|tasks(:short)?$)/.test(k)), []);
  },
);
