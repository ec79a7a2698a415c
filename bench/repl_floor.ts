/**
 * The floor for bench/repl_startup.ts: a program that only prints a prompt and answers one line,
 * to show how much of a REPL's start is the runtime's own start on this machine.
 */
import process from "node:process";

process.stdout.write("> ");
process.stdin.once("data", () => {
  process.stdout.write("\n2\n");
  process.exit(0);
});
