import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";

export const IdempotencyEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "idempotency", version: "1", service: "conveyor" },
      attributes: {
        tenantId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        key: { type: "string", required: true, readOnly: true },
        taskId: { type: "string", required: true },
        bodyHash: { type: "string", required: true },
        expiresAt: { type: "number", required: true },
      },
      indexes: {
        primary: {
          pk: { field: "pk", composite: ["tenantId", "userId", "key"] },
          sk: { field: "sk", composite: [] },
        },
      },
    },
    { client, table },
  );
