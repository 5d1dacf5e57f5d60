import * as v from "valibot";
import { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import { notFound, VisibleError } from "../error.ts";
import { store } from "../store.ts";
import { newId } from "../util/ulid.ts";
import * as info from "./info.ts";
import * as input from "./input.ts";
import { Signature } from "./sign.ts";
import { checkTarget } from "./target.ts";

export { Signature } from "./sign.ts";

/**
 * Outgoing webhooks: a user subscribes a URL to some event types (or all) of their tasks;
 * every matching event is POSTed to it, signed (sign.ts), from WebhookQueue with retries
 * (deliver.ts). The signing secret is shown once, when the subscription is made.
 */
export namespace Webhook {
  export const CreateInput = input.CreateInput;
  export type CreateInput = input.CreateInput;
  export const DeliveriesInput = input.DeliveriesInput;

  export const Info = info.Info;
  export type Info = info.Info;
  export const Attempt = info.Attempt;
  export type Attempt = info.Attempt;

  /** A subscription on the wire: never its secret. */
  export function present(webhook: Info) {
    return {
      webhookId: webhook.webhookId,
      url: webhook.url,
      events: webhook.events.includes("*") ? ("all" as const) : webhook.events,
      createdAt: new Date(webhook.createdAt).toISOString(),
    };
  }

  export function presentAttempt(a: Attempt) {
    return {
      deliveryId: a.deliveryId,
      attempt: a.attempt,
      outcome: a.outcome,
      statusCode: a.statusCode,
      durationMs: a.durationMs,
      error: a.error,
      taskId: a.taskId,
      eventId: a.eventId,
      eventType: a.eventType,
      at: new Date(a.at).toISOString(),
    };
  }

  /** Subscribes the acting user; the answer holds the signing secret, which is never shown again. */
  export async function create(core: Core, raw: unknown): Promise<{ webhook: Info; secret: string }> {
    const input = v.parse(CreateInput, raw);
    const url = await checkTarget(input.url, core.config.webhookTargets ?? "public");
    const { tenantId, userId } = Actor.user();
    const limit = core.config.limits.webhooksPerUser;
    if ((await fromUser(core)).length >= limit) {
      throw new VisibleError("quota", "webhook.limit", `At most ${limit} webhooks per user`, {
        reason: "webhook.limit",
      });
    }
    const now = core.now();
    const webhook: Info = {
      webhookId: newId(now),
      tenantId,
      userId,
      url: url.href,
      events: input.events === "all" ? ["*"] : [...new Set(input.events)],
      secret: Signature.newSecret(),
      createdAt: now,
    };
    await store(core).webhook.create(webhook).go({ response: "none" });
    return { webhook, secret: webhook.secret };
  }

  /** The acting user's subscriptions, oldest first. */
  export async function fromUser(core: Core): Promise<Info[]> {
    const { tenantId, userId } = Actor.user();
    return ofUser(core, tenantId, userId);
  }

  /** A user's subscriptions, for the fan-out (which acts for the system, not the user). */
  export const ofUser = info.ofUser;

  /** One of the acting user's subscriptions; another user's is not found. */
  export async function fromId(core: Core, webhookId: string): Promise<Info> {
    const { tenantId, userId } = Actor.user();
    const found = await get(core, tenantId, userId, webhookId);
    if (!found) throw notFound("webhook", webhookId);
    return found;
  }

  export const get = info.get;

  /** Unsubscribes: deliveries already queued for it are dropped when they come up. */
  export async function remove(core: Core, webhookId: string): Promise<void> {
    const webhook = await fromId(core, webhookId);
    await store(core).webhook.delete({ tenantId: webhook.tenantId, userId: webhook.userId, webhookId }).go();
  }

  /** A subscription's recent delivery attempts, newest first (kept 7 days). */
  export async function deliveries(core: Core, webhookId: string, raw: unknown = {}): Promise<Attempt[]> {
    const { limit } = v.parse(DeliveriesInput, raw);
    await fromId(core, webhookId);
    const result = await store(core).webhookAttempt.query.primary({ webhookId }).go({ order: "desc", limit });
    return result.data.map((item) => v.parse(Attempt, item));
  }

  export const serialize = info.serialize;
}
