import { defaultLimits } from "../packages/core/src/config.ts";
import { handler, handlersOf } from "./function.ts";
import { storage } from "./storage.ts";

/** Seconds a dispatch may take; the queue hides a message for 6 times that (AWS's advice). */
export const DISPATCH_TIMEOUT_SECONDS = 30;

/**
 * Dead letters of TaskQueue. Kept 14 days (SQS's longest), though the drain settles each at
 * once: a letter it cannot settle stays visible here, and the DLQ depth alarm says so.
 */
export const taskDlq = new sst.aws.Queue("TaskDlq", {
  visibilityTimeout: "3 minutes",
  transform: { queue: { messageRetentionSeconds: 14 * 24 * 3600 } },
});

/**
 * `{taskId}` messages to dispatch (DESIGN §5.2). After `maxReceiveCount` receives (5: AWS's
 * advice for Lambda consumers, whose throttled receives count) a message moves to TaskDlq;
 * the dispatcher reads the same number from core's limits to fail the task on that receive.
 */
export const taskQueue = new sst.aws.Queue("TaskQueue", {
  visibilityTimeout: `${6 * DISPATCH_TIMEOUT_SECONDS} seconds`,
  dlq: { queue: taskDlq.arn, retry: defaultLimits.maxReceiveCount },
});

/** Seconds a webhook delivery batch may take (each POST has `webhookTimeoutMs`, 10 s, at most). */
export const WEBHOOK_TIMEOUT_SECONDS = 30;

/** Webhook deliveries that used up their attempts: kept 14 days for inspection (no consumer). */
export const webhookDlq = new sst.aws.Queue("WebhookDlq", {
  transform: { queue: { messageRetentionSeconds: 14 * 24 * 3600 } },
});

/**
 * One message per (event, webhook). A failed delivery hides its message for a backoff that
 * doubles per attempt (a visibility change, see core's webhook/deliver.ts); after
 * `webhookMaxAttempts` receives it moves to WebhookDlq.
 */
export const webhookQueue = new sst.aws.Queue("WebhookQueue", {
  visibilityTimeout: `${6 * WEBHOOK_TIMEOUT_SECONDS} seconds`,
  dlq: { queue: webhookDlq.arn, retry: defaultLimits.webhookMaxAttempts },
});

export const queues = { TaskQueue: taskQueue, TaskDlq: taskDlq, WebhookQueue: webhookQueue };

// TaskQueue's consumer, the dispatcher, is wired in infra/agent.ts beside the runtime it starts.
const [drain, ...others] = handlersOf("queue").filter((h) => h.source === "TaskDlq");
if (!drain || others.length > 0) throw new Error("handlers.ts must name exactly one TaskDlq consumer");

/**
 * The DLQ drain: records each dead letter, fails its task `dispatch_failed` if it has not
 * ended, acknowledges it. One letter failing to settle is retried alone (partial responses);
 * two concurrent batches at most (the least SQS allows), as dead letters come in trickles.
 */
export const dlqDrain = taskDlq.subscribe(
  handler(drain.name, { ...storage, ...queues }, { timeout: `${DISPATCH_TIMEOUT_SECONDS} seconds` }),
  {
    batch: { size: 10, partialResponses: true },
    transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: 2 } } },
  },
);

const [webhookDeliver, ...moreDeliverers] = handlersOf("queue").filter((h) => h.source === "WebhookQueue");
if (!webhookDeliver || moreDeliverers.length > 0)
  throw new Error("handlers.ts must name exactly one WebhookQueue consumer");

/** POSTs deliveries to receivers; failures are reported per message (partial responses). */
export const webhookConsumer = webhookQueue.subscribe(
  handler(webhookDeliver.name, { ...storage, ...queues }, { timeout: `${WEBHOOK_TIMEOUT_SECONDS} seconds` }),
  {
    batch: { size: 10, partialResponses: true },
    // A slow receiver holds a slot, not the account: at most 10 batches at once.
    transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: 10 } } },
  },
);

export const functions = {
  [drain.name]: dlqDrain.nodes.function.name,
  [webhookDeliver.name]: webhookConsumer.nodes.function.name,
};
