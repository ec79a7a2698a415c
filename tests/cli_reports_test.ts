// `cli.ts profile` with the task reports, run as a subprocess the way a user runs it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { validateTrace } from "./fixtures/timeline/validate_trace.ts";
import { runHost, scriptArgs } from "./_run_host.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "..");
const SCRIPT = join(ROOT, "tests/fixtures/timeline/loops_main.ts");
const SMALL = readFileSync(join(ROOT, "tests/fixtures/timeline/loops_small.ts"), "utf8").split(
  "\n",
);
const lineOf = (marker: string) => SMALL.findIndex((l) => l.includes(`// ${marker}`)) + 1;

function runCli(args: string[], cwd: string) {
  return runHost(scriptArgs([join(ROOT, "cli.ts"), ...args]), cwd, {}, { timeout: 90_000 });
}

test("cli.ts profile --gantt --timeline --html reports the tasks and writes both files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rayprof-cli-"));
  try {
    const r = await runCli([
      "profile",
      "--gantt",
      "--timeline",
      "trace.json",
      "--html",
      "report.html",
      SCRIPT,
    ], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stderr;
    // The Gantt: a driver row and the 3 workers, on a time axis in seconds.
    assert.match(out, /Task timeline: [\d.]+ m?s, 16 tasks on 3 slots/);
    assert.match(out, /\ndriver +│/);
    for (const w of ["worker 1", "worker 2", "worker 3"]) {
      assert.match(out, new RegExp(`\\n${w} +│`));
    }
    // The diagnostics, named at the fixture's lines. Findings wrap to the terminal width, and the
    // file path (hence where lines wrap) depends on where the repository is checked out.
    assert.match(
      out,
      new RegExp(
        `loops_small\\.ts:${
          lineOf("EX1")
        }\\s+get\\(\\)\\s+right\\s+after\\s+\\.remote\\(\\)\\s+in\\s+a\\s+loop`,
      ),
    );
    assert.match(
      out,
      new RegExp(
        `loops_small\\.ts:${
          lineOf("EX3 OTHER")
        }\\s+4\\s+\`other_func\`\\s+tasks\\s+were\\s+never\\s+awaited`,
      ),
    );
    // Where the files went and how to open the trace.
    assert.match(
      out,
      /Timeline: wrote 16 tasks to trace\.json\n {2}open it in https:\/\/ui\.perfetto\.dev/,
    );
    assert.match(out, /HTML report: wrote report\.html/);
    assert.deepEqual(validateTrace(readFileSync(join(dir, "trace.json"), "utf8")), []);
    const html = readFileSync(join(dir, "report.html"), "utf8");
    assert.match(html, /id="gantt"/);
    assert.match(html, /data-code="get-in-loop"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("cli.ts profile --quiet prints no diagnostics but still writes the files asked for", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rayprof-cli-"));
  try {
    const r = await runCli(["profile", "-q", "--timeline", "t.json", SCRIPT], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Parallelism|Findings/);
    assert.match(r.stderr, /Timeline: wrote 16 tasks to t\.json/);
    assert.ok(existsSync(join(dir, "t.json")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
