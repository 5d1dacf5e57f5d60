import { APPROVAL_RULES, APPROVAL_TIMEOUT_S } from "./approval.ts";
import type { Command } from "./args.ts";

/** How the CLI is called from the repository's root; every command it suggests starts so. */
export const CONVEYOR = "pnpm conveyor";

const GLOBAL = `Global flags:
  --api-url URL        API to talk to (env CONVEYOR_API_URL, else .conveyor/local.json)
  --token TOKEN        bearer token (env CONVEYOR_TOKEN, else .conveyor/local.json)
  --ws-url URL         WebSocket API for live events (env CONVEYOR_WS_URL, else
                       .conveyor/local.json when the API URL comes from there too)
  --output text|json   json: machine-readable stdout, messages on stderr
  -h, --help           show help
  --version            print the CLI's version`;

const SUBMIT_FLAGS = `  --repo owner/name    repository to work on (required)
  --pr N               pull request to work on
  --issue N            issue to work on
  --max-turns N        stop after N agent turns (server default 100)
  --budget USD         stop after spending this much (server default 10)
  --option k=v         agent setting; numbers and true/false are typed; repeatable
  --brain NAME         the agent: scripted, or claude (a real coding agent)
  --idempotency-key K  submitting again with K returns the same task
  --approvals MODE     when the agent stops to ask before acting: ask (default: before
                       risky actions), all (before any tool use), auto (never; for CI)
  --allow RULE         let this kind of action through without asking; repeatable
                       or comma-separated: ${APPROVAL_RULES.slice(0, 3).join(", ")},
                       ${APPROVAL_RULES.slice(3).join(", ")}
  --approval-timeout S seconds an approval waits for an answer before it is denied
                       (${APPROVAL_TIMEOUT_S.min}..${APPROVAL_TIMEOUT_S.max}, server default 300)`;

const FOLLOW_FLAGS = `  --poll, --no-ws      follow by polling the HTTP API instead of the WebSocket`;

const FOLLOWING = `Events arrive live over the WebSocket when a WebSocket URL is known; without
one, or when the socket cannot be opened, they are polled over HTTP instead.

When the agent asks for approval, a terminal asks inline: "Allow \`<detail>\`? [y/N]"
(y approves; Enter or anything else denies; Ctrl-D leaves it to someone else) and
following goes on. Without a terminal, or with --output json, it prints the
approve and deny commands that answer it.`;

const TOPICS: Record<Command, string> = {
  run: `Usage: ${CONVEYOR} run "<description>" --repo owner/name [flags]

Submits a task and follows it, printing the agent's turns, tool calls, milestones,
costs and status changes. Exits 0 when the task completes, 1 otherwise, 130 on
Ctrl-C (the task keeps running on the server).

${FOLLOWING}

${SUBMIT_FLAGS}
${FOLLOW_FLAGS}`,
  submit: `Usage: ${CONVEYOR} submit "<description>" --repo owner/name [flags]

Submits a task and prints it without following.

${SUBMIT_FLAGS}`,
  status: `Usage: ${CONVEYOR} status <taskId> [--comment]

Prints a task: status, progress, cost, result or error.

  --comment            print the task's GitHub status comment as the local stack
                       rendered it (tasks on a PR or issue, no GITHUB_TOKEN)`,
  events: `Usage: ${CONVEYOR} events <taskId> [--after EVENT_ID] [--limit N] [--all]

Prints one page of a task's events, oldest first.

  --after EVENT_ID     only events after this one
  --limit N            page size, 1..100 (default 50)
  --all                page through to the latest event`,
  list: `Usage: ${CONVEYOR} list [--status S] [--limit N] [--cursor C]

Lists your tasks, newest first.

  --status S           only tasks in this status (e.g. running, completed)
  --limit N            page size, 1..100 (default 20)
  --cursor C           the next page, as printed after the previous one`,
  nudge: `Usage: ${CONVEYOR} nudge <taskId> "<message>" [--interrupt]

Steers a running agent: the message (1..2000 characters) is taken at its next turn
and shows in that turn. With --interrupt the agent cuts its current turn short to take
it now. A task takes at most 10 nudges a minute, 20 waiting at once;
nudges still waiting when the task ends expire, each with an event.

  --interrupt          interrupt the turn in flight instead of waiting for its end`,
  cancel: `Usage: ${CONVEYOR} cancel <taskId>

Cancels a task. One that has not started is cancelled at once and never runs; a
running agent stops at its next turn (and is stopped for it after a grace period).
Cancelling again is harmless: it says the task is already CANCELLED and exits 0.
A task that ended otherwise (completed, failed, timed out) is left as it was; that
exits 1.`,
  approvals: `Usage: ${CONVEYOR} approvals [--pending] [--task <taskId>] [--cursor C]

Lists approvals the agents of your tasks asked for: task, approval id, action,
status, expiry or age, and the exact command or tool use asked about. Newest first
across tasks (50 a page), or oldest first for one task with --task.

  --pending            only those still waiting for an answer
  --task ID            only this task's approvals
  --cursor C           the next page, as printed after the previous one`,
  approve: `Usage: ${CONVEYOR} approve <taskId> [approvalId] [--comment "<text>"]

Lets the agent go ahead with what it asked about. Without an approval id, the task's
only pending approval is answered; with none or several pending it lists them and
says what to type. An approval answered already (or expired) is said with by whom
and how; the same answer given again exits 0, a different one exits 1.

  --comment TEXT       a note kept with the decision (at most 2000 characters)`,
  deny: `Usage: ${CONVEYOR} deny <taskId> [approvalId] [--comment "<text>"]

Tells the agent no: it goes on without doing what it asked about. Without an
approval id, the task's only pending approval is answered, as with approve. An
approval that expires unanswered is denied by timeout.

  --comment TEXT       a note kept with the decision, e.g. what to do instead`,
  watch: `Usage: ${CONVEYOR} watch <taskId> [--poll]

Follows an existing task until it ends, like run. Ctrl-C stops watching only.

${FOLLOWING}

${FOLLOW_FLAGS}`,
};

/** The help for one command, or the overview. */
export function usage(topic?: Command): string {
  if (topic) return `${TOPICS[topic]}\n\n${GLOBAL}\n`;
  return `conveyor: submit and follow background agent tasks

Usage: ${CONVEYOR} <command> [flags]

Commands:
  run "<description>" --repo owner/name   submit a task and follow it to the end
  submit "<description>" --repo o/n       submit a task, print it, return
  status <taskId>                         show a task
  events <taskId>                         show a task's events
  list                                    list your tasks
  watch <taskId>                          follow a task to the end
  nudge <taskId> "<message>"              steer a running agent (--interrupt: now)
  cancel <taskId>                         cancel a task
  approvals [--pending]                   list what agents asked to be approved
  approve <taskId> [approvalId]           let an agent go ahead
  deny <taskId> [approvalId]              tell an agent no

${GLOBAL}

Run \`${CONVEYOR} <command> --help\` for a command's flags.
`;
}
