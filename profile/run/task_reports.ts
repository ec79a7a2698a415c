/**
 * What the CLI does with the task recording after a profiled run: write the Chrome trace
 * (`--timeline FILE`), draw the terminal Gantt (`--gantt`), write the HTML report (`--html FILE`)
 * and print the parallelism diagnostics. One call, so `cli.ts` stays a thin wrapper.
 *
 * @example After a profiled run
 * ```ts ignore
 * import { afterProfiledRun } from "./task_reports.ts";
 * const { text } = await afterProfiledRun(result.recording, { timeline: "trace.json", gantt: true });
 * process.stdout.write(text);
 * ```
 *
 * @module
 */

import { readFile, writeFile } from "node:fs/promises";
import { emptyRecording, type Recording } from "../../runtime/recorder.ts";
import { toTraceFile } from "../../runtime/chrome_trace.ts";
import { diagnose, type DiagnoseOptions, formatDiagnosis } from "../views/diagnose.ts";
import { gantt } from "../views/gantt.ts";
import { type FunctionProfileRow, htmlReport } from "../views/html.ts";
import type { LineStats } from "../line/stats.ts";

/** Options for {@linkcode afterProfiledRun}. */
export interface AfterProfiledRunOptions {
  /** Write the Chrome trace JSON here (`--timeline FILE`). */
  timeline?: string;
  /**
   * Draw the terminal Gantt chart (`--gantt`).
   * @default {false}
   */
  gantt?: boolean;
  /** Write the HTML report here (`--html FILE`). */
  html?: string;
  /**
   * Print the parallelism diagnostics when the script ran tasks.
   * @default {true}
   */
  diagnostics?: boolean;
  /** Thresholds of the diagnostics. */
  diagnoseOptions?: DiagnoseOptions;
  /**
   * ANSI colours in the text (the CLI passes: stdout is a TTY and NO_COLOR is unset).
   * @default {false}
   */
  color?: boolean;
  /**
   * Width of the terminal, for the Gantt chart.
   * @default {80}
   */
  width?: number;
  /** Directory that paths are shown relative to (the CLI passes its cwd). */
  cwd?: string;
  /** Title of the HTML report, e.g. the script's name. */
  title?: string;
  /** Line stats of the run, for the HTML report's heat map. */
  lineStats?: LineStats;
  /** Function profile rows, for the HTML report. */
  functions?: FunctionProfileRow[];
  /** Time shown in the HTML report as when it was made. */
  generated?: string;
}

/** What {@linkcode afterProfiledRun} produced. */
export interface AfterProfiledRunResult {
  /** Text for the CLI to print (empty when there is nothing to say). */
  text: string;
  /** Files written. */
  files: string[];
}

/**
 * Writes the requested files and returns the text to print after a profiled run.
 *
 * @param rec The task recording of the run (`undefined` or empty when it used no tasks).
 * @param options Which outputs, and how.
 * @returns The text and the files written.
 * @throws {Error} The file system's error when a file cannot be written.
 */
export async function afterProfiledRun(
  rec: Recording | undefined,
  options: AfterProfiledRunOptions = {},
): Promise<AfterProfiledRunResult> {
  const recording = rec ?? emptyRecording();
  const hasTasks = recording.tasks.length > 0 || recording.spans.length > 0;
  const parts: string[] = [];
  const files: string[] = [];
  const diagnosis = hasTasks ? diagnose(recording, options.diagnoseOptions) : undefined;

  if (options.gantt) {
    parts.push(
      gantt(recording, { width: Math.max(40, options.width ?? 80), color: options.color }),
    );
  }
  if (diagnosis && (options.diagnostics ?? true)) {
    parts.push(
      formatDiagnosis(diagnosis, {
        cwd: options.cwd,
        color: options.color,
        width: options.width ?? 80,
      }),
    );
  }
  if (options.timeline) {
    await writeFile(options.timeline, JSON.stringify(toTraceFile(recording)));
    files.push(options.timeline);
    parts.push(
      `Timeline: wrote ${recording.tasks.length} tasks to ${options.timeline}\n` +
        `  open it in https://ui.perfetto.dev (Open trace file) or Chrome DevTools (Performance, Load profile)\n`,
    );
  }
  if (options.html) {
    const html = htmlReport({
      recording: hasTasks ? recording : undefined,
      diagnosis,
      lineStats: options.lineStats,
      sources: options.lineStats ? await readSources(options.lineStats) : undefined,
      functions: options.functions,
      title: options.title,
      cwd: options.cwd,
      generated: options.generated,
    });
    await writeFile(options.html, html);
    files.push(options.html);
    parts.push(
      `HTML report: wrote ${options.html} (one self-contained file: open it in a browser)\n`,
    );
  }
  return { text: parts.join("\n"), files };
}

/** Reads the files of profiled functions that carry no source of their own. */
async function readSources(stats: LineStats): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const fn of stats.functions) {
    if (fn.source || fn.file in out) continue;
    try {
      out[fn.file] = await readFile(
        fn.file.startsWith("file:") ? new URL(fn.file) : fn.file,
        "utf8",
      );
    } catch {
      // A file that moved or a remote URL: the report shows the figures without the code.
      out[fn.file] = "";
    }
  }
  return out;
}
