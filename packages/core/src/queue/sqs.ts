import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Config } from "../config.ts";
import { Message, type TaskQueue } from "./index.ts";

/** TaskQueue on SQS. Apart from the message so that decoding one (the dispatcher, the DLQ drain) never loads the client. */
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
        new SendMessageCommand({ QueueUrl: config.queues.task, MessageBody: Message.encode(taskId) }),
      );
    },
  };
}
