import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";

/** A live WebSocket connection and who opened it. Expires with API Gateway's 2-hour cap. */
export const ConnectionEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "connection", version: "1", service: "conveyor" },
      attributes: {
        connectionId: { type: "string", required: true, readOnly: true },
        tenantId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        connectedAt: { type: "number", required: true },
        expiresAt: { type: "number", required: true },
      },
      indexes: {
        primary: { pk: { field: "pk", composite: ["connectionId"] }, sk: { field: "sk", composite: [] } },
      },
    },
    { client, table },
  );

/** A connection watching a task: found by connection (cleanup) and by task (fan-out). */
export const SubscriptionEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "subscription", version: "1", service: "conveyor" },
      attributes: {
        connectionId: { type: "string", required: true, readOnly: true },
        taskId: { type: "string", required: true, readOnly: true },
        createdAt: { type: "number", required: true },
        expiresAt: { type: "number", required: true },
      },
      indexes: {
        primary: {
          pk: { field: "pk", composite: ["connectionId"] },
          sk: { field: "sk", composite: ["taskId"] },
        },
        byTask: {
          index: "gsi1",
          pk: { field: "gsi1pk", composite: ["taskId"] },
          sk: { field: "gsi1sk", composite: ["connectionId"] },
        },
      },
    },
    { client, table },
  );
