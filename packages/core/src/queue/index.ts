import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Config } from "../config.ts";

/** Where submitted tasks wait for the dispatcher. Messages carry only `{ taskId }`. */
export interface TaskQueue {
  send(taskId: string): Promise<void>;
}

export function sqsTaskQueue(config: Config): TaskQueue {
  const client = new SQSClient({
    region: config.region,
    endpoint: config.endpoints.sqs,
    credentials: config.credentials,
    maxAttempts: 4,
  });
  return {
    async send(taskId) {
      await client.send(
        new SendMessageCommand({ QueueUrl: config.queues.task, MessageBody: JSON.stringify({ taskId }) }),
      );
    },
  };
}
