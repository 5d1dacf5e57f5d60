import type { ApprovalWire, EventWire, TaskWire } from "@conveyor/client/api";
import { describe, expect, it } from "vitest";
import { FakeApi } from "./fake-api.ts";
import {
  clip,
  formatApprovalTable,
  formatEvent,
  formatOutcome,
  formatSubmitted,
  formatTask,
  formatTaskTable,
  painter,
} from "./format.ts";

const plain = painter(false, {});
const TASK_ID = FakeApi.id(Date.parse("2024-05-01T12:00:00Z"), 1);

const event = (type: EventWire["type"], data: EventWire["data"]): EventWire => ({
  taskId: TASK_ID,
  eventId: FakeApi.id(Date.parse("2024-05-01T12:00:05Z"), 2),
  type,
  at: "2024-05-01T12:00:05.000Z",
  data,
});

function task(overrides: Partial<TaskWire> = {}): TaskWire {
  const fake = new FakeApi();
  return fake.addTask({ taskId: TASK_ID, ...overrides });
}

describe("painter", () => {
  it("colors only for a terminal without NO_COLOR", () => {
    expect(painter(true, {})("red", "x")).toBe("\x1b[31mx\x1b[39m");
    expect(painter(false, {})("red", "x")).toBe("x");
    expect(painter(true, { NO_COLOR: "1" })("red", "x")).toBe("x");
  });
});

describe("formatEvent", () => {
  it.each([
    [
      "task.submitted",
      event("task.submitted", { status: "QUEUED", queuePosition: 3 }),
      /submitted +queued at position 3$/,
    ],
    [
      "task.status",
      event("task.status", { from: "STARTING", to: "RUNNING", reason: "agent_started" }),
      /status +STARTING → RUNNING \(agent_started\)$/,
    ],
    ["agent.turn", event("agent.turn", { turn: 2, text: "Reading the tests" }), /turn 2 +Reading the tests$/],
    [
      "agent.tool_call",
      event("agent.tool_call", { toolCallId: "c1", name: "bash", input: { cmd: "ls" } }),
      /tool +bash \{"cmd":"ls"\}$/,
    ],
    [
      "agent.tool_result",
      event("agent.tool_result", { toolCallId: "c1", isError: true, output: "no such file" }),
      /✗ no such file$/,
    ],
    [
      "agent.milestone",
      event("agent.milestone", {
        name: "PR opened",
        detail: "#42",
        url: "https://github.com/acme/app/pull/42",
      }),
      /milestone +PR opened — #42 https:\/\/github\.com\/acme\/app\/pull\/42$/,
    ],
    [
      "agent.cost",
      event("agent.cost", { costUsd: 0.0123, inputTokens: 12000, outputTokens: 345 }),
      /cost +\$0\.0123 · 12,000 in \/ 345 out tokens$/,
    ],
    [
      "agent.error",
      event("agent.error", { message: "rate limited", fatal: true }),
      /error +rate limited \(fatal\)$/,
    ],
    [
      "nudge.received",
      event("nudge.received", { nudgeId: "n1", message: "use pnpm" }),
      /nudge +received: use pnpm$/,
    ],
    ["cancel.requested", event("cancel.requested", {}), /cancel +requested$/],
    ["task.submitted", event("task.submitted", { status: "SUBMITTED" }), /submitted +waiting for an agent$/],
    [
      "nudge.acknowledged",
      event("nudge.acknowledged", { nudgeId: "n1", message: "use pnpm" }),
      /nudge +acknowledged by the agent: use pnpm$/,
    ],
    [
      "nudge.expired",
      event("nudge.expired", { nudgeId: "n2" }),
      /nudge +expired before the agent read it: n2$/,
    ],
  ] as const)("shows %s", (_, input, expected) => {
    expect(formatEvent(input, plain)).toMatch(expected);
  });

  it("starts with the event's local time", () => {
    const local = new Date("2024-05-01T12:00:05.000Z").toTimeString().slice(0, 8);

    expect(formatEvent(event("cancel.requested", {}), plain).startsWith(`${local}  `)).toBe(true);
  });

  it("indents the following lines of a multi-line turn under its text", () => {
    const [first, second] = formatEvent(event("agent.turn", { turn: 1, text: "one\ntwo" }), plain).split(
      "\n",
    );

    expect(second).toBe(`${" ".repeat(first!.indexOf("one"))}two`);
  });

  it("shows an event type it does not know rather than dropping it", () => {
    const future = { ...event("cancel.requested", { x: 1 }), type: "agent.thought" } as unknown as EventWire;

    expect(formatEvent(future, plain)).toMatch(/agent\.thought \{"x":1\}$/);
  });
});

describe("formatOutcome", () => {
  it("shows the summary and PR of a completed task", () => {
    const text = formatOutcome(
      task({
        status: "COMPLETED",
        turns: 3,
        costUsd: 1.5,
        result: { summary: "Fixed it", prUrl: "https://x/pr/1" },
      }),
      plain,
    );

    expect(text).toBe("✔ Completed (3 turns, $1.50)\n  Fixed it\n  PR: https://x/pr/1");
  });

  it("shows the error code and message of a failed task", () => {
    const text = formatOutcome(
      task({ status: "FAILED", error: { code: "max_turns", message: "Ran out of turns" } }),
      plain,
    );

    expect(text).toBe("✖ Failed: max_turns: Ran out of turns (0 turns, $0.00)");
  });
});

describe("approval events", () => {
  const now = Date.parse("2024-05-01T12:00:10Z");
  const requested = event("approval.requested", {
    approvalId: "01A",
    action: "force-push",
    detail: "git push --force origin main",
    expiresAt: "2024-05-01T12:05:10.000Z",
  });

  it("says what is asked, why, and when it expires", () => {
    expect(formatEvent(requested, plain, now)).toMatch(
      /approval +asks: git push --force origin main \(force-push\), expires in 5m$/,
    );
    expect(formatEvent(requested, plain, Date.parse("2024-05-01T12:06:00Z"))).toMatch(
      /, expired at \d\d:\d\d:\d\d$/,
    );
  });

  it.each([
    [{ decision: "approve", by: "user_1", comment: "ship it" }, /approval +approved by user_1 — ship it$/],
    [{ decision: "deny", by: "timeout" }, /approval +denied by timeout$/],
    [{ decision: "approve", by: "policy" }, /approval +approved by policy$/],
  ])("says who decided %j", (data, line) => {
    expect(formatEvent(event("approval.decided", { approvalId: "01A", ...data }), plain)).toMatch(line);
  });

  it("shows data it cannot read as it came", () => {
    expect(formatEvent(event("approval.decided", { approvalId: "01A" }), plain)).toMatch(
      /approval +decided {"approvalId":"01A"}$/,
    );
  });
});

describe("formatApprovalTable", () => {
  const now = Date.parse("2024-05-01T12:10:00Z");
  const approval = (overrides: Partial<ApprovalWire>): ApprovalWire => ({
    approvalId: "01APPROVAL0000000000000001",
    taskId: TASK_ID,
    action: "network",
    detail: "curl https://example.com",
    status: "pending",
    createdAt: "2024-05-01T12:08:00.000Z",
    expiresAt: "2024-05-01T12:13:00.000Z",
    ...overrides,
  });

  it("lines up pending and decided approvals with their expiry or age", () => {
    const lines = formatApprovalTable(
      [
        approval({}),
        approval({
          action: "force-push",
          status: "approved",
          decision: "approve",
          by: "user_1",
          decidedAt: "2024-05-01T12:07:00.000Z",
        }),
      ],
      plain,
      now,
    ).split("\n");

    expect(lines[1]).toMatch(/network +pending +expires in 3m +curl https:\/\/example\.com$/);
    expect(lines[2]).toMatch(
      /force-push +approved +3m ago +curl https:\/\/example\.com \(approved by user_1\)$/,
    );
    expect(lines[0]!.indexOf("DETAIL")).toBe(lines[1]!.indexOf("curl"));
    expect(lines[1]!.indexOf("curl")).toBe(lines[2]!.indexOf("curl"));
  });
});

describe("formatTask", () => {
  it("shows what a person asks about a task and leaves out what is empty", () => {
    const text = formatTask(
      task({ status: "QUEUED", queuePosition: 2, prNumber: 12, options: { turns: 3 } }),
      plain,
    );

    expect(text).toContain("status   QUEUED (position 2 in queue)");
    expect(text).toContain("repo     acme/app (PR #12)");
    expect(text).toContain("options  turns=3");
    expect(text).toContain("turns    0 of 100 max");
    expect(text).not.toContain("error");
    expect(text).not.toContain("finished");
  });

  it("shows the task's approval setting when the API serves one", () => {
    const gated = {
      ...task(),
      approvals: { mode: "all" as const, allow: ["network" as const], timeoutS: 600 },
    };

    expect(formatTask(gated, plain)).toContain("approval all, allow network, 600s to answer");
    // The default (ask, 300 s) is not worth a line.
    expect(formatTask(task(), plain)).not.toContain("approval");
  });
});

describe("formatTaskTable", () => {
  it("lines columns up whatever the status", () => {
    const lines = formatTaskTable(
      [task({ status: "RUNNING" }), task({ status: "AWAITING_APPROVAL" })],
      plain,
    ).split("\n");

    expect(lines[1]!.indexOf("acme/app")).toBe(lines[2]!.indexOf("acme/app"));
    expect(lines[0]!.indexOf("REPO")).toBe(lines[1]!.indexOf("acme/app"));
  });

  it("says so when there are no tasks", () => {
    expect(formatTaskTable([], plain)).toBe("No tasks.");
  });
});

describe("formatSubmitted", () => {
  it("gives a queued task's place", () => {
    expect(formatSubmitted(task({ status: "QUEUED", queuePosition: 4 }), false, plain)).toBe(
      `Submitted ${TASK_ID} to acme/app; queued at position 4.`,
    );
  });

  it("says when an Idempotency-Key found the earlier task", () => {
    expect(formatSubmitted(task({ status: "RUNNING" }), true, plain)).toBe(
      `Already submitted with this Idempotency-Key: ${TASK_ID} to acme/app; it is RUNNING.`,
    );
  });

  it("says it was submitted once, without repeating the status", () => {
    expect(formatSubmitted(task({ status: "SUBMITTED" }), false, plain)).toBe(
      `Submitted ${TASK_ID} to acme/app.`,
    );
  });
});

describe("amounts", () => {
  it.each([
    [0.42, "$0.4200"],
    [1.5, "$1.50"],
    [0.0132, "$0.0132"],
    [0.009, "$0.0090"],
    [0, "$0.00"],
    [12.3456, "$12.35"],
  ])("shows %d as %s", (costUsd, shown) => {
    expect(formatOutcome(task({ status: "CANCELLED", costUsd }), plain)).toContain(`(0 turns, ${shown})`);
  });

  it("writes every amount one way: a turn's cost, a task's spend and its budget", () => {
    const cost = formatEvent(event("agent.cost", { costUsd: 0.009, inputTokens: 1, outputTokens: 1 }), plain);
    const status = formatTask(task({ costUsd: 0.0084, maxBudgetUsd: 10 }), plain);

    expect(cost).toContain("$0.0090 ·");
    expect(status).toContain("cost     $0.0084 of $10.00 budget");
  });
});

describe("clip", () => {
  it("keeps one line and marks what it cut", () => {
    expect(clip("a\n  b", 10)).toBe("a b");
    expect(clip("abcdefghij", 5)).toBe("abcd…");
  });
});
