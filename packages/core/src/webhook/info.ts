import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import type { Core } from "../core.ts";
import { queryAll } from "../dynamo.ts";

/**
 * A webhook subscription and a delivery attempt as stored, and what the delivery path reads
 * and writes of them. The items are exactly those of the `webhook` and `webhookAttempt`
 * entities (webhook.entity.ts: custom templates, no casing, ElectroDB's markers) and are read
 * and written here with plain commands, so the WebhookQueue consumer loads no ElectroDB;
 * test/items.test.ts holds the two to the same items. Creating, deleting and the API's reads
 * stay on the entities (index.ts).
 */
export const Info = v.object({
  webhookId: v.string(),
  tenantId: v.string(),
  userId: v.string(),
  url: v.string(),
  events: v.array(v.string()),
  secret: v.string(),
  createdAt: v.number(),
});
export type Info = v.InferOutput<typeof Info>;

export const Attempt = v.object({
  webhookId: v.string(),
  attemptId: v.string(),
  deliveryId: v.string(),
  taskId: v.string(),
  eventId: v.string(),
  eventType: v.string(),
  attempt: v.number(),
  outcome: v.picklist(["delivered", "retrying", "dead_lettered", "refused"]),
  statusCode: v.optional(v.number()),
  durationMs: v.number(),
  error: v.optional(v.string()),
  at: v.number(),
});
export type Attempt = v.InferOutput<typeof Attempt>;

export function serialize(item: unknown): Info {
  return v.parse(Info, item);
}

export const webhookKey = (tenantId: string, userId: string, webhookId: string) => ({
  pk: `webhook#${tenantId}#${userId}`,
  sk: webhookId,
});

/** A user's subscription by id; undefined once deleted. */
export async function get(core: Core, tenantId: string, userId: string, webhookId: string) {
  const { Item } = await core.db.send(
    new GetCommand({ TableName: core.config.tables.tasks, Key: webhookKey(tenantId, userId, webhookId) }),
  );
  return Item ? serialize(Item) : undefined;
}

/** A user's subscriptions, for the fan-out (which acts for the system, not the user). */
export async function ofUser(core: Core, tenantId: string, userId: string): Promise<Info[]> {
  const items = await queryAll(
    core.db,
    {
      TableName: core.config.tables.tasks,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": "pk" },
      ExpressionAttributeValues: { ":pk": webhookKey(tenantId, userId, "").pk },
    },
    "webhook",
  );
  return items.map(serialize);
}

/** Records one attempt; its item expires with `expiresAt` (TTL). */
export async function recordAttempt(core: Core, attempt: Attempt & { expiresAt: number }) {
  await core.db.send(
    new PutCommand({
      TableName: core.config.tables.tasks,
      Item: {
        ...attempt,
        pk: `webhookattempt#${attempt.webhookId}`,
        sk: attempt.attemptId,
        __edb_e__: "webhookAttempt",
        __edb_v__: "1",
      },
    }),
  );
}
