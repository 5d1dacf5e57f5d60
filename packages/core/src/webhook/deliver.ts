import { createHash } from "node:crypto";
import type { Core } from "../core.ts";
import { logger } from "../log.ts";
import { newId } from "../util/ulid.ts";
import { get, recordAttempt } from "./info.ts";
import { post } from "./post.ts";
import type { WebhookMessage } from "./queue.ts";
import { Signature } from "./sign.ts";

const ATTEMPT_TTL_SECONDS = 7 * 86_400;
const MAX_BACKOFF_SECONDS = 12 * 3600;

/**
 * Getting events to webhook receivers: the Events stream's committed events become one
 * WebhookQueue message per matching subscription (fanout/webhook.ts), and each message is
 * POSTed, signed, by the queue's consumer (`deliver`), retried with a doubling backoff until
 * `webhookMaxAttempts`, after which SQS moves it to WebhookDlq.
 */
export namespace WebhookDelivery {
  /**
   * The id receivers dedup by: the same for every attempt, and for the same event enqueued
   * twice (a stream batch retried after another route failed).
   */
  export function deliveryId(webhookId: string, eventId: string): string {
    return `dlv_${createHash("sha256").update(`${webhookId}:${eventId}`).digest("base64url").slice(0, 26)}`;
  }

  export type Outcome =
    | { result: "delivered"; statusCode: number }
    | { result: "retry"; inSeconds: number; detail: string }
    | { result: "dead_lettered"; detail: string }
    | { result: "dropped"; detail: string };

  /**
   * One attempt of one message (`attempt` is SQS's receive count). Success acknowledges; a
   * failure records the attempt and either asks for a retry after a backoff (the consumer
   * hides the message that long) or, on the last allowed attempt, lets it go to the DLQ.
   * A subscription deleted since, or a target refused as private, is dropped: retrying
   * cannot help.
   */
  export async function deliver(core: Core, message: WebhookMessage.Info, attempt: number): Promise<Outcome> {
    const webhook = await get(core, message.tenantId, message.userId, message.webhookId);
    if (!webhook) return { result: "dropped", detail: "webhook deleted" };
    const body = JSON.stringify({
      deliveryId: message.deliveryId,
      webhookId: webhook.webhookId,
      type: message.event.type,
      event: message.event,
    });
    const result = await post(
      webhook.url,
      body,
      {
        "content-type": "application/json",
        "user-agent": "Conveyor-Webhooks/1",
        "conveyor-delivery": message.deliveryId,
        "conveyor-event": message.event.type,
        "conveyor-attempt": String(attempt),
        [Signature.HEADER.toLowerCase()]: Signature.sign(webhook.secret, body, core.now()),
      },
      {
        mode: core.config.webhookTargets ?? "public",
        timeoutMs: core.config.limits.webhookTimeoutMs,
        now: core.now,
      },
    );
    const ok = result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode < 300;
    const last = attempt >= core.config.limits.webhookMaxAttempts;
    const outcome: Outcome = ok
      ? { result: "delivered", statusCode: result.statusCode! }
      : result.refused
        ? { result: "dropped", detail: result.error ?? "target refused" }
        : last
          ? { result: "dead_lettered", detail: describe(result) }
          : { result: "retry", inSeconds: backoffSeconds(core, attempt), detail: describe(result) };
    await record(core, message, attempt, result, outcome).catch((error) =>
      // The record is for people; losing one must not redeliver a delivered event.
      logger.warn("webhook attempt not recorded", { deliveryId: message.deliveryId, error: String(error) }),
    );
    return outcome;
  }

  /** Seconds before attempt `attempt + 1`: base × 2^(attempt-1), at most 12 h. */
  export function backoffSeconds(core: Core, attempt: number): number {
    const base = core.config.limits.webhookBackoffSeconds;
    return Math.min(MAX_BACKOFF_SECONDS, Math.round(base * 2 ** Math.max(0, attempt - 1)));
  }

  const describe = (r: { statusCode?: number; error?: string }) =>
    r.error ?? (r.statusCode === undefined ? "no answer" : `receiver answered ${r.statusCode}`);

  async function record(
    core: Core,
    message: WebhookMessage.Info,
    attempt: number,
    result: { statusCode?: number; error?: string; durationMs: number },
    outcome: Outcome,
  ) {
    const now = core.now();
    await recordAttempt(core, {
      webhookId: message.webhookId,
      attemptId: newId(now),
      deliveryId: message.deliveryId,
      taskId: message.event.taskId,
      eventId: message.event.eventId,
      eventType: message.event.type,
      attempt,
      outcome:
        outcome.result === "delivered"
          ? "delivered"
          : outcome.result === "dead_lettered"
            ? "dead_lettered"
            : outcome.result === "dropped"
              ? "refused"
              : "retrying",
      statusCode: result.statusCode,
      durationMs: result.durationMs,
      error: result.error?.slice(0, 500),
      at: now,
      expiresAt: Math.floor(now / 1000) + ATTEMPT_TTL_SECONDS,
    });
  }
}
