import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";

/**
 * A human approval gate, in the Tasks table. Its own key prefixes (`approval#...`) keep its
 * partitions apart from the task's, so no task query ever reads one. `deadline` is epoch ms
 * (served as `expiresAt`): the table's TTL attribute is `expiresAt`, in seconds.
 */
export const ApprovalEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "approval", version: "1", service: "conveyor" },
      attributes: {
        approvalId: { type: "string", required: true, readOnly: true },
        taskId: { type: "string", required: true, readOnly: true },
        tenantId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        action: { type: "string", required: true, readOnly: true },
        detail: { type: "string", required: true, readOnly: true },
        status: { type: ["pending", "approved", "denied"] as const, required: true },
        createdAt: { type: "number", required: true, readOnly: true },
        deadline: { type: "number", required: true, readOnly: true },
        decision: { type: ["approve", "deny"] as const },
        by: { type: "string" },
        comment: { type: "string" },
        decidedAt: { type: "number" },
      },
      indexes: {
        primary: {
          pk: { field: "pk", composite: ["taskId"], template: "approval#${taskId}", casing: "none" },
          sk: { field: "sk", composite: ["approvalId"], template: "${approvalId}", casing: "none" },
        },
        byUser: {
          index: "gsi1",
          pk: {
            field: "gsi1pk",
            composite: ["tenantId", "userId"],
            template: "approval#${tenantId}#${userId}",
            casing: "none",
          },
          sk: { field: "gsi1sk", composite: ["approvalId"], template: "${approvalId}", casing: "none" },
        },
        /** Pending ones for the reconciler; decided ones too, but it reads only `pending`. */
        byStatus: {
          index: "gsi2",
          pk: { field: "gsi2pk", composite: ["status"], template: "approval#${status}", casing: "none" },
          sk: { field: "gsi2sk", composite: ["approvalId"], template: "${approvalId}", casing: "none" },
        },
        byUserStatus: {
          index: "gsi4",
          pk: {
            field: "gsi4pk",
            composite: ["tenantId", "userId", "status"],
            template: "approval#${tenantId}#${userId}#${status}",
            casing: "none",
          },
          sk: { field: "gsi4sk", composite: ["approvalId"], template: "${approvalId}", casing: "none" },
        },
      },
    },
    { client, table },
  );
