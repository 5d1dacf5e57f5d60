import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";

/** A user's concurrency slots: `active` tasks hold a slot, `queued` wait for one. */
export const QuotaEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "quota", version: "1", service: "conveyor" },
      attributes: {
        tenantId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        active: { type: "number", required: true, default: 0 },
        queued: { type: "number", required: true, default: 0 },
      },
      indexes: {
        primary: {
          pk: { field: "pk", composite: ["tenantId", "userId"] },
          sk: { field: "sk", composite: [] },
        },
        // Every user's quota in one partition of the status index: the reconciler checks leaked slots.
        byUser: {
          index: "gsi2",
          pk: { field: "gsi2pk", composite: [] },
          sk: { field: "gsi2sk", composite: ["tenantId", "userId"] },
        },
      },
    },
    { client, table },
  );
