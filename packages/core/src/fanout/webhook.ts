import { WebhookDelivery } from "../webhook/deliver.ts";
import { DeliveryError, type FanoutRoute } from "./index.ts";

/**
 * Queues a task's new events for its owner's webhooks. Sending to SQS is quick and never
 * waits on a receiver: deliveries run from WebhookQueue, with their own retries.
 */
export const webhookRoute: FanoutRoute = {
  name: "webhook",
  async deliver(core, taskId, events) {
    try {
      await WebhookDelivery.enqueue(core, taskId, events);
    } catch (error) {
      throw new DeliveryError(0, error);
    }
  },
};
