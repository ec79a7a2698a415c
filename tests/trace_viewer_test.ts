/**
 * Our trace files, opened in real viewers in headless Chromium (the other tests check them only
 * against our own validator):
 *
 * - speedscope: the npm package `speedscope` (a devDependency for this test alone) ships the built
 *   web app of https://www.speedscope.app, the viewer `--speedscope` writes for (the CLI tells
 *   users to run `npx speedscope FILE`); 1.1 MB, no install script, no browser download. It is
 *   opened the way `npx speedscope FILE` opens it (index.html#localProfilePath= a script that
 *   hands the file over). It imports both the task timeline (Chrome Trace Event JSON) and the
 *   function profiler's `--speedscope` file; the test reads what it shows from its DOM (the
 *   profile's name in the toolbar, the symbol table of the sandwich view, `n` for the next
 *   profile) and collects its import warnings and errors.
 * - Chromium's DevTools Performance panel, which Chromium bundles
 *   (devtools://devtools/bundled/trace_app.html): the trace viewer that Chromium 156 still has,
 *   as chrome://tracing is gone from it. The panel loads the timeline as its "Load profile"
 *   button does (`loadFromFile`); the test reads the tracks and slice names from its flame chart's
 *   data. These are DevTools internals: when a Chromium update moves them, the test says which.
 *
 * Perfetto could not be run: neither npm nor Debian packages its UI or trace_processor.
 * Each check also runs on deliberately broken files and must report them.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { basename, join, resolve } from "node:path";
import { Browser, findChromium, type Page } from "./fixtures/timeline/cdp.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "..");
const SCRIPT = join(ROOT, "tests/fixtures/viewer/traced_run.ts");
const SPEEDSCOPE = join(ROOT, "node_modules/speedscope/dist/release/index.html");
const chromium = findChromium();
const skip = !chromium
  ? "Chromium is not installed (apt-get install chromium); .ci/run installs it"
  : !existsSync(SPEEDSCOPE)
  ? "speedscope is not installed: run npm ci"
  : false;
const opts = { skip, timeout: 60_000 };

/** What a viewer showed: symbol (slice or function) names per profile or track, and problems. */
interface Shown {
  tracks: Map<string, string[]>;
  problems: string[];
}

type Json = Record<string, unknown>;

/** The trace and speedscope files of one profiled run of traced_run.ts (made once). */
let files: { dir: string; trace: string; speedscope: string } | undefined;
function runFiles(): { dir: string; trace: string; speedscope: string } {
  if (files) return files;
  const dir = mkdtempSync(join(tmpdir(), "rayprof-viewer-"));
  const r = spawnSync(
    join(ROOT, "node_modules/.bin/deno"),
    [
      "run",
      "-A",
      join(ROOT, "cli.ts"),
      "profile",
      "--functions",
      "-q",
      "--speedscope",
      "run.speedscope.json",
      SCRIPT,
      "trace.json",
    ],
    { cwd: dir, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } },
  );
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    assert.fail(
      `cli.ts profile failed (${r.error ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`,
    );
  }
  files = { dir, trace: join(dir, "trace.json"), speedscope: join(dir, "run.speedscope.json") };
  return files;
}

after(() => {
  if (files) rmSync(files.dir, { recursive: true, force: true });
});

/** Launches Chromium, runs `fn`, always closes it. */
async function withBrowser<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await Browser.launch(chromium!);
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

/**
 * Opens `url`; `problems()` then gives the page's errors (see Page) and what Page does not keep:
 * console warnings, and alert() dialogs (accepted, so the page goes on).
 */
async function openWatched(
  browser: Browser,
  url: string,
): Promise<{ page: Page; problems(): string[] }> {
  const warnings: { sessionId?: string; text: string }[] = [];
  browser.on((m) => {
    const p = m.params ?? {};
    if (m.method === "Runtime.consoleAPICalled" && p.type === "warning") {
      const args = p.args as { value?: unknown; description?: string }[];
      warnings.push({
        sessionId: m.sessionId,
        text: args.map((a) => String(a.value ?? a.description)).join(" "),
      });
    } else if (m.method === "Page.javascriptDialogOpening") {
      warnings.push({ sessionId: m.sessionId, text: `dialog: ${p.message}` });
      browser.send("Page.handleJavaScriptDialog", { accept: true }, m.sessionId).catch(() => {});
    }
  });
  const page = await browser.open(url);
  const problems = () => [
    ...warnings.filter((w) => w.sessionId === page.sessionId).map((w) => w.text),
    ...page.errors,
  ];
  return { page, problems };
}

/** Evaluates `expression` every 50 ms until it is truthy; throws `what` after `ms`. */
async function until<T>(page: Page, expression: string, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await page.eval<T>(expression);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Opens `file` in speedscope and walks its profiles (`n` moves to the next one). Each track is
 * the profile's name with the names of the symbols in its sandwich table; speedscope names a
 * trace event's frame by its name and args, so the args are cut off.
 */
async function showInSpeedscope(browser: Browser, file: string, dir: string): Promise<Shown> {
  const loader = join(dir, `load-${basename(file)}.js`);
  const base64 = Buffer.from(readFileSync(file)).toString("base64");
  writeFileSync(
    loader,
    `speedscope.loadFileFromBase64(${JSON.stringify(basename(file))}, ${JSON.stringify(base64)})`,
  );
  const { page, problems: pageProblems } = await openWatched(
    browser,
    `file://${SPEEDSCOPE}#localProfilePath=${loader}&view=sandwich`,
  );
  // The toolbar names the profile as "NAME (i/n)"; an import that failed shows an error screen.
  const state = `(() => {
    const text = document.body.innerText;
    if (text.includes("Something went wrong")) return { error: text };
    // The sandwich table's rows: total, self, symbol (the profile menu's rows have a title).
    // The table draws only the rows on screen: the run's threads have far fewer symbols.
    const rows = [...document.querySelectorAll("tr:not([title])")].filter((r) =>
      r.children.length === 3 && r.children[0].tagName === "TD"
    );
    const title = text.split("\\n").find((l) => /\\(\\d+\\/\\d+\\)$/.test(l));
    if (!title || rows.length === 0) return null;
    return { title, symbols: rows.map((r) => r.lastElementChild.textContent) };
  })()`;
  type State = { title: string; symbols: string[]; error?: string };
  const tracks = new Map<string, string[]>();
  const problems: string[] = [];
  let s: State;
  try {
    s = await until<State>(page, state, "speedscope showed no profile");
  } catch (e) {
    return { tracks, problems: [String(e), ...pageProblems()] };
  }
  if (s.error) problems.push(`speedscope: ${s.error.replace(/\s+/g, " ")}`);
  else {
    const count = Number(/\/(\d+)\)$/.exec(s.title)![1]);
    for (let i = 1; i <= count; i++) {
      if (i > 1) {
        await page.eval(`window.dispatchEvent(new KeyboardEvent("keypress", { key: "n" }))`);
        s = await until<State>(
          page,
          `(() => { const s = ${state}; return s && s.title.endsWith("(${i}/${count})") && s; })()`,
          `speedscope did not move to profile ${i} of ${count}`,
        );
      }
      const name = s.title.replace(/ \(\d+\/\d+\)$/, "");
      tracks.set(name, [...new Set(s.symbols.map((n) => n.replace(/ \{.*$/s, "")))].sort());
    }
  }
  problems.push(...pageProblems());
  return { tracks, problems };
}

/**
 * Loads `file` into Chromium's DevTools Performance panel and returns its flame chart's tracks
 * (the panel names a thread's track "NAME (TID)") with the slice names on each.
 */
async function showInDevTools(browser: Browser, file: string): Promise<Shown> {
  const { page, problems: pageProblems } = await openWatched(
    browser,
    "devtools://devtools/bundled/trace_app.html",
  );
  // Its "Performance" tab, shown once the app is up.
  const tab = `(() => {
    const find = (root) => root.getElementById?.("tab-timeline") ??
      [...root.querySelectorAll("*")].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
    return find(document);
  })()`;
  await until(page, `!!${tab}`, "DevTools showed no Performance tab");
  await page.eval(`import("./ui/legacy/legacy.js").then((UI) =>
    UI.ViewManager.ViewManager.instance().showView("timeline")).then(() => 1)`);
  await page.eval(`globalThis.__trace = ${JSON.stringify(readFileSync(file, "utf8"))}; 1`);
  // The panel is made once its tab is shown.
  await until(
    page,
    `import("./panels/timeline/timeline.js").then((T) => {
      try { return !!T.TimelinePanel.TimelinePanel.instance(); } catch { return false; }
    })`,
    "DevTools made no Performance panel",
  );
  const loaded = await page.eval<string>(`(async () => {
    const T = await import("./panels/timeline/timeline.js");
    const panel = T.TimelinePanel.TimelinePanel.instance();
    if (typeof panel.loadFromFile !== "function") return "TimelinePanel.loadFromFile is gone";
    const done = new Promise((resolve) => {
      const complete = panel.loadingComplete;
      panel.loadingComplete = async function (...args) {
        try { return await complete.apply(this, args); } finally { resolve(); }
      };
    });
    const file = new File([globalThis.__trace], "trace.json", { type: "application/json" });
    try {
      const loading = panel.loadFromFile(file);
      const late = new Promise((resolve) => setTimeout(() => resolve("late"), 15000));
      const v = await Promise.race([done, Promise.resolve(loading).then(() => done), late]);
      if (v === "late") return "the Performance panel did not finish loading the file in 15 s";
    } catch (e) {
      return "the Performance panel could not load the file: " + e;
    }
    globalThis.__panel = panel;
    return "";
  })()`);
  const tracks = new Map<string, string[]>();
  if (loaded) return { tracks, problems: [loaded] };
  const shown = await page.eval<{ groups: { name: string; names: string[] }[] } | string>(`(() => {
    const dp = globalThis.__panel.flameChart?.mainDataProvider;
    const data = dp?.timelineData?.();
    if (!data) return "the Performance panel's flame chart has no data";
    const levels = data.entryLevels;
    const groups = data.groups.map((g, i) => {
      // A process's header holds no slices: it starts on the level of its first thread.
      const end = data.groups[i + 1]?.startLevel ?? Infinity;
      const names = new Set();
      for (let e = 0; e < levels.length; e++) {
        if (levels[e] >= g.startLevel && levels[e] < end) names.add(dp.entryTitle(e));
      }
      return { name: g.name, names: [...names].sort() };
    });
    return { groups };
  })()`);
  if (typeof shown === "string") return { tracks, problems: [shown] };
  for (const g of shown.groups) tracks.set(g.name, g.names);
  // The frontend runs without a browser to debug; it says so once, which is not a problem.
  const problems = pageProblems().filter((p) =>
    !/Can.t find host window|Debugging connection was closed/.test(p)
  );
  return { tracks, problems };
}

interface TraceThread {
  pid: number;
  tid: number;
  process: string;
  thread: string;
  /** Names of the thread's complete ("X") slices, sorted, each once. */
  names: string[];
}

/** The threads of a trace file that have slices, by "pid:tid". */
function traceThreads(trace: Json): Map<string, TraceThread> {
  const events = trace.traceEvents as Json[];
  const processes = new Map<unknown, string>();
  const threads = new Map<string, string>();
  for (const e of events) {
    const name = String((e.args as Json | undefined)?.name);
    if (e.ph === "M" && e.name === "process_name") processes.set(e.pid, name);
    if (e.ph === "M" && e.name === "thread_name") threads.set(`${e.pid}:${e.tid}`, name);
  }
  const out = new Map<string, TraceThread>();
  for (const e of events) {
    if (e.ph !== "X") continue;
    const key = `${e.pid}:${e.tid}`;
    let t = out.get(key);
    if (!t) {
      const [pid, tid] = [Number(e.pid), Number(e.tid)];
      t = { pid, tid, process: processes.get(e.pid)!, thread: threads.get(key)!, names: [] };
      out.set(key, t);
    }
    if (!t.names.includes(String(e.name))) t.names.push(String(e.name));
  }
  for (const t of out.values()) t.names.sort();
  return out;
}

/** Checks that the trace of traced_run.ts holds what the viewers must then show. */
function checkTraceFile(trace: Json): void {
  const threads = [...traceThreads(trace).values()];
  const names = threads.map((t) => t.thread);
  assert.ok(names.includes("driver"), names.join(", "));
  assert.ok(names.includes("actor Tally#1"), names.join(", "));
  // Three pool slots, and more workers when tasks blocked in get (nested tasks); a worker whose
  // tasks overlapped gets extra lanes ("worker 2 (lane 2)").
  const pool = names.filter((n) => /^worker \d+$/.test(n));
  assert.ok(pool.length >= 3, names.join(", "));
  // The async actor's overlapping calls: lanes of its track.
  assert.ok(names.some((n) => /^actor Waiter#\d+ \(lane 2\)$/.test(n)), names.join(", "));
  const all = new Set(threads.flatMap((t) => t.names));
  for (const n of ["leaf_task", "middle_task", "outer_task", "failing_task", "Tally.add", "get"]) {
    assert.ok(all.has(n), `${n} in ${[...all].join(", ")}`);
  }
}

/** The differences between the tracks a viewer showed and those expected, as sentences. */
function compareTracks(
  viewer: string,
  shown: Map<string, string[]>,
  expected: Map<string, string[]>,
): string[] {
  const out: string[] = [];
  for (const [name, names] of expected) {
    const got = shown.get(name);
    if (!got) out.push(`${viewer} shows no track "${name}"`);
    else if (got.join() !== names.join()) {
      out.push(`${viewer} shows [${got.join(", ")}] on "${name}", not [${names.join(", ")}]`);
    }
  }
  for (const name of shown.keys()) {
    if (!expected.has(name)) out.push(`${viewer} shows an unexpected track "${name}"`);
  }
  return out;
}

/**
 * Opens the task timeline `file` in speedscope; returns what went wrong, measured against the
 * threads of `trace` (the real run's): speedscope makes a profile "PROCESS (pid P), THREAD (tid
 * T)" of each thread with slices.
 */
async function timelineInSpeedscope(
  browser: Browser,
  file: string,
  trace: Json,
  dir: string,
): Promise<string[]> {
  const shown = await showInSpeedscope(browser, file, dir);
  const expected = new Map(
    [...traceThreads(trace).values()].map((
      t,
    ) => [`${t.process} (pid ${t.pid}), ${t.thread} (tid ${t.tid})`, t.names]),
  );
  return [...shown.problems, ...compareTracks("speedscope", shown.tracks, expected)];
}

/**
 * Loads the task timeline `file` into the DevTools Performance panel; returns what went wrong,
 * measured against the threads of `trace`: a track "THREAD (TID)" with the thread's slices.
 */
async function timelineInDevTools(browser: Browser, file: string, trace: Json): Promise<string[]> {
  const shown = await showInDevTools(browser, file);
  // Process headers are tracks without slices of their own.
  const tracks = new Map([...shown.tracks].filter(([, names]) => names.length > 0));
  const expected = new Map(
    [...traceThreads(trace).values()].map((t) => [`${t.thread} (${t.tid})`, t.names]),
  );
  return [...shown.problems, ...compareTracks("the Performance panel", tracks, expected)];
}

interface SpeedscopeJson {
  profiles: { name: string; events: { type: string; frame: number; at: number }[] }[];
  shared: { frames: { name: string }[] };
}

/**
 * Opens the `--speedscope` file `file` in speedscope; returns what went wrong, measured against
 * `profile` (the real run's file): a profile per thread, named as in the file, listing the
 * functions its events open.
 */
async function profileInSpeedscope(
  browser: Browser,
  file: string,
  profile: SpeedscopeJson,
  dir: string,
): Promise<string[]> {
  const shown = await showInSpeedscope(browser, file, dir);
  const expected = new Map(
    profile.profiles.map((p) => [
      p.name,
      [...new Set(p.events.map((e) => profile.shared.frames[e.frame].name))].sort(),
    ]),
  );
  const order = [...shown.tracks.keys()].join(", ");
  const problems = [...shown.problems, ...compareTracks("speedscope", shown.tracks, expected)];
  if (order !== profile.profiles.map((p) => p.name).join(", ")) {
    problems.push(`speedscope lists the profiles as ${order}`);
  }
  return problems;
}

/** A copy of a trace with two slices on one thread that overlap without nesting. */
function overlapping(trace: Json): Json {
  const events = structuredClone(trace.traceEvents) as Json[];
  const [a, b] = events.filter((e) => e.ph === "X" && e.name === "leaf_task");
  b.pid = a.pid;
  b.tid = a.tid;
  b.ts = (a.ts as number) + (a.dur as number) / 2;
  b.dur = a.dur;
  return { ...trace, traceEvents: events };
}

test(
  "timeline() trace opens in speedscope: a profile per thread with its tasks, no warning",
  opts,
  async () => {
    const { dir, trace: path } = runFiles();
    const trace = JSON.parse(readFileSync(path, "utf8")) as Json;
    checkTraceFile(trace);
    await withBrowser(async (browser) => {
      assert.deepEqual(await timelineInSpeedscope(browser, path, trace, dir), []);
    });
  },
);

test(
  "timeline() trace opens in Chromium's DevTools Performance panel: a track per thread with its tasks",
  opts,
  async () => {
    const { trace: path } = runFiles();
    const trace = JSON.parse(readFileSync(path, "utf8")) as Json;
    checkTraceFile(trace);
    await withBrowser(async (browser) => {
      assert.deepEqual(await timelineInDevTools(browser, path, trace), []);
    });
  },
);

test(
  "cli.ts profile --speedscope file opens in speedscope: a profile per thread with its functions",
  opts,
  async () => {
    const { dir, speedscope: path } = runFiles();
    const profile = JSON.parse(readFileSync(path, "utf8")) as SpeedscopeJson;
    // The file holds what the run did: the driver, the actors and the pool workers.
    const names = profile.profiles.map((p) => p.name);
    assert.equal(names[0], "driver");
    assert.ok(names.includes("actor Tally#1"), names.join(", "));
    assert.ok(names.filter((n) => /^worker \d+$/.test(n)).length >= 3, names.join(", "));
    const frames = (p: SpeedscopeJson["profiles"][number]) =>
      new Set(p.events.map((e) => profile.shared.frames[e.frame].name));
    assert.ok(frames(profile.profiles[0]).has("drive"));
    const inWorkers = new Set(profile.profiles.slice(1).flatMap((p) => [...frames(p)]));
    for (
      const n of [
        "leaf_task",
        "middle_task",
        "outer_task",
        "failing_task",
        "Tally.add",
        "Waiter.wait",
      ]
    ) {
      assert.ok(inWorkers.has(n), `${n} in ${[...inWorkers].join(", ")}`);
    }
    await withBrowser(async (browser) => {
      assert.deepEqual(await profileInSpeedscope(browser, path, profile, dir), []);
    });
  },
);

test("the viewer checks fail on broken files", opts, async () => {
  const { dir, trace: path, speedscope: profilePath } = runFiles();
  const text = readFileSync(path, "utf8");
  const trace = JSON.parse(text) as Json;
  const profile = JSON.parse(readFileSync(profilePath, "utf8")) as SpeedscopeJson;
  // Slices that overlap on a thread without nesting.
  const overlap = join(dir, "overlapping.json");
  writeFileSync(overlap, JSON.stringify(overlapping(trace)));
  // A file cut short, as by a write that did not finish.
  const truncated = join(dir, "truncated.json");
  writeFileSync(truncated, text.slice(0, text.length >> 1));
  // A close event for a frame that is not the innermost open one.
  const bad = structuredClone(profile);
  const events = bad.profiles[0].events;
  const inner = events[0].frame === 0 ? 1 : 0;
  events.splice(1, 0, { type: "O", frame: inner, at: events[0].at });
  events.splice(2, 0, { type: "C", frame: events[0].frame, at: events[0].at });
  const misnested = join(dir, "misnested.speedscope.json");
  writeFileSync(misnested, JSON.stringify(bad));
  await withBrowser(async (browser) => {
    const a = await timelineInSpeedscope(browser, overlap, trace, dir);
    assert.ok(a.some((p) => /Tried to end/.test(p)), a.join("\n"));
    const b = await timelineInDevTools(browser, truncated, trace);
    assert.ok(b.some((p) => /could not load the file: SyntaxError/.test(p)), b.join("\n"));
    assert.ok(b.some((p) => /shows no track "worker \d+ \(\d+\)"/.test(p)), b.join("\n"));
    const c = await profileInSpeedscope(browser, misnested, profile, dir);
    assert.ok(c.some((p) => /Something went wrong/.test(p)), c.join("\n"));
  });
});
