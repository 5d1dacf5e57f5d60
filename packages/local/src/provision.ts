import { type Config, defaultLimits, type Limits } from "@conveyor/core/config";
import { createTables, LOCAL_CREDENTIALS, LOCAL_REGION } from "./dynamo.ts";
import { createQueues } from "./sqs.ts";

export const LOCAL_RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/conveyor-local";

/**
 * Creates the tables and queues under `prefix` on running emulators and returns the
 * Config that points at them (the local stack adds its own endpoints on top), plus
 * the queues' ARNs for the event source mappings.
 */
export async function provision(opts: {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  prefix: string;
  limits?: Partial<Limits>;
  visibilityTimeoutSeconds?: number;
}): Promise<{ config: Config; queueArns: { task: string; dlq: string; webhook: string } }> {
  const limits = { ...defaultLimits, ...opts.limits };
  const [tables, queues] = await Promise.all([
    createTables(opts.dynamoEndpoint, opts.prefix),
    createQueues(opts.sqsEndpoint, opts.prefix, {
      maxReceiveCount: limits.maxReceiveCount,
      webhookMaxReceiveCount: limits.webhookMaxAttempts,
      visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? 30,
    }),
  ]);
  return {
    config: {
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      tables: {
        tasks: tables.Tasks,
        events: tables.Events,
        nudges: tables.Nudges,
        connections: tables.Connections,
      },
      queues: { task: queues.task, dlq: queues.dlq, webhook: queues.webhook, webhookDlq: queues.webhookDlq },
      // Receivers on this machine (127.0.0.1) are what local webhooks are for.
      webhookTargets: "local",
      endpoints: { dynamodb: opts.dynamoEndpoint, sqs: opts.sqsEndpoint },
      runtimeArn: LOCAL_RUNTIME_ARN,
      limits,
    },
    queueArns: { task: queues.taskArn, dlq: queues.dlqArn, webhook: queues.webhookArn },
  };
}
