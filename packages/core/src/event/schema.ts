import * as v from "valibot";
import { TaskStatus } from "../task/status.ts";
import { ULID_PATTERN } from "../util/ulid.ts";

/*
 * The shapes of events, apart from the operations that store them (index.ts): the WebSocket
 * protocol and the client read them without loading the store (ElectroDB, the AWS SDK).
 */

const nudgeData = v.object({
  nudgeId: v.string(),
  message: v.optional(v.string()),
  /** How the nudge was to be taken (`queue` | `interrupt`); absent on nudges from before modes. */
  mode: v.optional(v.picklist(["queue", "interrupt"])),
});

/** Every event type of v1 with the shape of its `data`. */
export const eventData = {
  "task.submitted": v.object({ status: TaskStatus, queuePosition: v.optional(v.number()) }),
  "task.status": v.object({
    from: TaskStatus,
    to: TaskStatus,
    reason: v.optional(v.string()),
    /** On a COMPLETED task whose agent opened or updated a pull request. */
    prUrl: v.optional(v.string()),
  }),
  "agent.turn": v.object({ turn: v.number(), text: v.string() }),
  "agent.tool_call": v.object({ toolCallId: v.string(), name: v.string(), input: v.unknown() }),
  "agent.tool_result": v.object({ toolCallId: v.string(), isError: v.boolean(), output: v.string() }),
  "agent.milestone": v.object({
    name: v.string(),
    detail: v.optional(v.string()),
    url: v.optional(v.string()),
  }),
  "agent.cost": v.object({ costUsd: v.number(), inputTokens: v.number(), outputTokens: v.number() }),
  "agent.error": v.object({ message: v.string(), fatal: v.boolean() }),
  "nudge.received": nudgeData,
  "nudge.acknowledged": nudgeData,
  "nudge.expired": nudgeData,
  "cancel.requested": v.object({ by: v.optional(v.string()) }),
  "approval.requested": v.object({
    approvalId: v.string(),
    action: v.string(),
    detail: v.string(),
    expiresAt: v.string(),
  }),
  "approval.decided": v.object({
    approvalId: v.string(),
    decision: v.picklist(["approve", "deny"]),
    by: v.string(),
    comment: v.optional(v.string()),
  }),
} as const;

export type EventType = keyof typeof eventData;
export type EventData<T extends EventType> = v.InferOutput<(typeof eventData)[T]>;
export const EventType = v.picklist(Object.keys(eventData) as EventType[]);

export const EventId = v.pipe(v.string(), v.regex(ULID_PATTERN, "must be an event id (ULID)"));

/** An event as stored and served. `data` matches `eventData[type]`. */
export const EventInfo = v.object({
  taskId: v.string(),
  eventId: v.string(),
  type: EventType,
  at: v.string(),
  data: v.unknown(),
});
export type EventInfo = v.InferOutput<typeof EventInfo>;

/** How events are served: Conveyor's own shape, or mapped to AG-UI events (ag-ui.ts). */
export const EventFormat = v.picklist(["conveyor", "ag-ui"], 'must be "conveyor" or "ag-ui"');
export type EventFormat = v.InferOutput<typeof EventFormat>;
