import { type Paint, painter } from "./format.ts";
import { type ProgressLine, progressLine } from "./progress.ts";

/**
 * Where a command's words go. In json mode stdout carries only the machine-readable
 * result, so everything meant for a person moves to stderr.
 */
export interface Output {
  json: boolean;
  paint: Paint;
  /** The command's result, on stdout. */
  data(text: string): void;
  /** Messages for a person: stdout in text mode, stderr in json mode. */
  info(text: string): void;
  /** Problems and interruptions, always on stderr. */
  error(text: string): void;
  progress: ProgressLine;
  /** A question on stdout, the answer to be typed on the same line. */
  ask(question: string): void;
}

export function createOutput(opts: {
  json: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  isTTY: { stdout?: boolean; stderr?: boolean };
}): Output {
  const progress = progressLine(opts.stderr, Boolean(opts.isTTY.stderr));
  // The spinner shares the terminal with both streams: take it down before anything else is written.
  const writer = (write: (text: string) => void) => (text: string) => {
    progress.clear();
    write(`${text}\n`);
  };
  const stdout = writer(opts.stdout);
  const stderr = writer(opts.stderr);
  return {
    json: opts.json,
    paint: painter(!opts.json && Boolean(opts.isTTY.stdout), opts.env),
    data: stdout,
    info: opts.json ? stderr : stdout,
    error: stderr,
    progress,
    ask: (question) => {
      progress.clear();
      opts.stdout(question);
    },
  };
}
