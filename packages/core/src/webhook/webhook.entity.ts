import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";

/**
 * A user's webhook subscription, in the Tasks table under its own key prefix (`webhook#...`),
 * so no task query reads one. The secret is kept as is: every delivery is signed with it.
 */
export const WebhookEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "webhook", version: "1", service: "conveyor" },
      attributes: {
        webhookId: { type: "string", required: true, readOnly: true },
        tenantId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        url: { type: "string", required: true, readOnly: true },
        /** Event types, or `["*"]` for all. */
        events: { type: "list", items: { type: "string" }, required: true, readOnly: true },
        secret: { type: "string", required: true, readOnly: true },
        createdAt: { type: "number", required: true, readOnly: true },
      },
      indexes: {
        primary: {
          pk: {
            field: "pk",
            composite: ["tenantId", "userId"],
            template: "webhook#${tenantId}#${userId}",
            casing: "none",
          },
          sk: { field: "sk", composite: ["webhookId"], template: "${webhookId}", casing: "none" },
        },
      },
    },
    { client, table },
  );

/** One attempt to deliver one event to one webhook, kept a week (TTL) for `GET .../deliveries`. */
export const WebhookAttemptEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "webhookAttempt", version: "1", service: "conveyor" },
      attributes: {
        webhookId: { type: "string", required: true, readOnly: true },
        attemptId: { type: "string", required: true, readOnly: true },
        deliveryId: { type: "string", required: true, readOnly: true },
        taskId: { type: "string", required: true, readOnly: true },
        eventId: { type: "string", required: true, readOnly: true },
        eventType: { type: "string", required: true, readOnly: true },
        attempt: { type: "number", required: true, readOnly: true },
        outcome: { type: ["delivered", "retrying", "dead_lettered", "refused"] as const, required: true },
        statusCode: { type: "number" },
        durationMs: { type: "number", required: true },
        error: { type: "string" },
        at: { type: "number", required: true },
        expiresAt: { type: "number" },
      },
      indexes: {
        primary: {
          pk: {
            field: "pk",
            composite: ["webhookId"],
            template: "webhookattempt#${webhookId}",
            casing: "none",
          },
          sk: { field: "sk", composite: ["attemptId"], template: "${attemptId}", casing: "none" },
        },
      },
    },
    { client, table },
  );
