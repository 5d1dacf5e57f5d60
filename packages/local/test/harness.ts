import { randomBytes } from "node:crypto";
import { type Config, defaultLimits, type Limits } from "@conveyor/core/config";
import { type Core, createCore } from "@conveyor/core/core";
import type { TaskQueue } from "@conveyor/core/queue";
import type { AgentRuntime } from "@conveyor/core/runtime";
import { inject } from "vitest";
import { createTables, LOCAL_CREDENTIALS, LOCAL_REGION } from "../src/dynamo.ts";
import { createQueues } from "../src/sqs.ts";

/** A fresh set of tables and queues on the shared emulators, under a unique prefix. */
export async function testConfig(limits: Partial<Limits> = {}): Promise<Config> {
  const dynamodb = inject("dynamoEndpoint");
  const sqs = inject("sqsEndpoint");
  const prefix = `t${randomBytes(4).toString("hex")}-`;
  const fullLimits = { ...defaultLimits, ...limits };
  const [tables, queues] = await Promise.all([
    createTables(dynamodb, prefix),
    createQueues(sqs, prefix, { maxReceiveCount: fullLimits.maxReceiveCount, visibilityTimeoutSeconds: 30 }),
  ]);
  return {
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    tables: { tasks: tables.Tasks, events: tables.Events, nudges: tables.Nudges, connections: tables.Connections },
    queues,
    endpoints: { dynamodb, sqs },
    runtimeArn: "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/conveyor-local",
    limits: fullLimits,
  };
}

/** A queue port that records what was sent (for core tests that do not run a consumer). */
export function recordingQueue(): TaskQueue & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    async send(taskId) {
      sent.push(taskId);
    },
  };
}

export async function testCore(
  opts: { limits?: Partial<Limits>; queue?: TaskQueue; runtime?: AgentRuntime; now?: () => number } = {},
): Promise<Core> {
  return createCore(await testConfig(opts.limits), opts);
}
