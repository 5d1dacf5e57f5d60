import { bodyLimit } from "hono/body-limit";
import { Hono } from "hono/tiny";
import { useCore } from "../config.ts";
import { GitHubReceived } from "./answers.ts";
import { doc } from "./doc.ts";
import { httpError } from "./error.ts";

/** GitHub caps a delivery at 25 MB; an issue_comment is far smaller (two 65,536-character texts at most). */
const MAX_DELIVERY_BYTES = 1024 * 1024;

/**
 * `POST /v1/github/webhook`: GitHub's deliveries, authenticated by their signature instead of
 * a bearer token (mounted before the token check). An unsigned or wrongly signed delivery is
 * 401 before anything in it is read; core decides what a verified one means.
 */
export const GitHubApi = new Hono().post(
  "/webhook",
  doc({
    summary: "GitHub's deliveries: `/conveyor` commands in issue and PR comments",
    description: "Signed with `X-Hub-Signature-256` (HMAC-SHA256 of the body) instead of a bearer token.",
    tags: ["github"],
    public: true,
    ok: {
      200: { description: "Handled (accepted, refused, duplicate or pong)", schema: GitHubReceived },
      202: { description: "Not an event it handles", schema: GitHubReceived },
    },
    errors: [401, 404, 413],
  }),
  bodyLimit({
    maxSize: MAX_DELIVERY_BYTES,
    onError: () => {
      throw httpError(413, "request.too_large", "Delivery over 1 MB");
    },
  }),
  async (c) => {
    const core = useCore();
    const secret = core.config.github?.webhookSecret;
    if (!secret) throw httpError(404, "github.webhook_off", "GitHub webhooks are not configured");
    const signature = c.req.header("x-hub-signature-256");
    if (!signature) throw httpError(401, "github.signature", "X-Hub-Signature-256 is required");
    // The signature covers the bytes as sent: verify them before parsing anything.
    const raw = Buffer.from(await c.req.arrayBuffer());
    // Loaded on the first delivery: the task routes' cold start does not pay for it.
    const { GitHubCommand } = await import("@conveyor/core/github-command");
    if (!GitHubCommand.verify(secret, raw, signature)) {
      throw httpError(401, "github.signature", "X-Hub-Signature-256 does not match the body");
    }
    const received = await GitHubCommand.receive(core, {
      event: c.req.header("x-github-event"),
      deliveryId: c.req.header("x-github-delivery"),
      body: raw.toString("utf8"),
    });
    return c.json(received, received.status);
  },
);
