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

/** TaskQueue with TaskDlq behind it (redrive after `maxReceiveCount` receives). */
export async function createQueues(
  endpoint: string,
  prefix: string,
  opts: { maxReceiveCount: number; visibilityTimeoutSeconds: number },
) {
  const client = sqsClient(endpoint);
  try {
    const dlq = await client.send(new CreateQueueCommand({ QueueName: `${prefix}TaskDlq` }));
    const dlqArn = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    const queue = await client.send(
      new CreateQueueCommand({
        QueueName: `${prefix}TaskQueue`,
        Attributes: {
          VisibilityTimeout: String(opts.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
            maxReceiveCount: opts.maxReceiveCount,
          }),
        },
      }),
    );
    const taskArn = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    return {
      task: queue.QueueUrl!,
      dlq: dlq.QueueUrl!,
      taskArn: taskArn.Attributes!.QueueArn!,
      dlqArn: dlqArn.Attributes!.QueueArn!,
    };
  } finally {
    client.destroy();
  }
}
