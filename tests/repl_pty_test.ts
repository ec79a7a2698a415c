// The REPL on a real pseudo-terminal (tmux): prompt, completion, history, multi-line input,
// Ctrl-C and Ctrl-D, colours, and the document's three loops typed by a user.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { count, hasTmux, Pane } from "./fixtures/repl/tmux.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DENO_REPL = `cd ${ROOT} && ${ROOT}node_modules/.bin/deno run -A repl.ts`;
const BUN_REPL = `cd ${ROOT} && ${ROOT}node_modules/.bin/bun repl.ts`;
const skip = hasTmux()
  ? false
  : "tmux is not installed (apt-get install tmux): the pseudo-terminal tests need it";
if (skip) console.warn(`SKIPPED the REPL pseudo-terminal tests: ${skip}`);

/** Lines of the screen that follow the last line containing `marker`. */
function after(screen: string, marker: string): string[] {
  const lines = screen.split("\n");
  const i = lines.findLastIndex((l) => l.includes(marker));
  return lines.slice(i + 1);
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "rayprof-repl-pty-"));
}

test(
  "repl on a terminal: prompt, history, completion, multi-line, Ctrl-C keeps state and cancels tasks",
  {
    skip,
  },
  async () => {
    const dir = tempDir();
    const history = join(dir, "history");
    writeFileSync(history, "const fromHistory = 'h1'\n");
    const pane = new Pane(DENO_REPL, { RAYPROF_REPL_HISTORY: history, NO_COLOR: "" });
    try {
      await pane.waitFor(/^> ?$/m);
      // History from the file: Up recalls the last line of the previous session.
      pane.send("Up", true);
      await pane.waitFor(/^> const fromHistory = 'h1'$/m);
      pane.send("Enter", true);
      await pane.waitFor(/took \d\.\d{4} s\n> ?$/);

      // Completion of a session global, then of a property of ray.
      pane.send("fromHis");
      pane.send("Tab", true);
      await pane.waitFor(/^> fromHistory$/m);
      pane.send("Enter", true);
      await pane.waitFor(/^'h1'$/m);
      pane.send("ray.sleepS");
      pane.send("Tab", true);
      await pane.waitFor(/^> ray\.sleepSync$/m);
      pane.line("(1)");
      await pane.waitFor(/^> ray\.sleepSync\(1\)\nundefined\ntook/m);
      pane.send("ray.ti");
      pane.send("Tab", true);
      pane.send("Tab", true);
      const listed = await pane.waitFor(/timeThis\s+timed\s+timeline/);
      assert.match(listed, /timeThis\s+timed\s+timeline/);
      pane.send("C-u", true);

      // Multi-line input continues with "... ".
      pane.line("function g(n: number) {");
      await pane.waitFor(/^\.\.\. ?$/m);
      pane.line("  return n + 5");
      pane.line("}");
      pane.line("g(1)");
      await pane.waitFor(/^6$/m);

      // Ctrl-C during an evaluation interrupts it and cancels the tasks it submitted, those of
      // remote functions typed here and of imported modules alike.
      await pane.typeLine("const slow = remote(function slow() { sleepSync(30000) })");
      await pane.typeLine('import { slowTask } from "./tests/fixtures/repl/helper_module.ts"');
      pane.line("const rs = [slow.remote(), slowTask.remote()]; await get(rs)");
      await pane.waitFor(/await get\(rs\)$/, 15_000);
      await new Promise((r) => setTimeout(r, 700));
      pane.send("C-c", true);
      await pane.waitFor(/Interrupted: cancelled 2 tasks/);
      pane.line("g(2)");
      await pane.waitFor(/^7$/m);
      pane.line("await get(rs[1]).catch((e) => e.name)");
      await pane.waitFor(/^'TaskCancelledError'$/m);
      // The workers of the cancelled tasks were replaced. (Echoed lines are not matched here: Deno
      // clears the terminal line as new workers load, see the ex1, ex2, ex3 test.)
      pane.line("runtimeInfo().workers === 2 ? 'two workers' : runtimeInfo()");
      await pane.waitFor(/^'two workers'$/m);

      // Values are coloured on a terminal.
      assert.ok(pane.screen(true).includes("\x1b[33m7"), "numbers are yellow");

      // Ctrl-C on a line with text clears it; twice on an empty line exits.
      pane.send("abc");
      pane.send("C-c", true);
      // (Deno may have erased "> " as replacement workers loaded: see the ex1, ex2, ex3 test.)
      await pane.waitFor(/abc(\^C)?\n> ?$/);
      pane.send("C-c", true);
      await pane.waitFor(/To exit, press Ctrl-C again or Ctrl-D or type \.exit/);
      pane.send("C-c", true);
      await pane.waitFor(/\[exited 0\]/);

      const saved = readFileSync(history, "utf8").split("\n");
      assert.ok(saved.includes("fromHistory"), "entered lines are appended to the history file");
      assert.ok(saved.includes("  return n + 5"));
    } finally {
      pane.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("repl on a terminal: Ctrl-D exits, and the history survives into the next session", {
  skip,
}, async () => {
  const dir = tempDir();
  const history = join(dir, "nested", "history");
  try {
    let pane = new Pane(DENO_REPL, { RAYPROF_REPL_HISTORY: history });
    try {
      await pane.waitFor(/^> ?$/m);
      pane.line("const first = 1 + 1");
      await pane.waitFor(/took/);
      pane.send("C-d", true);
      await pane.waitFor(/\[exited 0\]/);
    } finally {
      pane.close();
    }
    pane = new Pane(BUN_REPL, { RAYPROF_REPL_HISTORY: history });
    try {
      await pane.waitFor(/^> ?$/m);
      pane.send("Up", true);
      await pane.waitFor(/^> const first = 1 \+ 1$/m);
      pane.send("Enter", true);
      pane.line("first");
      await pane.waitFor(/^2$/m);
      // Bun: an await is interrupted too, and the session goes on.
      pane.line("await new Promise((r) => setTimeout(r, 20000))");
      await pane.waitFor(/setTimeout\(r, 20000\)\)$/);
      await new Promise((r) => setTimeout(r, 300));
      pane.send("C-c", true);
      await pane.waitFor(/^Interrupted$/m);
      pane.line("first * 2");
      await pane.waitFor(/^4$/m);
      pane.line(".exit");
      await pane.waitFor(/\[exited 0\]/);
    } finally {
      pane.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("repl on a terminal: a user types the document's ex1, ex2, ex3 and sees their timings", {
  skip,
}, async () => {
  const dir = tempDir();
  const pane = new Pane(DENO_REPL, { RAYPROF_REPL_HISTORY: "" });
  try {
    await pane.waitFor(/^> ?$/m);
    const typed = readFileSync(join(ROOT, "tests/fixtures/repl/loops_session.txt"), "utf8")
      .split("\n").filter((l) => l !== "" && !l.startsWith("await") && !l.startsWith("."));
    // Line by line, each after the REPL's prompt for it, as a person types.
    for (const l of typed) {
      await pane.typeLine(l);
      // Deno clears the terminal line as each new worker loads its modules (its progress bar):
      // the REPL redraws its prompt, but a line typed meanwhile can lose its echo.
      if (l.startsWith("init(")) await new Promise((r) => setTimeout(r, 2000));
    }
    assert.equal(count(pane.screen(), /^took /gm), 6, "one timing line per complete input");
    assert.ok(count(pane.screen(), /^\.\.\. /gm) >= 15, "continuation prompts");

    const took = (s: string) =>
      [...s.matchAll(
        /^took (\d+\.\d{4}) s · (\d+) tasks? on (\d+) workers? · parallelism ([\d.]+)x(?: · [\d.]+ s starting workers)?$/gm,
      )]
        .map((m) => ({ s: Number(m[1]), tasks: Number(m[2]), workers: Number(m[3]) }));

    pane.line("await ex1()");
    let screen = await pane.waitFor(/await ex1\(\)\nundefined\ntook .*\n(hint: .*\n)?/, 30_000);
    const [t1] = took(after(screen, "> await ex1()").join("\n"));
    assert.equal(t1.tasks, 5);
    assert.ok(t1.s > 2.4 && t1.s < 4.5, `ex1 took ${t1.s} s, expected about 2.5 s`);
    assert.match(
      after(screen, "> await ex1()").join("\n"),
      /^hint: get\(\) right after \.remote\(\) in a loop: 5 `func` tasks ran one at a time/m,
    );

    pane.line("await ex2()");
    screen = await pane.waitFor(/await ex2\(\)\nundefined\ntook .*\n> ?$/, 30_000);
    const [t2] = took(after(screen, "> await ex2()").join("\n"));
    assert.equal(t2.tasks, 5);
    assert.equal(t2.workers, 5);
    assert.ok(t2.s > 0.45 && t2.s < 1.5, `ex2 took ${t2.s} s, expected about 0.5 s`);
    assert.doesNotMatch(after(screen, "> await ex2()").join("\n"), /hint:/);

    pane.line("await ex3()");
    screen = await pane.waitFor(/await ex3\(\)\nundefined\ntook .*\n/, 30_000);
    const [t3] = took(after(screen, "> await ex3()").join("\n"));
    assert.equal(t3.tasks, 10);
    assert.ok(t3.s > 0.9 && t3.s < 2.5, `ex3 took ${t3.s} s, expected about 1 s (3.5 s serially)`);

    // The last input's tasks as a Gantt chart, and as a Chrome trace.
    pane.line(".timeline");
    screen = await pane.waitFor(/Legend: /);
    const chart = after(screen, "> .timeline").join("\n");
    assert.match(chart, /10 tasks on 5 slots/);
    assert.equal(count(chart, /^worker \d+ +│/gm), 5);
    const trace = join(dir, "ex3.json");
    pane.line(`.timeline ${trace}`);
    await pane.waitFor(/Wrote 10 tasks to .*ex3\.json: open it in https:\/\/ui\.perfetto\.dev/);
    const events = JSON.parse(readFileSync(trace, "utf8")).traceEvents as {
      ph: string;
      name: string;
    }[];
    assert.equal(events.filter((e) => e.ph === "X" && e.name === "func").length, 5);
    assert.equal(events.filter((e) => e.ph === "X" && e.name === "other_func").length, 5);
    pane.line(".exit");
    await pane.waitFor(/\[exited 0\]/);
  } finally {
    pane.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
