// profile/run/task_reports.ts: what a profiled run writes and prints from its task recording.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterProfiledRun } from "../profile/run/task_reports.ts";
import { ex1 } from "./fixtures/timeline/simulate.ts";
import { validateTrace } from "./fixtures/timeline/validate_trace.ts";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "rayprof-reports-"));
}

test("afterProfiledRun() writes the trace and says how to open it", async () => {
  const dir = tempDir();
  try {
    const path = join(dir, "trace.json");
    const { text, files } = await afterProfiledRun(ex1(2), { timeline: path, diagnostics: false });
    assert.deepEqual(files, [path]);
    assert.deepEqual(validateTrace(readFileSync(path, "utf8")), []);
    assert.equal(
      text,
      `Timeline: wrote 5 tasks to ${path}\n  open it in https://ui.perfetto.dev (Open trace file) or Chrome DevTools (Performance, Load profile)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("afterProfiledRun() prints the Gantt and the diagnostics", async () => {
  const { text, files } = await afterProfiledRun(ex1(2), {
    gantt: true,
    width: 100,
    cwd: "/work/app",
  });
  assert.deepEqual(files, []);
  assert.match(text, /^Task timeline: 2\.50 s, 5 tasks on 2 slots\n/);
  assert.match(text, /\nParallelism\n/);
  assert.match(text, /loops\.ts:14 {2}get\(\) right after \.remote\(\) in a loop/);
  assert.ok(text.split("\n").every((l) => [...l].length <= 100));
  // deno-lint-ignore no-control-regex -- no colour unless asked
  assert.doesNotMatch(text, /\x1b\[/);
});

test("afterProfiledRun() writes the HTML report with the source of profiled functions", async () => {
  const dir = tempDir();
  try {
    const script = join(dir, "script.ts");
    writeFileSync(script, "function slow() {\n  let x = 0;\n  return x;\n}\n");
    const path = join(dir, "report.html");
    const { text, files } = await afterProfiledRun(ex1(2), {
      html: path,
      diagnostics: false,
      title: "script.ts",
      lineStats: {
        unit: 1e-9,
        functions: [{
          file: script,
          name: "slow",
          line: 1,
          endLine: 4,
          lines: [{ line: 2, hits: 1, time: 50 }],
        }],
      },
    });
    assert.deepEqual(files, [path]);
    assert.equal(
      text,
      `HTML report: wrote ${path} (one self-contained file: open it in a browser)\n`,
    );
    const html = readFileSync(path, "utf8");
    assert.match(html, /<title>script\.ts<\/title>/);
    assert.match(html, /id="gantt"/);
    assert.match(html, /<code> {2}let x = 0;<\/code>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("afterProfiledRun() says nothing about tasks when the script ran none", async () => {
  const empty = { timeOrigin: 0, numCpus: 0, tasks: [], spans: [], workers: [], dropped: 0 };
  assert.deepEqual(await afterProfiledRun(empty), { text: "", files: [] });
  assert.deepEqual(await afterProfiledRun(undefined), { text: "", files: [] });
  const { text } = await afterProfiledRun(undefined, { gantt: true });
  assert.equal(text, "No tasks were recorded.\n");
});
