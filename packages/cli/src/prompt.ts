import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/** Reads the next line a person types; undefined at end of input or once `signal` aborts. */
export type ReadLine = (signal: AbortSignal) => Promise<string | undefined>;

/**
 * One line at a time from `input` (stdin). Each read opens its own reader and closes it
 * after, so nothing holds stdin between questions and a line typed before the question
 * is not taken as its answer. Not a terminal-mode reader: Ctrl-C stays the process's
 * SIGINT, which stops the command as everywhere else.
 *
 * @example
 * const answer = await lineFrom(process.stdin)(signal); // "y", "", or undefined on Ctrl-D
 */
export function lineFrom(input: Readable): ReadLine {
  return (signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve(undefined);
      const reader = createInterface({ input, terminal: false });
      let settled = false;
      const done = (line: string | undefined) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", aborted);
        reader.close();
        resolve(line);
      };
      const aborted = () => done(undefined);
      signal.addEventListener("abort", aborted, { once: true });
      reader.once("line", (line) => done(line));
      reader.once("close", () => done(undefined));
    });
}
