import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "./dynamo.ts";
import { claimPort } from "./ports.ts";

export interface SqsLocal {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startSqs(opts: { port: number }): Promise<SqsLocal> {
  const port = await claimPort(opts.port, "SQS");
  // patches/local-aws-sqs@2.0.2.patch: a ChangeMessageVisibility no longer counts as a receive
  // (AWS counts receives only), so backoff by visibility does not reach the DLQ early.
  const server = await createSqsServer({ port, hostname: "127.0.0.1", emulateQueueCreationLifecycle: false });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export function sqsClient(endpoint: string) {
  return new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

/**
 * TaskQueue with TaskDlq behind it (redrive after `maxReceiveCount` receives), and WebhookQueue
 * with WebhookDlq (after `webhookMaxReceiveCount`).
 */
export async function createQueues(
  endpoint: string,
  prefix: string,
  opts: { maxReceiveCount: number; webhookMaxReceiveCount: number; visibilityTimeoutSeconds: number },
) {
  const client = sqsClient(endpoint);
  /** A queue with its dead-letter queue behind it: their URLs and ARNs. */
  const pair = async (name: string, dlqName: string, maxReceiveCount: number) => {
    const dlq = await client.send(new CreateQueueCommand({ QueueName: `${prefix}${dlqName}` }));
    const dlqArn = await arnOf(dlq.QueueUrl!);
    const queue = await client.send(
      new CreateQueueCommand({
        QueueName: `${prefix}${name}`,
        Attributes: {
          VisibilityTimeout: String(opts.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
        },
      }),
    );
    return { url: queue.QueueUrl!, arn: await arnOf(queue.QueueUrl!), dlqUrl: dlq.QueueUrl!, dlqArn };
  };
  const arnOf = async (url: string) =>
    (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] })))
      .Attributes!.QueueArn!;
  try {
    const task = await pair("TaskQueue", "TaskDlq", opts.maxReceiveCount);
    const webhook = await pair("WebhookQueue", "WebhookDlq", opts.webhookMaxReceiveCount);
    return {
      task: task.url,
      dlq: task.dlqUrl,
      taskArn: task.arn,
      dlqArn: task.dlqArn,
      webhook: webhook.url,
      webhookDlq: webhook.dlqUrl,
      webhookArn: webhook.arn,
    };
  } finally {
    client.destroy();
  }
}
