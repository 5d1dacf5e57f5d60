import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";

/** An API token, stored only as its SHA-256. */
export const ApiTokenEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "apitoken", version: "1", service: "conveyor" },
      attributes: {
        tokenHash: { type: "string", required: true, readOnly: true },
        tenantId: { type: "string", required: true },
        userId: { type: "string", required: true },
        name: { type: "string" },
        createdAt: { type: "number", required: true },
      },
      indexes: {
        primary: { pk: { field: "pk", composite: ["tokenHash"] }, sk: { field: "sk", composite: [] } },
      },
    },
    { client, table },
  );
