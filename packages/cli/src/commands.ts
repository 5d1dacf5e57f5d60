import type { WebSocketConstructor } from "@conveyor/client";
import { type Api, ApiError, type EventWire, type TaskStatusWire, type TaskWire } from "@conveyor/client/api";
import { DEFAULT_LIMIT, type Invocation } from "./args.ts";
import { decide } from "./decide.ts";
import { follow, isTerminal } from "./follow.ts";
import {
  formatApprovalTable,
  formatEvent,
  formatOutcome,
  formatSubmitted,
  formatTask,
  formatTaskTable,
} from "./format.ts";
import { answerCommands, onApprovalRequested } from "./gate.ts";
import { CONVEYOR } from "./help.ts";
import { followLive, type LiveUpdate } from "./live.ts";
import type { Output } from "./output.ts";
import type { ReadLine } from "./prompt.ts";

export interface Context {
  api: Api;
  out: Output;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  /** Pause between polls while following; tests shorten it. */
  pollIntervalMs?: number;
  /** Where live events come from; followers poll without it. */
  live?: { wsUrl: string; token: string; WebSocketImpl: WebSocketConstructor };
  /** Present when a person at a terminal can answer approvals inline. */
  readLine?: ReadLine;
}

type Command = Exclude<Invocation, { command: "help" | "version" }>;

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
      else out.info(`${submitted}\nFollow it with: ${CONVEYOR} watch ${task.taskId}`);
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
      const nudge = await api.nudge(inv.taskId, inv.message, signal, inv.interrupt ? "interrupt" : "queue");
      out.data(
        out.json
          ? pretty({ nudge })
          : inv.interrupt
            ? `Nudge ${nudge.nudgeId} sent; the agent interrupts its current turn to take it.`
            : `Nudge ${nudge.nudgeId} sent; the agent takes it at its next turn.`,
      );
      return 0;
    }
    case "cancel":
      return cancel(ctx, inv.taskId);
    case "approvals":
      return approvals(ctx, inv);
    case "approve":
    case "deny":
      return decide(ctx, inv);
    case "list": {
      const page = await api.list({ status: inv.status, limit: inv.limit, cursor: inv.cursor }, signal);
      if (out.json) {
        out.data(pretty(page));
        return 0;
      }
      out.data(formatTaskTable(page.tasks, out.paint));
      if (page.nextCursor) {
        const flags = [
          inv.status && `--status ${inv.status}`,
          inv.limit !== DEFAULT_LIMIT.list && `--limit ${inv.limit}`,
        ];
        const next = [`${CONVEYOR} list`, ...flags, `--cursor ${page.nextCursor}`].filter(Boolean).join(" ");
        out.info(out.paint("gray", `More: ${next}`));
      }
      return 0;
    }
  }
}

/** Prints a task's events as they happen until it ends; exits 0 only if it completed. */
async function watch(ctx: Context, task: TaskWire, poll: boolean): Promise<number> {
  const { out } = ctx;
  let status: TaskStatusWire = task.status;
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
          if (update.event.type === "task.status") status = (update.event.data as { to: TaskStatusWire }).to;
          if (update.event.type === "approval.requested") await onApprovalRequested(ctx, update.event);
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
        `follow it again with: ${CONVEYOR} watch ${task.taskId}`,
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
  if (nextCursor) {
    const limit = inv.limit !== DEFAULT_LIMIT.events ? ` --limit ${inv.limit}` : "";
    out.info(out.paint("gray", `Next: ${CONVEYOR} events ${inv.taskId} --after ${nextCursor}${limit}`));
  }
  return 0;
}

/**
 * Approvals across the caller's tasks (newest first, paged), or one task's (oldest
 * first, all at once); `--pending` keeps those still waiting for an answer.
 */
async function approvals(ctx: Context, inv: Extract<Command, { command: "approvals" }>): Promise<number> {
  const { api, out, signal } = ctx;
  const page = inv.taskId
    ? {
        approvals: (await api.approvals(inv.taskId, signal)).filter(
          (approval) => !inv.pending || approval.status === "pending",
        ),
        nextCursor: undefined,
      }
    : await api.allApprovals({ status: inv.pending ? "pending" : undefined, cursor: inv.cursor }, signal);
  if (out.json) {
    out.data(pretty({ approvals: page.approvals, nextCursor: page.nextCursor ?? undefined }));
    return 0;
  }
  if (page.approvals.length === 0) {
    const which = inv.pending ? "No pending approvals" : "No approvals";
    out.info(out.paint("gray", inv.taskId ? `${which} on task ${inv.taskId}.` : `${which}.`));
    return 0;
  }
  out.data(formatApprovalTable(page.approvals, out.paint));
  const waiting = page.approvals.find((approval) => approval.status === "pending");
  if (waiting) {
    const [approve, deny] = answerCommands(waiting.taskId, waiting.approvalId);
    out.info(
      out.paint("gray", `Answer with: ${approve}\n         or: ${deny}   (--comment "<text>" optional)`),
    );
  }
  if (page.nextCursor) {
    const flags = [inv.pending && "--pending", `--cursor ${page.nextCursor}`];
    out.info(out.paint("gray", `More: ${[`${CONVEYOR} approvals`, ...flags].filter(Boolean).join(" ")}`));
  }
  return 0;
}

/**
 * Cancels a task. Cancelling one already CANCELLED is done, not a failure: the API
 * answers 409 with the status it ended in, and that is what a person wants to hear.
 */
async function cancel(ctx: Context, taskId: string): Promise<number> {
  const { api, out, signal } = ctx;
  let task: TaskWire;
  try {
    task = await api.cancel(taskId, signal);
  } catch (error) {
    const ended = error instanceof ApiError && error.status === 409 ? endedAs(error.details) : undefined;
    if (!ended) throw error;
    const code = ended === "CANCELLED" ? 0 : 1;
    if (out.json) out.data(pretty({ task: await api.task(taskId, signal) }));
    if (code === 0) out.info(`Task ${taskId} is already CANCELLED.`);
    else out.error(`Task ${taskId} already ended ${ended}; there is nothing to cancel.`);
    return code;
  }
  const said =
    task.status === "CANCELLED"
      ? `Task ${task.taskId} is CANCELLED.`
      : `Cancel requested: ${task.taskId} stops at its next turn (it is ${task.status}).`;
  out.data(out.json ? pretty({ task }) : said);
  return 0;
}

/** The status a 409 names when the conflict is that the task has already ended. */
function endedAs(details: unknown): TaskStatusWire | undefined {
  const { reason, status } = (details ?? {}) as { reason?: unknown; status?: unknown };
  if (reason !== "task.terminal" || typeof status !== "string") return undefined;
  return isTerminal(status as TaskStatusWire) ? (status as TaskStatusWire) : undefined;
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2);
