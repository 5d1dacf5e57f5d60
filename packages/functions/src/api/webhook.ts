import { CreateInput, DeliveriesInput } from "@conveyor/core/webhook/input";
import { Hono } from "hono/tiny";
import { useCore } from "../config.ts";
import { DeliveryList, WebhookAnswer, WebhookCreated, WebhookList } from "./answers.ts";
import { doc } from "./doc.ts";
import { validate } from "./validate.ts";

const tags = ["webhooks"];

/**
 * The acting user's outgoing webhook subscriptions. The Webhook domain loads on a route's
 * first call: the task routes' cold start does not pay for it.
 */
export const WebhookApi = new Hono()
  .post(
    "/",
    doc({
      summary: "Subscribe a URL to task events (the signing secret is shown only here)",
      tags,
      ok: { 201: { description: "The subscription and its secret", schema: WebhookCreated } },
      errors: [429],
    }),
    validate("json", CreateInput),
    async (c) => {
      const { Webhook } = await import("@conveyor/core/webhook");
      const { webhook, secret } = await Webhook.create(useCore(), c.req.valid("json"));
      // The only time the secret is shown.
      return c.json({ webhook: Webhook.present(webhook), secret }, 201);
    },
  )
  .get(
    "/",
    doc({ summary: "The user's webhooks", tags, ok: { 200: { description: "Them", schema: WebhookList } } }),
    async (c) => {
      const { Webhook } = await import("@conveyor/core/webhook");
      const webhooks = await Webhook.fromUser(useCore());
      return c.json({ webhooks: webhooks.map(Webhook.present) }, 200);
    },
  )
  .get(
    "/:id",
    doc({
      summary: "One webhook",
      tags,
      ok: { 200: { description: "It", schema: WebhookAnswer } },
      errors: [404],
    }),
    async (c) => {
      const { Webhook } = await import("@conveyor/core/webhook");
      const webhook = await Webhook.fromId(useCore(), c.req.param("id"));
      return c.json({ webhook: Webhook.present(webhook) }, 200);
    },
  )
  .delete(
    "/:id",
    doc({ summary: "Unsubscribe", tags, ok: { 204: { description: "Gone" } }, errors: [404] }),
    async (c) => {
      const { Webhook } = await import("@conveyor/core/webhook");
      await Webhook.remove(useCore(), c.req.param("id"));
      return c.body(null, 204);
    },
  )
  .get(
    "/:id/deliveries",
    doc({
      summary: "Recent delivery attempts, newest first",
      tags,
      ok: { 200: { description: "Attempts", schema: DeliveryList } },
      errors: [404],
    }),
    validate("query", DeliveriesInput),
    async (c) => {
      const { Webhook } = await import("@conveyor/core/webhook");
      const attempts = await Webhook.deliveries(useCore(), c.req.param("id"), c.req.valid("query"));
      return c.json({ deliveries: attempts.map(Webhook.presentAttempt) }, 200);
    },
  );
