/**
 * Exports the function profiler's events in speedscope's file format
 * (https://www.speedscope.app/file-format-schema.json): one "evented" profile per thread (the
 * driver, then each worker), made of open (`O`) and close (`C`) events of shared frames, in
 * milliseconds on one time axis, so the threads line up in speedscope's profile list.
 *
 * The events follow the stack as it ran: an async function's frame closes when it suspends at an
 * `await` and opens again when it resumes, with its still-waiting async callers opened above it
 * (`main > ex1`), so a timeline shows when each function really ran.
 *
 * @example
 * ```ts ignore
 * import { toSpeedscope } from "./speedscope.ts";
 * const file = toSpeedscope(result.functions!, { name: "loops.ts" });
 * await Deno.writeTextFile("loops.speedscope.json", JSON.stringify(file));
 * ```
 *
 * @module
 */

import type { FuncThreadData } from "./collector.ts";

/** The `$schema` value every speedscope file carries. */
export const SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json";

/** A frame of speedscope's shared table. */
export interface SpeedscopeFrame {
  name: string;
  file?: string;
  line?: number;
  col?: number;
}

/** An open or close event of an evented profile. */
export interface SpeedscopeEvent {
  type: "O" | "C";
  /** Index into `shared.frames`. */
  frame: number;
  /** Time in the profile's unit. */
  at: number;
}

/** An evented profile (one thread). */
export interface SpeedscopeEventedProfile {
  type: "evented";
  name: string;
  unit: "milliseconds";
  startValue: number;
  endValue: number;
  events: SpeedscopeEvent[];
}

/** A speedscope file. */
export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeEventedProfile[];
  name?: string;
  activeProfileIndex?: number;
  exporter?: string;
}

/** Options for {@linkcode toSpeedscope}. */
export interface ToSpeedscopeOptions {
  /** Name of the profile group (speedscope shows it as the title), e.g. the script's name. */
  name?: string;
  /**
   * Who wrote the file.
   * @default {"rayprof"}
   */
  exporter?: string;
}

/**
 * Builds a speedscope file from the events of each thread. Threads recorded without events are
 * left out. Events are balanced: a frame still open at the end closes at the thread's end.
 *
 * @param threads `{ label, data }` of each thread (what `profileScript({ functions })` returns).
 * @param options Name of the file.
 * @returns The file, ready for `JSON.stringify`.
 */
export function toSpeedscope(
  threads: { label: string; data: FuncThreadData }[],
  options: ToSpeedscopeOptions = {},
): SpeedscopeFile {
  const frames: SpeedscopeFrame[] = [];
  const frameIndex = new Map<string, number>();
  const withEvents = threads.filter((t) => t.data.events);
  const base = Math.min(...withEvents.map((t) => t.data.timeOrigin));
  const profiles: SpeedscopeEventedProfile[] = [];
  for (const { label, data } of withEvents) {
    const sites = new Map(data.sites);
    const frameOf = (id: number): number => {
      const site = sites.get(id);
      const name = site?.name ?? `<function ${id}>`;
      const key = `${site?.file}\0${site?.line}\0${name}`;
      let i = frameIndex.get(key);
      if (i === undefined) {
        i = frames.length;
        frameIndex.set(key, i);
        frames.push(site ? { name, file: site.file, line: site.line } : { name });
      }
      return i;
    };
    const offset = data.timeOrigin - base;
    const ev = data.events!;
    const events: SpeedscopeEvent[] = [];
    const stack: number[] = [];
    let last = 0;
    for (let k = 0; k + 2 < ev.length; k += 3) {
      const frame = frameOf(ev[k + 1]);
      // Never go back in time, even by a rounding error.
      const at = Math.max(last, ev[k + 2] + offset);
      last = at;
      if (ev[k] === 0) {
        stack.push(frame);
        events.push({ type: "O", frame, at });
      } else {
        const depth = stack.lastIndexOf(frame);
        if (depth < 0) continue; // closes a frame opened before events were kept
        while (stack.length > depth) events.push({ type: "C", frame: stack.pop()!, at });
      }
    }
    const end = Math.max(last, data.end + offset);
    while (stack.length) events.push({ type: "C", frame: stack.pop()!, at: end });
    profiles.push({
      type: "evented",
      name: label,
      unit: "milliseconds",
      startValue: events.length ? Math.min(events[0].at, end) : 0,
      endValue: end,
      events,
    });
  }
  return {
    $schema: SPEEDSCOPE_SCHEMA,
    shared: { frames },
    profiles,
    ...(options.name ? { name: options.name } : {}),
    activeProfileIndex: 0,
    exporter: options.exporter ?? "rayprof",
  };
}
