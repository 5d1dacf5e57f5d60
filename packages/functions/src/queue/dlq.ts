import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Actor } from "@conveyor/core/actor";
import { Dispatch } from "@conveyor/core/dispatch";
import { logger } from "@conveyor/core/log";
import { Message } from "@conveyor/core/queue";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { useCore } from "../config.ts";

const drain = { type: "system", name: "dlq-drain" } as const;

/**
 * TaskDlq's drain: every dead letter is recorded, its task failed `dispatch_failed` if
 * it has not ended yet, and the message acknowledged, so nothing sits there unexplained.
 * A letter that could not be settled is reported back and stays in the queue.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> =>
  processPartialResponse(event, settle, new BatchProcessor(EventType.SQS), {
    processInParallel: false,
    throwOnFullBatchFailure: false,
  });

async function settle(record: SQSRecord): Promise<void> {
  let taskId: string | undefined;
  try {
    taskId = Message.decode(record.body).taskId;
  } catch {
    // Not ours to explain further; recorded here and dropped.
  }
  logger.warn("dead letter", {
    messageId: record.messageId,
    taskId,
    receiveCount: record.attributes.ApproximateReceiveCount,
    body: taskId ? undefined : record.body.slice(0, 500),
  });
  if (!taskId) return;
  try {
    await Actor.provide(drain, () =>
      Dispatch.failDispatch(
        useCore(),
        taskId,
        "The dispatch message ran out of retries and was dead-lettered",
      ),
    );
  } catch (error) {
    logger.error("dead letter not settled", { taskId, error: String(error) });
    throw error;
  }
}
