#!/usr/bin/env tsx
import { main } from "./cli.ts";
import { lineFrom } from "./prompt.ts";

// The first Ctrl-C stops the command cleanly; a second one falls back to Node's default and kills it.
const interrupt = new AbortController();
process.once("SIGINT", () => interrupt.abort());

// `conveyor run ... | head` closes stdout early: that is the reader being done, not an error to trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(0);
});

const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  isTTY: { stdin: process.stdin.isTTY, stdout: process.stdout.isTTY, stderr: process.stderr.isTTY },
  readLine: lineFrom(process.stdin),
  signal: interrupt.signal,
});

// Exit once stdout has flushed (a pipe may still hold output), without waiting for idle sockets.
process.stdout.write("", () => process.exit(code));
