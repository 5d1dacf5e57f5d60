/**
 * Conveyor events as AG-UI protocol events (docs.ag-ui.com), for `format: "ag-ui"` on the
 * WebSocket and `?format=ag-ui` on `GET /v1/tasks/{id}/events`. Pure and dependency-free on
 * purpose: handlers bundle it, so it must not pull `@ag-ui/core` or zod in (the tests
 * validate every produced event against `@ag-ui/core`'s schemas instead).
 *
 * One Conveyor event becomes a short group of AG-UI events that is complete in itself
 * (a message's start, content and end never span two Conveyor events), so any cut between
 * groups is a valid place to resume. The task is both the AG-UI thread and its one run.
 */
import type { TaskStatus } from "../task/status.ts";
import { isTerminalStatus } from "../task/status.ts";
import type { EventData, EventInfo, EventType } from "./schema.ts";

/** Where an AG-UI event came from; resume with `after: eventId` of the last one with `last: true`. */
export interface AgUiSource {
  taskId: string;
  eventId: string;
  /** The Conveyor event type it was mapped from. */
  type: string;
  /** The final AG-UI event of its Conveyor event's group. */
  last: boolean;
}

/** The AG-UI events Conveyor emits (a subset of the protocol's). */
export type AgUiEvent = {
  timestamp: number;
  rawEvent: AgUiSource;
} & (
  | { type: "RUN_STARTED"; threadId: string; runId: string }
  | {
      type: "RUN_FINISHED";
      threadId: string;
      runId: string;
      result?: unknown;
      outcome: { type: "success" } | { type: "cancelled" };
    }
  | { type: "RUN_ERROR"; message: string; code?: string }
  | { type: "STEP_STARTED" | "STEP_FINISHED"; stepName: string }
  | { type: "TEXT_MESSAGE_START"; messageId: string; role: "assistant" }
  | { type: "TEXT_MESSAGE_CONTENT"; messageId: string; delta: string }
  | { type: "TEXT_MESSAGE_END"; messageId: string }
  | { type: "TOOL_CALL_START"; toolCallId: string; toolCallName: string }
  | { type: "TOOL_CALL_ARGS"; toolCallId: string; delta: string }
  | { type: "TOOL_CALL_END"; toolCallId: string }
  | { type: "TOOL_CALL_RESULT"; messageId: string; toolCallId: string; content: string; role: "tool" }
  | { type: "CUSTOM"; name: string; value: unknown }
);

type Body = AgUiEvent extends infer E
  ? E extends AgUiEvent
    ? Omit<E, "timestamp" | "rawEvent">
    : never
  : never;

/** CUSTOM events are named `conveyor.<event type>`, e.g. `conveyor.agent.cost`. */
export const customName = (type: string) => `conveyor.${type}`;

/** Maps one stored event to its AG-UI group, each event carrying where it came from. */
export function toAgUi(event: EventInfo): AgUiEvent[] {
  const bodies = map(event);
  const timestamp = Date.parse(event.at);
  return bodies.map((body, i) => ({
    ...body,
    timestamp,
    rawEvent: {
      taskId: event.taskId,
      eventId: event.eventId,
      type: event.type,
      last: i === bodies.length - 1,
    },
  })) as AgUiEvent[];
}

const data = <T extends EventType>(event: EventInfo, _type: T) => event.data as EventData<T>;

function map(event: EventInfo): Body[] {
  const run = { threadId: event.taskId, runId: event.taskId };
  switch (event.type) {
    case "task.submitted":
      return [
        { type: "RUN_STARTED", ...run },
        { type: "STEP_STARTED", stepName: data(event, "task.submitted").status },
      ];
    case "task.status": {
      const { from, to, reason, prUrl } = data(event, "task.status");
      return [{ type: "STEP_FINISHED", stepName: from }, ...enter(to, run, reason, prUrl)];
    }
    case "agent.turn": {
      const { text } = data(event, "agent.turn");
      const messageId = event.eventId;
      return [
        { type: "TEXT_MESSAGE_START", messageId, role: "assistant" },
        // The protocol wants a non-empty delta: an empty turn is a message without content.
        ...(text ? [{ type: "TEXT_MESSAGE_CONTENT" as const, messageId, delta: text }] : []),
        { type: "TEXT_MESSAGE_END", messageId },
      ];
    }
    case "agent.tool_call": {
      const { toolCallId, name, input } = data(event, "agent.tool_call");
      return [
        { type: "TOOL_CALL_START", toolCallId, toolCallName: name },
        // A preview-capped input is already a string; JSON either way, as AG-UI's args are.
        { type: "TOOL_CALL_ARGS", toolCallId, delta: JSON.stringify(input ?? {}) },
        { type: "TOOL_CALL_END", toolCallId },
      ];
    }
    case "agent.tool_result": {
      const { toolCallId, output } = data(event, "agent.tool_result");
      return [
        { type: "TOOL_CALL_RESULT", messageId: event.eventId, toolCallId, content: output, role: "tool" },
      ];
    }
    case "agent.milestone": {
      // A milestone is a step passed at once; its detail and link ride along as a CUSTOM.
      const stepName = data(event, "agent.milestone").name;
      return [
        { type: "STEP_STARTED", stepName },
        { type: "CUSTOM", name: customName(event.type), value: event.data },
        { type: "STEP_FINISHED", stepName },
      ];
    }
    default:
      // Cost, errors the run survives, nudges, cancel requests and approvals: AG-UI has no
      // event of their own, so they go as CUSTOM with Conveyor's data unchanged.
      return [{ type: "CUSTOM", name: customName(event.type), value: event.data }];
  }
}

/** Entering a status: another step, or the end of the run. */
function enter(
  to: TaskStatus,
  run: { threadId: string; runId: string },
  reason: string | undefined,
  prUrl: string | undefined,
): Body[] {
  if (!isTerminalStatus(to)) return [{ type: "STEP_STARTED", stepName: to }];
  const result = { status: to, ...(reason ? { reason } : {}), ...(prUrl ? { prUrl } : {}) };
  if (to === "COMPLETED") return [{ type: "RUN_FINISHED", ...run, result, outcome: { type: "success" } }];
  if (to === "CANCELLED") return [{ type: "RUN_FINISHED", ...run, result, outcome: { type: "cancelled" } }];
  return [{ type: "RUN_ERROR", message: reason ?? `The task ended ${to}`, code: to }];
}
