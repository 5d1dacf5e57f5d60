import type { WebSocketConstructor } from "@conveyor/client";
import type { Invocation } from "./args.ts";
import type { Api, EventWire, TaskStatus, TaskWire } from "./client.ts";
import { follow } from "./follow.ts";
import { formatEvent, formatOutcome, formatSubmitted, formatTask, formatTaskTable } from "./format.ts";
import { followLive, type LiveUpdate } from "./live.ts";
import type { Output } from "./output.ts";

export interface Context {
  api: Api;
  out: Output;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  /** Pause between polls while following; tests shorten it. */
  pollIntervalMs?: number;
  /** Where live events come from; followers poll without it. */
  live?: { wsUrl: string; token: string; WebSocketImpl: WebSocketConstructor };
}

type Command = Exclude<Invocation, { command: "help" }>;

/** Runs one parsed command; the answer is the process exit code. */
export async function execute(inv: Command, ctx: Context): Promise<number> {
  const { api, out, signal } = ctx;
  switch (inv.command) {
    case "submit":
    case "run": {
      const { task, replayed } = await api.submit(inv.body, { idempotencyKey: inv.idempotencyKey, signal });
      const submitted = formatSubmitted(task, replayed, out.paint);
      if (inv.command === "run") {
        out.info(submitted);
        return watch(ctx, task, inv.poll);
      }
      if (out.json) out.data(pretty({ task }));
      else out.info(`${submitted}\nFollow it with: conveyor watch ${task.taskId}`);
      return 0;
    }
    case "watch": {
      const task = await api.task(inv.taskId, signal);
      out.info(
        `Watching ${out.paint("bold", task.taskId)} on ${task.repo}: ${task.description.split("\n")[0]}`,
      );
      return watch(ctx, task, inv.poll);
    }
    case "status": {
      const task = await api.task(inv.taskId, signal);
      out.data(out.json ? pretty({ task }) : formatTask(task, out.paint));
      return 0;
    }
    case "events":
      return events(ctx, inv);
    case "nudge": {
      const nudge = await api.nudge(inv.taskId, inv.message, signal);
      out.data(
        out.json ? pretty({ nudge }) : `Nudge ${nudge.nudgeId} sent; the agent takes it at its next turn.`,
      );
      return 0;
    }
    case "cancel": {
      const task = await api.cancel(inv.taskId, signal);
      const said =
        task.status === "CANCELLED"
          ? `Task ${task.taskId} is CANCELLED.`
          : `Cancel requested: ${task.taskId} stops at its next turn (it is ${task.status}).`;
      out.data(out.json ? pretty({ task }) : said);
      return 0;
    }
    case "list": {
      const page = await api.list({ status: inv.status, limit: inv.limit, cursor: inv.cursor }, signal);
      if (out.json) {
        out.data(pretty(page));
        return 0;
      }
      out.data(formatTaskTable(page.tasks, out.paint));
      if (page.nextCursor) {
        const status = inv.status ? ` --status ${inv.status}` : "";
        out.info(out.paint("gray", `More: conveyor list${status} --cursor ${page.nextCursor}`));
      }
      return 0;
    }
  }
}

/** Prints a task's events as they happen until it ends; exits 0 only if it completed. */
async function watch(ctx: Context, task: TaskWire, poll: boolean): Promise<number> {
  const { out } = ctx;
  let status: TaskStatus = task.status;
  let lastEventAt = Date.now();
  // Text mode says why it polls; json mode keeps stderr to problems.
  const note = (text: string) => {
    if (!out.json) out.error(out.paint("gray", text));
  };
  try {
    for await (const update of updates(ctx, task.taskId, poll, note)) {
      switch (update.kind) {
        case "event":
          out.data(out.json ? JSON.stringify(update.event) : formatEvent(update.event, out.paint));
          if (update.event.type === "task.status") status = (update.event.data as { to: TaskStatus }).to;
          lastEventAt = Date.now();
          break;
        case "idle": {
          const quiet = Math.round((Date.now() - lastEventAt) / 1000);
          out.progress.update(
            `${status.toLowerCase()}, ${quiet}s since the last event (Ctrl-C stops watching)`,
          );
          break;
        }
        case "retry":
          out.error(out.paint("yellow", `Lost the API (${update.error.message}); retrying…`));
          break;
        case "fallback":
          note(`Live updates unavailable (${update.reason}); following by polling.`);
          break;
        case "end":
          out.info(formatOutcome(update.task, out.paint));
          return update.task.status === "COMPLETED" ? 0 : 1;
      }
    }
  } catch (error) {
    if (!ctx.signal?.aborted) throw error;
    out.error(
      `\nStopped watching. Task ${task.taskId} keeps running on the server; ` +
        `follow it again with: conveyor watch ${task.taskId}`,
    );
    return 130;
  } finally {
    out.progress.clear();
  }
  throw new Error("follow stopped before the task ended");
}

/** Live over the WebSocket when one is known and wanted, else HTTP polling. */
function updates(
  ctx: Context,
  taskId: string,
  poll: boolean,
  note: (text: string) => void,
): AsyncGenerator<LiveUpdate, void> {
  const { api, out, signal, pollIntervalMs: intervalMs, live } = ctx;
  if (live && !poll) {
    // The spinner's pace; never a busy loop, even when tests poll without pauses.
    const idleMs = Math.max(intervalMs ?? 500, 10);
    return followLive(api, taskId, {
      ...live,
      signal,
      intervalMs,
      idleMs,
      // 30 s by default; tests that shorten the polls shorten this too.
      quietCheckMs: 60 * idleMs,
      onError: (error) => out.error(out.paint("yellow", `Live updates: ${error.code}: ${error.message}`)),
    });
  }
  if (!live && !poll) note("No WebSocket URL (--ws-url, CONVEYOR_WS_URL); following by polling.");
  return follow(api, taskId, { signal, intervalMs });
}

/** One page of events, or with --all every page up to the latest. */
async function events(ctx: Context, inv: Extract<Command, { command: "events" }>): Promise<number> {
  const { api, out, signal } = ctx;
  const all: EventWire[] = [];
  let printed = 0;
  let after = inv.after;
  let nextCursor: string | undefined;
  for (;;) {
    const page = await api.events(inv.taskId, { after, limit: inv.limit }, signal);
    if (out.json) all.push(...page.events);
    else for (const event of page.events) out.data(formatEvent(event, out.paint));
    printed += page.events.length;
    nextCursor = page.nextCursor;
    // While the task runs the cursor is always there; a short page says we are at the end.
    if (!inv.all || !nextCursor || page.events.length < inv.limit) break;
    after = nextCursor;
  }
  if (out.json) {
    out.data(pretty({ events: all, nextCursor }));
    return 0;
  }
  if (printed === 0) out.info(out.paint("gray", inv.after ? `No events after ${inv.after}.` : "No events."));
  if (nextCursor) out.info(out.paint("gray", `Next: conveyor events ${inv.taskId} --after ${nextCursor}`));
  return 0;
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2);
