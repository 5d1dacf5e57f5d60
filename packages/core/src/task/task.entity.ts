import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "electrodb";
import { TASK_STATUSES } from "./status.ts";

export const TaskEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "task", version: "1", service: "conveyor" },
      attributes: {
        taskId: { type: "string", required: true, readOnly: true },
        tenantId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        status: {
          type: TASK_STATUSES,
          required: true,
        },
        version: { type: "number", required: true },
        rev: { type: "number", required: true },
        repo: { type: "string", required: true, readOnly: true },
        prNumber: { type: "number" },
        /** What the task works on, for the by-PR index: `owner/name#pr-7`, `owner/name#issue-3` or `owner/name`. */
        target: { type: "string", required: true, readOnly: true },
        issueNumber: { type: "number" },
        description: { type: "string", required: true },
        maxTurns: { type: "number", required: true },
        maxBudgetUsd: { type: "number", required: true },
        options: { type: "any" },
        approvals: { type: "any" },
        source: { type: "string", required: true },
        runtimeSessionId: { type: "string", required: true },
        heartbeatAt: { type: "number" },
        cancelRequestedAt: { type: "number" },
        turns: { type: "number", required: true },
        costUsd: { type: "number", required: true },
        result: { type: "any" },
        error: { type: "any" },
        github: { type: "any" },
        createdAt: { type: "number", required: true, readOnly: true },
        updatedAt: { type: "number", required: true },
        finishedAt: { type: "number" },
      },
      indexes: {
        primary: { pk: { field: "pk", composite: ["taskId"] }, sk: { field: "sk", composite: [] } },
        byUser: {
          index: "gsi1",
          pk: { field: "gsi1pk", composite: ["tenantId", "userId"] },
          sk: { field: "gsi1sk", composite: ["taskId"] },
        },
        byStatus: {
          index: "gsi2",
          pk: { field: "gsi2pk", composite: ["status"] },
          sk: { field: "gsi2sk", composite: ["taskId"] },
        },
        byTarget: {
          index: "gsi3",
          pk: { field: "gsi3pk", composite: ["target"] },
          sk: { field: "gsi3sk", composite: ["taskId"] },
        },
        byUserStatus: {
          index: "gsi4",
          pk: { field: "gsi4pk", composite: ["tenantId", "userId", "status"] },
          sk: { field: "gsi4sk", composite: ["taskId"] },
        },
      },
    },
    { client, table },
  );
