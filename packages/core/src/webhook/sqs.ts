import { ChangeMessageVisibilityCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import type { Config } from "../config.ts";
import { sqsClient } from "../queue/client.ts";
import { WebhookMessage, type WebhookQueue } from "./queue.ts";

/** WebhookQueue on SQS: loaded on the port's first call, so no handler's init loads the SQS client. */
export function sqsWebhookQueue(config: Config): WebhookQueue {
  const client = sqsClient(config);
  return {
    async send(messages) {
      for (let i = 0; i < messages.length; i += 10) {
        const chunk = messages.slice(i, i + 10);
        const result = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: config.queues.webhook,
            Entries: chunk.map((m, j) => ({ Id: String(j), MessageBody: WebhookMessage.encode(m) })),
          }),
        );
        if (result.Failed?.length)
          throw new Error(`webhook enqueue failed: ${result.Failed.map((f) => f.Code).join(", ")}`);
      }
    },
    async retryIn(receiptHandle, seconds) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: config.queues.webhook,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
  };
}
