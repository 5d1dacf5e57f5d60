import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { Config } from "../config.ts";
import { sqsClient } from "./client.ts";
import { Message, type TaskQueue } from "./index.ts";

/** TaskQueue on SQS. Its own module, so handlers that only read messages never load the SQS client. */
export function sqsTaskQueue(config: Config): TaskQueue {
  const client = sqsClient(config);
  return {
    async send(taskId) {
      await client.send(
        new SendMessageCommand({ QueueUrl: config.queues.task, MessageBody: Message.encode(taskId) }),
      );
    },
  };
}
