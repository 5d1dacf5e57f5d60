import { EventInfo } from "@conveyor/core/event/schema";
import { TaskStatus } from "@conveyor/core/task/status";
import * as v from "valibot";

/*
 * The bodies the API answers with, as schemas for the OpenAPI document only (nothing
 * validates answers). Loose objects: they name the fields clients rely on (DESIGN §12.5)
 * and leave room for fields added later.
 */

const iso = v.pipe(v.string(), v.isoTimestamp());

export const TaskAnswer = v.object({
  task: v.looseObject({
    taskId: v.string(),
    status: TaskStatus,
    repo: v.string(),
    description: v.string(),
    source: v.optional(v.string()),
    queuePosition: v.optional(v.number()),
    createdAt: iso,
    updatedAt: iso,
    finishedAt: v.optional(iso),
  }),
});

export const TaskPage = v.object({
  tasks: v.array(TaskAnswer.entries.task),
  nextCursor: v.optional(v.string()),
});

/** `?format=ag-ui` serves AG-UI events instead (each with `rawEvent.eventId`); the cursor is the same. */
export const EventPage = v.object({
  events: v.array(v.union([EventInfo, v.looseObject({ type: v.string() })])),
  nextCursor: v.optional(v.string()),
});

export const NudgeAnswer = v.object({
  nudge: v.looseObject({ nudgeId: v.string(), taskId: v.string(), message: v.string(), status: v.string() }),
});

const approval = v.looseObject({
  approvalId: v.string(),
  taskId: v.string(),
  action: v.string(),
  detail: v.string(),
  status: v.picklist(["pending", "approved", "denied"]),
});
export const ApprovalAnswer = v.object({ approval });
export const ApprovalList = v.object({ approvals: v.array(approval), nextCursor: v.optional(v.string()) });

export const Health = v.object({ ok: v.literal(true) });

const Webhook = v.looseObject({
  webhookId: v.string(),
  url: v.string(),
  events: v.union([v.literal("all"), v.array(v.string())]),
  createdAt: iso,
});
export const WebhookCreated = v.object({ webhook: Webhook, secret: v.string() });
export const WebhookAnswer = v.object({ webhook: Webhook });
export const WebhookList = v.object({ webhooks: v.array(Webhook) });
export const DeliveryList = v.object({
  deliveries: v.array(
    v.looseObject({
      deliveryId: v.string(),
      attempt: v.number(),
      outcome: v.string(),
      statusCode: v.optional(v.number()),
      durationMs: v.number(),
      at: iso,
    }),
  ),
});

export const GitHubReceived = v.looseObject({ outcome: v.string(), taskId: v.optional(v.string()) });
