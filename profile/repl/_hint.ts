/**
 * The one-line hint printed after an input whose tasks show an anti-pattern, taken from the
 * parallelism diagnostics.
 *
 * @module
 */
import type { Recording } from "../../runtime/recorder.ts";
import { diagnose } from "../views/diagnose.ts";

/** Codes worth a hint after an input (the others need a whole run to mean something). */
const HINTED = new Set(["get-in-loop", "tiny-tasks", "queue-backlog", "failed-tasks"]);

/**
 * Returns the most severe finding of an input's recording as one line, or undefined.
 *
 * @param rec The tasks and spans of one input.
 * @returns `hint: <what happened> — <what to do>`.
 */
export function firstFinding(rec: Recording): string | undefined {
  const d = diagnose(rec, { complete: false });
  const f = d.findings.find((x) => HINTED.has(x.code));
  if (!f) return undefined;
  return `hint: ${f.message.replace(/\.$/, "")}; ${lowerFirst(f.advice.replace(/\.$/, ""))}`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
