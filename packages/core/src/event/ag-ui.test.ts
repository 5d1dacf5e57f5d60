import { EventSchemas } from "@ag-ui/core/schemas";
import { describe, expect, it } from "vitest";
import { newId } from "../util/ulid.ts";
import { toAgUi } from "./ag-ui.ts";
import { sequenceProblems } from "./ag-ui-sequence.ts";
import { type EventData, type EventInfo, type EventType, eventData } from "./schema.ts";

const taskId = "01M80A6R8REXYA6GNV4VJ8FN8P";
let clock = Date.parse("2026-12-01T10:00:00Z");
const event = <T extends EventType>(type: T, data: EventData<T>): EventInfo => {
  clock += 1000;
  return { taskId, eventId: newId(clock), type, at: new Date(clock).toISOString(), data };
};

/** One of every event type, in the order a run with a nudge and an approval makes them. */
const run = () => [
  event("task.submitted", { status: "QUEUED", queuePosition: 1 }),
  event("task.status", { from: "QUEUED", to: "SUBMITTED" }),
  event("task.status", { from: "SUBMITTED", to: "STARTING" }),
  event("task.status", { from: "STARTING", to: "RUNNING" }),
  event("agent.turn", { turn: 1, text: "Reading the failing test." }),
  event("agent.tool_call", { toolCallId: "tc1", name: "Bash", input: { command: "pnpm test" } }),
  event("agent.tool_result", { toolCallId: "tc1", isError: false, output: "1 failed" }),
  event("nudge.received", { nudgeId: "n1", message: "use vitest" }),
  event("nudge.acknowledged", { nudgeId: "n1" }),
  event("nudge.expired", { nudgeId: "n2" }),
  event("approval.requested", { approvalId: "a1", action: "git push", detail: "main", expiresAt: "x" }),
  event("task.status", { from: "RUNNING", to: "AWAITING_APPROVAL" }),
  event("approval.decided", { approvalId: "a1", decision: "approve", by: "dev" }),
  event("task.status", { from: "AWAITING_APPROVAL", to: "RUNNING" }),
  event("agent.milestone", { name: "pr.opened", url: "https://github.com/acme/api/pull/7" }),
  event("agent.turn", { turn: 2, text: "" }),
  event("agent.error", { message: "retrying", fatal: false }),
  event("cancel.requested", { by: "dev" }),
  event("agent.cost", { costUsd: 0.12, inputTokens: 1000, outputTokens: 200 }),
  event("task.status", { from: "RUNNING", to: "COMPLETED", prUrl: "https://github.com/acme/api/pull/7" }),
];

describe("Conveyor events as AG-UI events", () => {
  it("is checked by schemas that refuse a malformed event", () => {
    expect(EventSchemas.safeParse({ type: "TEXT_MESSAGE_START" }).success).toBe(false);
    expect(EventSchemas.safeParse({ type: "TOOL_CALL_START", toolCallId: "x" }).success).toBe(false);
  });

  it("covers every event type of v1", () => {
    expect(new Set(run().map((e) => e.type))).toEqual(new Set(Object.keys(eventData)));
  });

  it("produces only events @ag-ui/core's schemas accept, each carrying its eventId", () => {
    for (const source of run()) {
      const group = toAgUi(source);
      expect(group.length).toBeGreaterThan(0);
      group.forEach((e, i) => {
        const parsed = EventSchemas.safeParse(e);
        expect(parsed.error?.issues ?? [], `${source.type} -> ${e.type}`).toEqual([]);
        expect(e.rawEvent).toEqual({
          taskId,
          eventId: source.eventId,
          type: source.type,
          last: i === group.length - 1,
        });
        expect(e.timestamp).toBe(Date.parse(source.at));
      });
    }
  });

  it("makes a whole run one well-formed AG-UI run", () => {
    const events = run().flatMap(toAgUi);
    expect(sequenceProblems(events)).toEqual([]);
    expect(events.map((e) => e.type).filter((t) => t.startsWith("RUN_"))).toEqual([
      "RUN_STARTED",
      "RUN_FINISHED",
    ]);
    expect(events.at(-1)).toMatchObject({
      threadId: taskId,
      runId: taskId,
      outcome: { type: "success" },
      result: { status: "COMPLETED", prUrl: "https://github.com/acme/api/pull/7" },
    });
  });

  it("maps turns, tool calls and their results", () => {
    const turn = event("agent.turn", { turn: 3, text: "Done." });
    expect(toAgUi(turn).map(({ rawEvent: _, timestamp: __, ...e }) => e)).toEqual([
      { type: "TEXT_MESSAGE_START", messageId: turn.eventId, role: "assistant" },
      { type: "TEXT_MESSAGE_CONTENT", messageId: turn.eventId, delta: "Done." },
      { type: "TEXT_MESSAGE_END", messageId: turn.eventId },
    ]);
    const call = event("agent.tool_call", { toolCallId: "t9", name: "Edit", input: { path: "a.ts" } });
    expect(toAgUi(call).map((e) => e.type)).toEqual(["TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END"]);
    expect(toAgUi(call)[1]).toMatchObject({ delta: '{"path":"a.ts"}' });
    const result = event("agent.tool_result", { toolCallId: "t9", isError: true, output: "no such file" });
    expect(toAgUi(result)).toMatchObject([
      {
        type: "TOOL_CALL_RESULT",
        toolCallId: "t9",
        messageId: result.eventId,
        content: "no such file",
        role: "tool",
      },
    ]);
  });

  it("ends a failed run with RUN_ERROR and a cancelled one with a cancelled outcome", () => {
    const failed = toAgUi(event("task.status", { from: "RUNNING", to: "FAILED", reason: "agent crashed" }));
    expect(failed.map((e) => e.type)).toEqual(["STEP_FINISHED", "RUN_ERROR"]);
    expect(failed[1]).toMatchObject({ message: "agent crashed", code: "FAILED" });
    const timedOut = toAgUi(event("task.status", { from: "RUNNING", to: "TIMED_OUT" }));
    expect(timedOut[1]).toMatchObject({ type: "RUN_ERROR", code: "TIMED_OUT" });
    const cancelled = toAgUi(event("task.status", { from: "QUEUED", to: "CANCELLED" }));
    expect(cancelled[1]).toMatchObject({ type: "RUN_FINISHED", outcome: { type: "cancelled" } });
    for (const e of [...failed, ...timedOut, ...cancelled])
      expect(EventSchemas.safeParse(e).success).toBe(true);
  });

  it("sends cost, nudges and approvals as CUSTOM events with Conveyor's data", () => {
    const cost = event("agent.cost", { costUsd: 1.5, inputTokens: 10, outputTokens: 2 });
    expect(toAgUi(cost)).toMatchObject([{ type: "CUSTOM", name: "conveyor.agent.cost", value: cost.data }]);
    const asked = event("approval.requested", {
      approvalId: "a",
      action: "push",
      detail: "d",
      expiresAt: "t",
    });
    expect(toAgUi(asked)).toMatchObject([{ type: "CUSTOM", name: "conveyor.approval.requested" }]);
  });

  it("resumes between any two groups: the rest of a run stays balanced", () => {
    const events = run();
    const cut = events.findIndex((e) => e.type === "agent.turn");
    const before = events.slice(0, cut).flatMap(toAgUi);
    const resumeAfter = before.filter((e) => e.rawEvent.last).at(-1)!.rawEvent.eventId;
    const rest = events.filter((e) => e.eventId > resumeAfter).flatMap(toAgUi);
    expect(sequenceProblems([...before, ...rest])).toEqual([]);
    // A group cut in half is what the check catches.
    const half = toAgUi(events[cut]!).slice(0, 1);
    expect(sequenceProblems([...before, ...half, ...rest])).toContain(
      `message ${events[cut]!.eventId} started twice`,
    );
  });
});
