import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Actor } from "@conveyor/core/actor";
import { Dispatch } from "@conveyor/core/dispatch";
import { logger } from "@conveyor/core/log";
import { Message } from "@conveyor/core/queue";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { useCore } from "../config.ts";

const dispatcher = { type: "system", name: "dispatch" } as const;

/**
 * TaskQueue consumer: claims and starts each task, the batch's records at once; only
 * transient failures are reported back, for SQS to redeliver those messages alone.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> =>
  // A processor per batch: it holds the batch's state, and the local stack runs batches side by side.
  processPartialResponse(event, deliver, new BatchProcessor(EventType.SQS), {
    // A batch whose every message is to be retried is reported, not thrown: it is no crash.
    throwOnFullBatchFailure: false,
  });

async function deliver(record: SQSRecord): Promise<void> {
  let taskId: string;
  try {
    taskId = Message.decode(record.body).taskId;
  } catch {
    // Redelivering a malformed message cannot help: drop it, loudly.
    logger.error("malformed dispatch message", { messageId: record.messageId });
    return;
  }
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? 1);
  let outcome: Dispatch.Outcome;
  try {
    outcome = await Actor.provide(dispatcher, () => Dispatch.deliver(useCore(), taskId, receiveCount));
  } catch (error) {
    logger.error("dispatch error", { taskId, error: String(error) });
    throw error;
  }
  logger.info("dispatch", { taskId, receiveCount, ...outcome });
  if (outcome.result === "retry") throw new Error(`dispatch of ${taskId} to be retried: ${outcome.detail}`);
}
