import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { logger } from "@conveyor/core/log";
import { WebhookDelivery } from "@conveyor/core/webhook/deliver";
import { WebhookMessage } from "@conveyor/core/webhook/queue";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { useCore } from "../config.ts";

/**
 * WebhookQueue consumer: POSTs each delivery to its receiver, the batch's records at once. A
 * failed one is hidden for its backoff (a visibility change, longer each attempt) and reported
 * failed, so SQS offers it again then; after `webhookMaxAttempts` receives it lands in WebhookDlq.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> =>
  processPartialResponse(event, deliver, new BatchProcessor(EventType.SQS), {
    throwOnFullBatchFailure: false,
  });

async function deliver(record: SQSRecord): Promise<void> {
  let message: WebhookMessage.Info;
  try {
    message = WebhookMessage.decode(record.body);
  } catch {
    logger.error("malformed webhook message", { messageId: record.messageId });
    return;
  }
  const core = useCore();
  const attempt = Number(record.attributes.ApproximateReceiveCount ?? 1);
  const outcome = await WebhookDelivery.deliver(core, message, attempt);
  const context = { deliveryId: message.deliveryId, webhookId: message.webhookId, attempt, ...outcome };
  if (outcome.result === "delivered") return logger.info("webhook delivered", context);
  if (outcome.result === "dropped") return logger.warn("webhook delivery dropped", context);
  if (outcome.result === "retry") {
    // Best effort: without it the message still comes back after the queue's visibility timeout.
    await core.webhookQueue
      .retryIn(record.receiptHandle, outcome.inSeconds)
      .catch((error) => logger.warn("webhook backoff not set", { ...context, error: String(error) }));
    logger.warn("webhook delivery failed; retried later", context);
  } else logger.error("webhook delivery failed for the last time; to WebhookDlq", context);
  throw new Error(`webhook delivery ${message.deliveryId}: ${outcome.detail}`);
}
