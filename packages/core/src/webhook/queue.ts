import * as v from "valibot";
import { EventInfo } from "../event/schema.ts";

/**
 * What WebhookQueue carries: one event for one subscription. The event travels whole (16 KB
 * at most, well under SQS's 256 KB), so a delivery reads only its subscription.
 */
export namespace WebhookMessage {
  export const Info = v.object({
    deliveryId: v.string(),
    webhookId: v.string(),
    tenantId: v.string(),
    userId: v.string(),
    event: EventInfo,
  });
  export type Info = v.InferOutput<typeof Info>;

  export const encode = (message: Info) => JSON.stringify(message);

  /** A body as sent; throws on anything else. */
  export const decode = (body: string): Info => v.parse(Info, JSON.parse(body));
}

/** Where webhook deliveries wait, and how a failed one is put back for later. */
export interface WebhookQueue {
  send(messages: WebhookMessage.Info[]): Promise<void>;
  /** Hides a received message for `seconds` more: the backoff before its next attempt. */
  retryIn(receiptHandle: string, seconds: number): Promise<void>;
}
