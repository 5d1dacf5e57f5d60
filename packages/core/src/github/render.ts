import { createHash } from "node:crypto";
import * as v from "valibot";
import { type EventType, eventData, type TaskEvent } from "../event/index.ts";
import type { Task } from "../task/index.ts";
import { isTerminalStatus } from "../task/status.ts";
import { cap, inline, link, quote, safeUrl } from "./markdown.ts";

/** GitHub refuses bodies over 65,536 characters; we stay well under, whatever counts as a character there. */
export const MAX_BODY = 60_000;
const MILESTONES = 5;
const NUDGES = 10;

/** The hidden line that finds a task's comment again when its id is lost (the sticky-comment pattern). */
export const marker = (taskId: string) => `<!-- conveyor:task=${taskId} -->`;

/** What the comment shows, gathered from the task snapshot and its recent events. */
export interface StatusView {
  taskId: string;
  status: Task.Info["status"];
  reason?: string;
  repo: string;
  on?: { kind: "pull request" | "issue"; number: number };
  description: string;
  step?: string;
  turns: number;
  maxTurns: number;
  costUsd: number;
  maxBudgetUsd: number;
  milestones: { name: string; detail?: string; url?: string }[];
  nudges: { nudgeId: string; message?: string }[];
  approval?: { approvalId: string; action: string; detail: string; expiresAt: string };
  prUrl?: string;
  summary?: string;
  error?: { code: string; message: string };
}

/** Event data checked against its type's schema; undefined for anything malformed. */
function dataOf<T extends EventType>(
  event: TaskEvent.Info,
  type: T,
): v.InferOutput<(typeof eventData)[T]> | undefined {
  if (event.type !== type) return undefined;
  const parsed = v.safeParse(eventData[type], event.data);
  return parsed.success ? parsed.output : undefined;
}

/** What the comment shows that lives outside the task item and its events. */
export interface StatusExtras {
  /** The task's pending nudges (from the Nudges table); without them, those the events name. */
  pendingNudges?: readonly { nudgeId: string; message?: string }[];
}

/** Gathers the view; events may come in any order and twice (they are sorted and deduplicated here). */
export function view(
  task: Task.Info,
  recentEvents: readonly TaskEvent.Info[],
  extras: StatusExtras = {},
): StatusView {
  const events = [...new Map(recentEvents.map((e) => [e.eventId, e])).values()].sort((a, b) =>
    a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0,
  );
  const terminal = isTerminalStatus(task.status);
  const milestones: StatusView["milestones"] = [];
  const nudges = new Map<string, { nudgeId: string; message?: string }>();
  let step: string | undefined;
  let reason: string | undefined;
  let approval: StatusView["approval"];
  for (const event of events) {
    const status = dataOf(event, "task.status");
    if (status && status.to === task.status) reason = status.reason;
    const turn = dataOf(event, "agent.turn");
    if (turn) step = `Turn ${turn.turn}: ${turn.text}`;
    const call = dataOf(event, "agent.tool_call");
    if (call) step = `Calling ${call.name}`;
    const milestone = dataOf(event, "agent.milestone");
    if (milestone) {
      milestones.push(milestone);
      step = milestone.name;
    }
    const error = dataOf(event, "agent.error");
    if (error) step = `Error: ${error.message}`;
    const received = dataOf(event, "nudge.received");
    if (received) nudges.set(received.nudgeId, received);
    const done = dataOf(event, "nudge.acknowledged") ?? dataOf(event, "nudge.expired");
    if (done) nudges.delete(done.nudgeId);
    const asked = dataOf(event, "approval.requested");
    if (asked) approval = asked;
    const decided = dataOf(event, "approval.decided");
    if (decided && decided.approvalId === approval?.approvalId) approval = undefined;
  }
  // The PR the agent opened: its result, else the latest milestone that links to a pull request.
  const prUrl =
    safeUrl(task.result?.prUrl) !== undefined
      ? task.result?.prUrl
      : milestones
          .map((m) => m.url)
          .reverse()
          .find((url) => safeUrl(url) && /\/pull\/\d+/.test(url ?? ""));
  const number = task.prNumber ?? task.issueNumber;
  return {
    taskId: task.taskId,
    status: task.status,
    reason:
      reason ?? task.error?.code ?? (task.cancelRequestedAt && !terminal ? "cancel requested" : undefined),
    repo: task.repo,
    on:
      number === undefined
        ? undefined
        : { kind: task.prNumber !== undefined ? "pull request" : "issue", number: number },
    description: task.description,
    step: terminal ? undefined : step,
    turns: task.turns,
    maxTurns: task.maxTurns,
    costUsd: task.costUsd,
    maxBudgetUsd: task.maxBudgetUsd,
    milestones: milestones.slice(-MILESTONES),
    nudges: terminal
      ? []
      : [...(extras.pendingNudges ?? nudges.values())]
          .slice(-NUDGES)
          .map((n) => ({ nudgeId: n.nudgeId, message: n.message })),
    approval: terminal ? undefined : approval,
    prUrl,
    summary: task.result?.summary,
    error: task.error,
  };
}

const money = (usd: number) => `$${Number(usd).toFixed(usd > 0 && usd < 1 ? 4 : 2)}`;

/** The Markdown of a view: the marker first, every outside string inert, the whole under MAX_BODY. */
export function markdown(view: StatusView): string {
  const id = view.taskId;
  const terminal = isTerminalStatus(view.status);
  const rows: [string, string][] = [
    ["Status", `**${view.status}**${view.reason ? ` (${inline(view.reason, 60)})` : ""}`],
    ["Working on", `${inline(view.repo, 140)}${view.on ? `, ${view.on.kind} ${view.on.number}` : ""}`],
  ];
  if (view.step) rows.push(["Current step", inline(view.step, 200)]);
  rows.push(["Turns", `${view.turns} of ${view.maxTurns} max`]);
  rows.push(["Cost", `${money(view.costUsd)} of ${money(view.maxBudgetUsd)} budget`]);
  if (view.prUrl) rows.push(["Pull request opened", link(cap(view.prUrl, 120), view.prUrl)]);

  const head = [
    marker(id),
    `**Conveyor** task \`${id}\``,
    "",
    `| ${rows[0]![0]} | ${rows[0]![1]} |`,
    "| --- | --- |",
    ...rows.slice(1).map(([k, val]) => `| ${k} | ${val} |`),
    "",
    "**Task**",
    "",
    quote(view.description, { maxLines: 6, maxChars: 600 }),
  ];
  const sections: string[][] = [];
  if (view.approval) {
    // The ids are ULIDs (checked before they reach a code span); everything else is escaped text.
    const ids = [id, view.approval.approvalId].every((x) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(x));
    sections.push([
      `**Approval requested** (${inline(view.approval.action, 40)}): ${inline(view.approval.detail, 500)}`,
      "",
      `Waiting until ${inline(view.approval.expiresAt, 40)}; unanswered, it is denied.`,
      ...(ids
        ? [
            "",
            `Answer with \`conveyor approve ${id} ${view.approval.approvalId}\` or \`conveyor deny ${id} ${view.approval.approvalId}\`.`,
          ]
        : []),
    ]);
  }
  if (view.error) {
    // No code span: inside one, the escapes that keep it inert would show as written.
    sections.push([`**Error** (${inline(view.error.code, 60)}): ${inline(view.error.message, 1_000)}`]);
  }
  if (view.summary) sections.push([`**Result:** ${inline(view.summary, 1_500)}`]);
  if (view.milestones.length > 0) {
    sections.push([
      "**Milestones**",
      "",
      ...view.milestones.map(
        (m) => `- ${link(m.name, m.url, 120)}${m.detail ? `: ${inline(m.detail, 300)}` : ""}`,
      ),
    ]);
  }
  if (view.nudges.length > 0) {
    sections.push([
      "**Pending nudges**",
      "",
      ...view.nudges.map((n) => `- ${n.message ? inline(n.message, 300) : `nudge ${inline(n.nudgeId, 40)}`}`),
    ]);
  }
  const foot = terminal
    ? ["<sub>Conveyor kept this comment up to date while the task ran.</sub>"]
    : [
        `<sub>Steer it from the CLI: \`pnpm conveyor nudge ${id} "…"\` · \`pnpm conveyor cancel ${id}\` · \`pnpm conveyor watch ${id}\`. Conveyor edits this comment in place as the task runs.</sub>`,
      ];
  return assemble(head, sections, foot);
}

const NOTE = (id: string) =>
  `_This comment was cut to stay under GitHub's 65,536-character limit; \`pnpm conveyor events ${id}\` has everything._`;

/** Joins the parts; while too long, drops list items from the oldest, then cuts at a line with a visible note. */
function assemble(head: string[], sections: string[][], foot: string[]): string {
  const join = (parts: string[][]) => parts.map((p) => p.join("\n")).join("\n\n");
  let body = join([head, ...sections, foot]);
  if (body.length <= MAX_BODY) return body;
  const id = /task=([^ ]+) -->/.exec(head[0]!)?.[1] ?? "";
  const trimmed = sections.map((s) => [...s]);
  for (const section of trimmed) {
    while (section.length > 3 && join([head, ...trimmed, foot, [NOTE(id)]]).length > MAX_BODY)
      section.splice(2, 1);
  }
  body = join([head, ...trimmed, [NOTE(id)], foot]);
  if (body.length <= MAX_BODY) return body;
  const tail = `\n\n${NOTE(id)}\n\n${foot.join("\n")}`;
  const room = MAX_BODY - tail.length;
  // Cut at a line end so no escape or entity is left half written.
  const cut = body.lastIndexOf("\n", room);
  return `${body.slice(0, cut > 0 ? cut : room)}${tail}`;
}

/** What the comment would say, rendered; pure. */
export function render(
  task: Task.Info,
  recentEvents: readonly TaskEvent.Info[],
  extras: StatusExtras = {},
): string {
  return markdown(view(task, recentEvents, extras));
}

/** Fingerprints of a render: of the whole body, and of what matters beyond turns, cost and the current step. */
export function fingerprint(v: StatusView, body: string) {
  const { step: _step, turns: _turns, costUsd: _cost, ...significant } = v;
  const sha = (s: string) => createHash("sha256").update(s).digest("base64url").slice(0, 22);
  return { body: sha(body), significant: sha(JSON.stringify(significant)) };
}
