/**
 * Time from starting the REPL to its prompt on a terminal, beside `deno repl` in the same run.
 *
 *   deno run -A bench/repl_startup.ts [runs]
 *
 * Each REPL runs under `script` (a pseudo-terminal, as a user has). The clock runs from the spawn
 * to the first "> " on its output; for rayprof's REPL it also runs until the answer to a first
 * input (`1+1`, typed at once when the prompt shows) arrives, which includes loading the TypeScript
 * tooling and the runtime that the prompt does not wait for. The REPL is then ended with `.exit`
 * (Ctrl-D for `deno repl`). `bench/repl_floor.ts` (print "> ", answer one line) is the floor: the
 * runtime's own start on a pseudo-terminal on this machine.
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DENO = ROOT + "node_modules/.bin/deno";
const BUN = ROOT + "node_modules/.bin/bun";
const runs = Number(process.argv[2] ?? Deno?.args?.[0] ?? 10);

interface Sample {
  prompt: number;
  answer: number;
}

function once(command: string, exit: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: ROOT,
      env: { ...process.env, RAYPROF_REPL_HISTORY: "", NO_COLOR: "1", TERM: "xterm" },
      stdio: ["pipe", "pipe", "inherit"],
    });
    let out = "";
    let prompt = NaN;
    let answer = NaN;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`No prompt from '${command}' within 20 s: ${JSON.stringify(out)}`));
    }, 20_000);
    child.stdout.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      if (Number.isNaN(prompt) && out.includes("> ")) {
        prompt = performance.now() - t0;
        child.stdin.write("1+1\r");
      }
      if (
        !Number.isNaN(prompt) && Number.isNaN(answer) &&
        /\n2\r?\n/.test(out.slice(out.indexOf("> ")))
      ) {
        answer = performance.now() - t0;
        child.stdin.write(exit);
        setTimeout(() => child.kill("SIGKILL"), 2000);
      }
    });
    child.on("exit", () => {
      clearTimeout(timer);
      resolve({ prompt, answer });
    });
  });
}

function stats(xs: number[]): string {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return "n/a";
  const med = s[Math.floor(s.length / 2)];
  return `median ${med.toFixed(0).padStart(4)} ms  (min ${s[0].toFixed(0)}, max ${
    s[s.length - 1].toFixed(0)
  }, n=${s.length})`;
}

declare const Deno: { args: string[] } | undefined;

const subjects: [string, string, string][] = [
  ["floor: deno, prompt only", `${DENO} run -A bench/repl_floor.ts`, ""],
  ["deno repl (reference)", `${DENO} repl`, "\x04"],
  ["deno run -A repl.ts", `${DENO} run -A repl.ts`, ".exit\r"],
  ["bun repl.ts", `${BUN} repl.ts`, ".exit\r"],
];

// One warm-up run each, so Deno's module cache is filled.
for (const [, cmd, exit] of subjects) await once(cmd, exit);
const results = new Map<string, Sample[]>();
for (let i = 0; i < runs; i++) {
  // Interleaved, so machine noise hits each subject alike.
  for (const [name, cmd, exit] of subjects) {
    const list = results.get(name) ?? [];
    list.push(await once(cmd, exit));
    results.set(name, list);
  }
}
console.log(`Startup on a pseudo-terminal, ${runs} runs each (interleaved):`);
for (const [name, samples] of results) {
  console.log(`${name.padEnd(24)} prompt: ${stats(samples.map((s) => s.prompt))}`);
  console.log(`${"".padEnd(24)} 1+1 answered: ${stats(samples.map((s) => s.answer))}`);
}
