import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";

/** pk = taskId, sk = eventId, verbatim, so stream readers see plain ids. */
export const TaskEventEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "event", version: "1", service: "conveyor" },
      attributes: {
        taskId: { type: "string", required: true, readOnly: true },
        eventId: { type: "string", required: true, readOnly: true },
        type: { type: "string", required: true },
        at: { type: "string", required: true },
        data: { type: "any" },
        expiresAt: { type: "number" },
      },
      indexes: {
        primary: {
          pk: { field: "pk", composite: ["taskId"], template: "${taskId}", casing: "none" },
          sk: { field: "sk", composite: ["eventId"], template: "${eventId}", casing: "none" },
        },
      },
    },
    { client, table },
  );
