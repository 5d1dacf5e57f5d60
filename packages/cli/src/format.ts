import { styleText } from "node:util";
import type { ApprovalWire, EventWire, TaskStatusWire, TaskWire } from "@conveyor/client/api";
import { DEFAULT_TIMEOUT_S } from "@conveyor/core/approval/rules";
import type { EventData, EventType } from "@conveyor/core/event";
import { eventData } from "@conveyor/core/event/schema";
import * as v from "valibot";
import { decidedBy, settledInWords, span, timeUntil } from "./approval.ts";

type Style = Parameters<typeof styleText>[0];
/** Colors text, or leaves it alone when colors are off. */
export type Paint = (style: Style, text: string) => string;

/** Colors only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function painter(isTTY: boolean, env: Record<string, string | undefined>): Paint {
  if (!isTTY || env.NO_COLOR) return (_, text) => text;
  // The caller has already decided; styleText's own check would look at process.stdout.
  return (style, text) => styleText(style, text, { validateStream: false });
}

const STATUS_STYLE: Record<TaskStatusWire, Style> = {
  QUEUED: "gray",
  SUBMITTED: "blue",
  STARTING: "blue",
  RUNNING: "cyan",
  AWAITING_APPROVAL: "magenta",
  COMPLETED: "green",
  FAILED: "red",
  TIMED_OUT: "red",
  CANCELLED: "yellow",
};

const status = (value: TaskStatusWire, paint: Paint) => paint(STATUS_STYLE[value] ?? "reset", value);

/** The server's event shapes, so each case below reads its own `data`. */
type TypedEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];

const LABEL_WIDTH = 10;
// Continuation lines start under the event's text: "HH:MM:SS" + 2 spaces + label column.
const INDENT = " ".repeat(8 + 2 + LABEL_WIDTH);

/**
 * One event as a line (or a few, for an agent turn) of the follow and events output.
 * `now` places an approval's expiry ("expires in 5m").
 */
export function formatEvent(event: EventWire, paint: Paint, now = Date.now()): string {
  const line = (label: string, text: string, style: Style = "reset") =>
    `${paint("gray", clock(event.at))}  ${paint(style, `${label.padEnd(LABEL_WIDTH - 1)} `)}${text.split("\n").join(`\n${INDENT}`)}`;
  const typed = { type: event.type, data: event.data } as TypedEvent;
  // Approval data this CLI cannot read (an older or newer server): shown as it came.
  const unread = (what: string) => line("approval", `${what} ${clip(compact(event.data), 120)}`, "magenta");
  switch (typed.type) {
    case "task.submitted": {
      const { status: to, queuePosition } = typed.data;
      return line("submitted", to === "QUEUED" ? queued(queuePosition) : "waiting for an agent", "bold");
    }
    case "task.status": {
      const { from, to, reason } = typed.data;
      return line(
        "status",
        `${from} → ${status(to, paint)}${reason ? paint("gray", ` (${reason})`) : ""}`,
        "bold",
      );
    }
    case "agent.turn":
      return line(`turn ${typed.data.turn}`, typed.data.text.trim(), "bold");
    case "agent.tool_call":
      return line(
        "tool",
        `${paint("cyan", typed.data.name)} ${paint("gray", clip(compact(typed.data.input), 120))}`,
      );
    case "agent.tool_result": {
      const { isError, output } = typed.data;
      const mark = isError ? paint("red", "✗") : paint("green", "✓");
      return line("", `${mark} ${paint(isError ? "red" : "gray", clip(output, 120))}`);
    }
    case "agent.milestone": {
      const { name, detail, url } = typed.data;
      return line(
        "milestone",
        [paint("bold", name), detail && `— ${detail}`, url && paint(["cyan", "underline"], url)]
          .filter(Boolean)
          .join(" "),
        "magenta",
      );
    }
    case "agent.cost": {
      const { costUsd, inputTokens, outputTokens } = typed.data;
      return line(
        "cost",
        `${usd(costUsd)} · ${count(inputTokens)} in / ${count(outputTokens)} out tokens`,
        "gray",
      );
    }
    case "agent.error":
      return line(
        "error",
        `${typed.data.message}${typed.data.fatal ? paint("bold", " (fatal)") : ""}`,
        "red",
      );
    case "nudge.received":
      return line("nudge", `received: ${nudge(typed.data)}`, "yellow");
    // A task may take many nudges: each line says which one.
    case "nudge.acknowledged":
      return line("nudge", `acknowledged by the agent: ${nudge(typed.data)}`, "yellow");
    case "nudge.expired":
      return line("nudge", `expired before the agent read it: ${nudge(typed.data)}`, "yellow");
    case "cancel.requested":
      return line("cancel", typed.data.by ? `requested by ${typed.data.by}` : "requested", "yellow");
    case "approval.requested": {
      const asked = v.safeParse(eventData["approval.requested"], typed.data);
      if (!asked.success) return unread("requested");
      const { action, detail, expiresAt } = asked.output;
      const until = timeUntil(expiresAt, now);
      return line(
        "approval",
        `asks: ${paint("bold", clip(detail, 200))} (${action}), ` +
          (until ? `expires ${until}` : `expired at ${clock(expiresAt)}`),
        "magenta",
      );
    }
    case "approval.decided": {
      const decided = v.safeParse(eventData["approval.decided"], typed.data);
      if (!decided.success) return unread("decided");
      const { decision, by, comment } = decided.output;
      const words = decidedBy(decision, by, comment && clip(comment, 200));
      return line("approval", paint(decision === "approve" ? "green" : "red", words), "magenta");
    }
    default:
      // A newer server may send types this CLI does not know yet: show them rather than drop them.
      return line(String((typed as { type: unknown }).type), clip(compact(event.data), 120), "gray");
  }
}

/** A task in full, for `status`. */
export function formatTask(task: TaskWire, paint: Paint): string {
  const target = [task.prNumber && `PR #${task.prNumber}`, task.issueNumber && `issue #${task.issueNumber}`]
    .filter(Boolean)
    .join(", ");
  const options = Object.entries(task.options ?? {});
  const rows: [string, string | undefined][] = [
    [
      "status",
      `${status(task.status, paint)}${task.queuePosition ? ` (position ${task.queuePosition} in queue)` : ""}`,
    ],
    ["repo", target ? `${task.repo} (${target})` : task.repo],
    ["task", task.description],
    ["turns", `${task.turns} of ${task.maxTurns} max`],
    ["cost", `${usd(task.costUsd)} of ${usd(task.maxBudgetUsd)} budget`],
    ["options", options.length ? options.map(([k, v]) => `${k}=${v}`).join(" ") : undefined],
    ["approval", gates(task)],
    ["source", task.source],
    ["created", when(task.createdAt)],
    ["finished", task.finishedAt && when(task.finishedAt)],
    ["result", task.result?.summary],
    ["PR", task.result?.prUrl && paint(["cyan", "underline"], task.result.prUrl)],
    ["error", task.error && paint("red", `${task.error.code}: ${task.error.message}`)],
  ];
  const body = rows
    .filter((row): row is [string, string] => Boolean(row[1]))
    .map(([key, value]) => `${paint("gray", key.padEnd(9))}${value.split("\n").join(`\n${" ".repeat(9)}`)}`);
  return [paint("bold", task.taskId), ...body].join("\n");
}

/**
 * The task's approval setting when it is not the default (ask, 300 s), so the usual task's
 * status stays short: "all, allow force-push, 600s to answer".
 */
function gates(task: TaskWire): string | undefined {
  const parsed = v.safeParse(ApprovalsShown, (task as { approvals?: unknown }).approvals);
  if (!parsed.success) return undefined;
  const { mode, allow, timeoutS } = parsed.output;
  if (mode === "ask" && !allow?.length && (timeoutS ?? DEFAULT_TIMEOUT_S) === DEFAULT_TIMEOUT_S)
    return undefined;
  return [mode, allow?.length && `allow ${allow.join(", ")}`, timeoutS && `${timeoutS}s to answer`]
    .filter(Boolean)
    .join(", ");
}

const ApprovalsShown = v.object({
  mode: v.string(),
  allow: v.nullish(v.array(v.string())),
  timeoutS: v.nullish(v.number()),
});

/** Tasks as a table, for `list`. */
export function formatTaskTable(tasks: TaskWire[], paint: Paint): string {
  if (tasks.length === 0) return paint("gray", "No tasks.");
  const repoWidth = Math.max(4, ...tasks.map((task) => task.repo.length));
  const header = paint(
    "gray",
    `${"TASK".padEnd(26)}  ${"STATUS".padEnd(17)}  ${"REPO".padEnd(repoWidth)}  CREATED           DESCRIPTION`,
  );
  const rows = tasks.map((task) =>
    [
      task.taskId,
      // Pad before painting: escape codes would count as width.
      status(task.status, paint) + " ".repeat(17 - task.status.length),
      task.repo.padEnd(repoWidth),
      when(task.createdAt),
      clip(task.description, 60),
    ].join("  "),
  );
  return [header, ...rows].join("\n");
}

/** The first line a person sees after submitting; a replayed Idempotency-Key found an earlier task. */
export function formatSubmitted(task: TaskWire, replayed: boolean, paint: Paint): string {
  const what = replayed ? "Already submitted with this Idempotency-Key:" : "Submitted";
  const where = `${what} ${paint("bold", task.taskId)} to ${task.repo}`;
  // Fresh, it waits for an agent (SUBMITTED) or for a free slot (QUEUED); replayed, it may be anywhere.
  if (task.status === "QUEUED") return `${where}; ${queued(task.queuePosition)}.`;
  if (replayed) return `${where}; it is ${status(task.status, paint)}.`;
  return `${where}.`;
}

/** Over the user's concurrency limit, the task waits for a slot in line. */
const queued = (position: number | undefined) => `queued at position ${position ?? "?"}`;

/** How a followed task ended. */
export function formatOutcome(task: TaskWire, paint: Paint): string {
  const spent = `${task.turns} turn${task.turns === 1 ? "" : "s"}, ${usd(task.costUsd)}`;
  const error = task.error ? `: ${task.error.code}: ${task.error.message}` : "";
  switch (task.status) {
    case "COMPLETED":
      return [
        `${paint("green", "✔ Completed")} (${spent})`,
        task.result?.summary && `  ${task.result.summary.split("\n").join("\n  ")}`,
        task.result?.prUrl && `  PR: ${paint(["cyan", "underline"], task.result.prUrl)}`,
      ]
        .filter(Boolean)
        .join("\n");
    case "FAILED":
      return `${paint("red", "✖ Failed")}${error} (${spent})`;
    case "TIMED_OUT":
      return `${paint("red", "✖ Timed out")}${error} (${spent})`;
    case "CANCELLED":
      return `${paint("yellow", "✖ Cancelled")} (${spent})`;
    default:
      return `Task is ${status(task.status, paint)}`;
  }
}

/** One line, at most `max` characters. */
export function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

const compact = (value: unknown) => (typeof value === "string" ? value : (JSON.stringify(value) ?? ""));
/**
 * Dollars the way the GitHub status comment writes them: four decimals under $1, where a
 * turn costs a fraction of a cent, else two. Every amount the CLI prints goes through here.
 */
const usd = (amount: number) => `$${amount.toFixed(amount > 0 && amount < 1 ? 4 : 2)}`;
/** Which nudge: its message (a preview), else its id. */
const nudge = (data: { nudgeId: string; message?: string }) =>
  data.message ? clip(data.message, 120) : data.nudgeId;
const count = (n: number) => n.toLocaleString("en-US");
/** Local wall-clock time of an ISO instant. */
const clock = (iso: string) => new Date(iso).toTimeString().slice(0, 8);
const when = (iso: string) => {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
};

/** Approvals as a table, for `approvals`. */
export function formatApprovalTable(approvals: ApprovalWire[], paint: Paint, now = Date.now()): string {
  const actionWidth = Math.max(6, ...approvals.map((approval) => approval.action.length));
  const header = paint(
    "gray",
    `${"TASK".padEnd(26)}  ${"APPROVAL".padEnd(26)}  ${"ACTION".padEnd(actionWidth)}  ${"STATUS".padEnd(8)}  ${"WHEN".padEnd(16)}  DETAIL`,
  );
  const rows = approvals.map((approval) => {
    const style =
      approval.status === "pending" ? "magenta" : approval.status === "approved" ? "green" : "red";
    return [
      approval.taskId.padEnd(26),
      approval.approvalId.padEnd(26),
      approval.action.padEnd(actionWidth),
      // Pad before painting: escape codes would count as width.
      paint(style, approval.status) + " ".repeat(Math.max(0, 8 - approval.status.length)),
      approvalWhen(approval, now).padEnd(16),
      approval.status === "pending"
        ? clip(approval.detail, 80)
        : `${clip(approval.detail, 60)} ${paint("gray", `(${settledInWords(approval)})`)}`,
    ].join("  ");
  });
  return [header, ...rows].join("\n");
}

/** A pending approval's time left, or how long ago one was decided. */
function approvalWhen(approval: ApprovalWire, now: number): string {
  if (approval.status === "pending") {
    const until = timeUntil(approval.expiresAt, now);
    return until ? `expires ${until}` : "expiring";
  }
  const at = Date.parse(approval.decidedAt ?? approval.createdAt);
  return Number.isFinite(at) ? `${span(Math.max(0, now - at))} ago` : "";
}
