import type { WebSocketConstructor } from "@conveyor/client";
import { ApiError, type Fetch, NetworkError } from "@conveyor/client/api";
import { WebSocket } from "ws";
import pkg from "../package.json" with { type: "json" };
import { parseInvocation, UsageError } from "./args.ts";
import { connect } from "./client.ts";
import { execute } from "./commands.ts";
import { readLocalComment } from "./comment.ts";
import { ConfigError, resolveConnection } from "./config.ts";
import { CONVEYOR, usage } from "./help.ts";
import { createOutput } from "./output.ts";
import type { ReadLine } from "./prompt.ts";

/** Everything the CLI touches outside itself, so tests and scripts can drive it in-process. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Defaults to the global fetch. */
  fetch?: Fetch;
  /**
   * Colors need stdout to be a terminal; the spinner needs stderr to be one; asking for an
   * approval inline needs stdin and stdout to be one. All off when absent.
   */
  isTTY?: { stdin?: boolean; stdout?: boolean; stderr?: boolean };
  /** Reads a typed line from stdin, to answer an approval while following. */
  readLine?: ReadLine;
  /** Aborting it (Ctrl-C) stops the command; a followed task keeps running. */
  signal?: AbortSignal;
  /** Pause between polls while following (default 500 ms). */
  pollIntervalMs?: number;
  /** Opens live-event sockets (default: the `ws` package's; Node 20 has no global WebSocket). */
  WebSocketImpl?: WebSocketConstructor;
}

/**
 * Runs the `conveyor` command and answers its exit code: 0 ok, 1 failed (API
 * error, unreachable server, task not completed), 2 bad usage, 130 interrupted.
 * Never exits the process and never prints a stack trace.
 *
 * @example
 * const code = await main(["status", taskId, "--output", "json"], {
 *   stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: {}, cwd: process.cwd(),
 * });
 */
export async function main(argv: string[], io: Io): Promise<number> {
  let inv: ReturnType<typeof parseInvocation>;
  try {
    inv = parseInvocation(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // A bare `conveyor` gets the overview; anything else gets the mistake and where to look.
    const hint = error.command ? `${CONVEYOR} ${error.command} --help` : `${CONVEYOR} --help`;
    io.stderr(argv.length === 0 ? usage() : `conveyor: ${error.message}\nSee \`${hint}\`.\n`);
    return 2;
  }
  if (inv.command === "help") {
    io.stdout(usage(inv.topic));
    return 0;
  }
  if (inv.command === "version") {
    io.stdout(`conveyor ${pkg.version}\n`);
    return 0;
  }

  const out = createOutput({ json: inv.global.output === "json", ...io, isTTY: io.isTTY ?? {} });
  try {
    // Read from the local stack's state dir: no API needed.
    if (inv.command === "status" && inv.comment) {
      const comment = readLocalComment(inv.taskId, io.env, io.cwd);
      out.data(out.json ? JSON.stringify(comment, null, 2) : comment.body);
      return 0;
    }
    const connection = resolveConnection(inv.global, io.env, io.cwd);
    const api = connect(connection, io.fetch);
    const { wsUrl, token } = connection;
    const live = wsUrl ? { wsUrl, token, WebSocketImpl: io.WebSocketImpl ?? WebSocket } : undefined;
    // Only a person at a terminal is asked; a pipe or json mode gets the commands that answer instead.
    const interactive = !out.json && io.isTTY?.stdin && io.isTTY.stdout;
    const readLine = interactive ? io.readLine : undefined;
    return await execute(inv, {
      api,
      out,
      signal: io.signal,
      pollIntervalMs: io.pollIntervalMs,
      live,
      readLine,
    });
  } catch (error) {
    if (io.signal?.aborted) {
      out.error("\nInterrupted.");
      return 130;
    }
    if (error instanceof ApiError) {
      out.error(`${error.code}: ${error.message}`);
      if (error.code === "UNAUTHORIZED") out.error("Check --token or CONVEYOR_TOKEN.");
      return 1;
    }
    if (error instanceof NetworkError) {
      out.error(`${error.message}. Is it running? Start the local stack with \`pnpm start\`.`);
      return 1;
    }
    if (error instanceof ConfigError) {
      out.error(error.message);
      return 1;
    }
    // A bug in the CLI or a reply it cannot read: say so plainly, keep the trace out of the user's way.
    out.error(`conveyor: unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    if (io.env.CONVEYOR_DEBUG && error instanceof Error) out.error(error.stack ?? "");
    return 1;
  }
}
