import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";

/** A message to a running agent: pending, then consumed exactly once, or expired. */
export const NudgeEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "nudge", version: "1", service: "conveyor" },
      attributes: {
        taskId: { type: "string", required: true, readOnly: true },
        nudgeId: { type: "string", required: true, readOnly: true },
        tenantId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        message: { type: "string", required: true },
        mode: { type: ["queue", "interrupt"] as const },
        status: { type: ["pending", "consumed", "expired"] as const, required: true },
        createdAt: { type: "number", required: true },
        consumedAt: { type: "number" },
        /** Set once, with its `nudge.received` event: the stream may deliver the insert twice. */
        receivedAt: { type: "number" },
        expiresAt: { type: "number" },
      },
      indexes: {
        primary: {
          pk: { field: "pk", composite: ["taskId"], template: "${taskId}", casing: "none" },
          sk: { field: "sk", composite: ["nudgeId"], template: "${nudgeId}", casing: "none" },
        },
        byStatus: {
          index: "gsi1",
          pk: { field: "gsi1pk", composite: ["status"] },
          sk: { field: "gsi1sk", composite: ["taskId", "nudgeId"] },
        },
      },
    },
    { client, table },
  );
