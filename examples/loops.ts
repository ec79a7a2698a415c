/**
 * The document's three loops (ex1, ex2, ex3), timed with timeThis.
 *
 *   deno run -A examples/loops.ts      bun examples/loops.ts
 *
 * Expect ex1 ≈ 5 × 0.5 s (get inside the loop serializes the tasks), ex2 ≈ 0.5 s (all five run
 * at once on five slots), ex3 far below its 3.5 s serial time.
 *
 * The `// @profile` markers do nothing in a plain run; `cli.ts profile examples/loops.ts` reports
 * those functions line by line (kernprof's @profile).
 */
import * as ray from "../mod.ts";

// Our time-consuming remote function: sleepSync blocks its worker, like time.sleep in Python.
export const func = ray.remote(function func() {
  ray.sleepSync(500);
});

// Some other time-consuming remote function.
export const otherFunc = ray.remote(function other_func() {
  ray.sleepSync(200);
});

// This loop is suboptimal: get() right after each remote() waits for every task in turn.
// @profile
export async function ex1() {
  const list1 = [];
  for (let i = 0; i < 5; i++) {
    list1.push(await ray.get(func.remote()));
  }
  return list1;
}

// This loop is proper: submit all tasks, then get them at once.
// @profile
export async function ex2() {
  const list2 = [];
  for (let i = 0; i < 5; i++) {
    list2.push(func.remote());
  }
  return await ray.get(list2);
}

// Calls a second remote function between calls to func (its results are never used).
// @profile
export async function ex3() {
  const list3 = [];
  for (let i = 0; i < 5; i++) {
    otherFunc.remote();
    list3.push(func.remote());
  }
  return await ray.get(list3);
}

export async function main() {
  // Enough slots for five concurrent tasks, whatever the machine's core count.
  ray.init({ numCpus: 5 });
  await ray.timeThis(ex1)();
  await ray.timeThis(ex2)();
  await ray.timeThis(ex3)();
  await ray.shutdown();
}

if (import.meta.main) {
  await main();
}
