import { Webhook } from "@conveyor/core/webhook";
import { Hono } from "hono";
import { useCore } from "../config.ts";
import { validate } from "./validate.ts";

/** The acting user's outgoing webhook subscriptions. */
export const WebhookApi = new Hono()
  .post("/", validate("json", Webhook.CreateInput), async (c) => {
    const { webhook, secret } = await Webhook.create(useCore(), c.req.valid("json"));
    // The only time the secret is shown.
    return c.json({ webhook: Webhook.present(webhook), secret }, 201);
  })
  .get("/", async (c) => {
    const webhooks = await Webhook.fromUser(useCore());
    return c.json({ webhooks: webhooks.map(Webhook.present) }, 200);
  })
  .get("/:id", async (c) => {
    const webhook = await Webhook.fromId(useCore(), c.req.param("id"));
    return c.json({ webhook: Webhook.present(webhook) }, 200);
  })
  .delete("/:id", async (c) => {
    await Webhook.remove(useCore(), c.req.param("id"));
    return c.body(null, 204);
  })
  .get("/:id/deliveries", validate("query", Webhook.DeliveriesInput), async (c) => {
    const attempts = await Webhook.deliveries(useCore(), c.req.param("id"), c.req.valid("query"));
    return c.json({ deliveries: attempts.map(Webhook.presentAttempt) }, 200);
  });
