import type { Core } from "../core.ts";
import type { TaskEvent } from "../event/index.ts";
import { get as getTask } from "../task/info.ts";
import { WebhookDelivery } from "../webhook/deliver.ts";
import { ofUser } from "../webhook/info.ts";
import type { WebhookMessage } from "../webhook/queue.ts";
import { DeliveryError, type FanoutRoute } from "./index.ts";

/**
 * Queues a task's new events for its owner's webhooks. Sending to SQS is quick and never
 * waits on a receiver: deliveries run from WebhookQueue, with their own retries.
 */
export const webhookRoute: FanoutRoute = {
  name: "webhook",
  async deliver(core, taskId, events) {
    try {
      await enqueue(core, taskId, events);
    } catch (error) {
      throw new DeliveryError(0, error);
    }
  },
};

/** One WebhookQueue message per event and subscription of the task's owner that wants it; how many. */
export async function enqueue(core: Core, taskId: string, events: TaskEvent.Info[]): Promise<number> {
  const task = await getTask(core, taskId);
  if (!task) return 0;
  const webhooks = await ofUser(core, task.tenantId, task.userId);
  if (webhooks.length === 0) return 0;
  const messages: WebhookMessage.Info[] = [];
  for (const event of events) {
    for (const webhook of webhooks) {
      if (!webhook.events.includes("*") && !webhook.events.includes(event.type)) continue;
      messages.push({
        deliveryId: WebhookDelivery.deliveryId(webhook.webhookId, event.eventId),
        webhookId: webhook.webhookId,
        tenantId: webhook.tenantId,
        userId: webhook.userId,
        event,
      });
    }
  }
  if (messages.length > 0) await core.webhookQueue.send(messages);
  return messages.length;
}
