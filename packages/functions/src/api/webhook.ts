import { CreateInput, DeliveriesInput } from "@conveyor/core/webhook/input";
import { Hono } from "hono/tiny";
import { useCore } from "../config.ts";
import { validate } from "./validate.ts";

/**
 * The acting user's outgoing webhook subscriptions. The Webhook domain loads on a route's
 * first call: the task routes' cold start does not pay for it.
 */
export const WebhookApi = new Hono()
  .post("/", validate("json", CreateInput), async (c) => {
    const { Webhook } = await import("@conveyor/core/webhook");
    const { webhook, secret } = await Webhook.create(useCore(), c.req.valid("json"));
    // The only time the secret is shown.
    return c.json({ webhook: Webhook.present(webhook), secret }, 201);
  })
  .get("/", async (c) => {
    const { Webhook } = await import("@conveyor/core/webhook");
    const webhooks = await Webhook.fromUser(useCore());
    return c.json({ webhooks: webhooks.map(Webhook.present) }, 200);
  })
  .get("/:id", async (c) => {
    const { Webhook } = await import("@conveyor/core/webhook");
    const webhook = await Webhook.fromId(useCore(), c.req.param("id"));
    return c.json({ webhook: Webhook.present(webhook) }, 200);
  })
  .delete("/:id", async (c) => {
    const { Webhook } = await import("@conveyor/core/webhook");
    await Webhook.remove(useCore(), c.req.param("id"));
    return c.body(null, 204);
  })
  .get("/:id/deliveries", validate("query", DeliveriesInput), async (c) => {
    const { Webhook } = await import("@conveyor/core/webhook");
    const attempts = await Webhook.deliveries(useCore(), c.req.param("id"), c.req.valid("query"));
    return c.json({ deliveries: attempts.map(Webhook.presentAttempt) }, 200);
  });
