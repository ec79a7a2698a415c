/**
 * Per-input overhead of the REPL: the time `Session.run()` takes beyond the code's own time
 * (parse, type stripping, rewriting, evaluation setup, timing line from the recording, hint).
 *
 *   deno run -A bench/repl_input.ts        bun bench/repl_input.ts
 *
 * The code's own time is measured by running the same inputs' compiled scripts directly, so the
 * overhead is the difference. Measured with an empty recording and after 10,000 tasks were
 * recorded (the timing line reads the recording after each input).
 */
import vm from "node:vm";
import { Session } from "../profile/repl/session.ts";
import { compileInput } from "../profile/repl/transform.ts";
import * as ray from "../mod.ts";

const INPUTS: [string, string][] = [
  ["expression", "1 + 1"],
  ["declaration", "const answer: number = 42"],
  [
    "20-line function",
    `function work(n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) {
      total += i;
    } else if (i % 3 === 1) {
      total -= 1;
    } else {
      total *= 1;
    }
  }
  const parts: string[] = [];
  for (const p of ["a", "b", "c"]) {
    parts.push(p.toUpperCase());
  }
  if (parts.length !== 3) {
    throw new Error("unreachable");
  }
  return total;
}`,
  ],
  ["await", "await Promise.resolve(3)"],
];

const session = import.meta.main ? new Session({ timing: true }) : undefined!;
const N = 300;

async function measure(label: string): Promise<void> {
  console.log(label);
  for (const [name, src] of INPUTS) {
    for (let i = 0; i < 30; i++) await session.run(src); // warm-up
    let t0 = performance.now();
    for (let i = 0; i < N; i++) await session.run(src);
    const total = (performance.now() - t0) / N;
    const code = compileInput(src).code;
    t0 = performance.now();
    for (let i = 0; i < N; i++) {
      await vm.runInThisContext(code, { filename: "file:///bench/$deno$repl-0.ts" });
    }
    const own = (performance.now() - t0) / N;
    console.log(
      `  ${name.padEnd(18)} run() ${total.toFixed(3)} ms   code alone ${
        own.toFixed(3)
      } ms   overhead ${(total - own).toFixed(3)} ms`,
    );
  }
}

const noop = ray.remote(function noop() {});

if (import.meta.main) {
  await measure("Empty recording:");
  ray.init({ numCpus: 2 });
  const refs = [];
  for (let i = 0; i < 10_000; i++) refs.push(noop.remote());
  await ray.get(refs);
  await measure(`After ${ray.recording().tasks.length} tasks were recorded:`);
  console.log("An input that runs one task, after those 10,000:");
  const one = "await get(noopAgain.remote())";
  (globalThis as Record<string, unknown>).noopAgain = noop;
  for (let i = 0; i < 20; i++) await session.run(one);
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) await session.run(one);
  const withRepl = (performance.now() - t0) / 100;
  const t1 = performance.now();
  for (let i = 0; i < 100; i++) await ray.get(noop.remote());
  const alone = (performance.now() - t1) / 100;
  console.log(
    `  run() ${withRepl.toFixed(3)} ms   the round trip alone ${alone.toFixed(3)} ms   overhead ${
      (withRepl - alone).toFixed(3)
    } ms (a snapshot of the whole recording, then the hint's diagnosis)`,
  );
  await ray.shutdown();
}
