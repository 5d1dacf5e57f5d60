import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { Signature } from "@conveyor/core/webhook/sign";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsClient } from "../src/sqs.ts";
import type { LocalStack } from "../src/stack.ts";
import { apiClient, sleep, startTestStack } from "./harness.ts";

type Api = ReturnType<typeof apiClient>;

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  // biome-ignore lint/suspicious/noExplicitAny: asserted on
  body: any;
  answered: number;
}

/** A webhook receiver on 127.0.0.1: `answer` picks each request's status code. */
async function receiver(answer: (r: Omit<Received, "answered">, all: Received[]) => number) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      raw += chunk;
    });
    req.on("end", () => {
      const request = { headers: req.headers, raw, body: JSON.parse(raw) };
      const answered = answer(request, received);
      received.push({ ...request, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 40_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("outgoing webhooks", () => {
  let stack: LocalStack;
  let api: Api;
  beforeAll(async () => {
    stack = await startTestStack({
      reconcileMs: 0,
      // Three attempts, 1 s then 2 s apart: the DLQ is reached in seconds.
      limits: { webhookMaxAttempts: 3, webhookBackoffSeconds: 1 },
    });
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(() => stack?.stop());

  const submit = async () => {
    const res = await api.submit({
      repo: "acme/api",
      description: "hooked",
      options: { turns: 1, stepMs: 10 },
    });
    expect(res.status).toBe(201);
    return res.body.task.taskId as string;
  };

  it("signs each delivery so a receiver can verify it, and lists the attempts", async () => {
    const hook = await receiver(() => 200);
    try {
      const created = await api.call("POST", "/v1/webhooks", { url: hook.url, events: ["task.status"] });
      expect(created.status).toBe(201);
      const secret: string = created.body.secret;
      expect(secret).toMatch(/^whsec_/);
      const webhookId: string = created.body.webhook.webhookId;
      expect(created.body.webhook).toMatchObject({ url: hook.url, events: ["task.status"] });

      const listed = await api.call("GET", "/v1/webhooks");
      expect(listed.body.webhooks).toEqual([created.body.webhook]);
      expect(listed.text).not.toContain(secret);

      const taskId = await submit();
      const done = await until("the COMPLETED delivery", () =>
        hook.received.find((r) => r.body.event.taskId === taskId && r.body.event.data.to === "COMPLETED"),
      );
      const mine = hook.received.filter((r) => r.body.event.taskId === taskId);
      // Only the subscribed type, each signed over the raw body, each with its own delivery id.
      for (const r of mine) {
        expect(r.body.type).toBe("task.status");
        expect(Signature.verify(secret, r.headers["conveyor-signature"] as string, r.raw, Date.now())).toBe(
          true,
        );
        expect(
          Signature.verify("whsec_other", r.headers["conveyor-signature"] as string, r.raw, Date.now()),
        ).toBe(false);
        expect(
          Signature.verify(secret, r.headers["conveyor-signature"] as string, `${r.raw} `, Date.now()),
        ).toBe(false);
        expect(r.headers["conveyor-delivery"]).toBe(r.body.deliveryId);
        expect(r.headers["conveyor-event"]).toBe("task.status");
      }
      expect(new Set(mine.map((r) => r.headers["conveyor-delivery"])).size).toBe(mine.length);
      // A replay of the same signature long after is refused by the receiver's window.
      const later = Date.now() + (Signature.TOLERANCE_SECONDS + 60) * 1000;
      expect(Signature.verify(secret, done.headers["conveyor-signature"] as string, done.raw, later)).toBe(
        false,
      );

      const deliveries = await until("the attempts listed", async () => {
        const res = await api.call("GET", `/v1/webhooks/${webhookId}/deliveries`);
        const ours = res.body.deliveries.filter((d: { taskId: string }) => d.taskId === taskId);
        return ours.length >= mine.length ? ours : undefined;
      });
      expect(deliveries[0]).toMatchObject({ outcome: "delivered", statusCode: 200, attempt: 1 });
      expect(typeof deliveries[0].durationMs).toBe("number");
      expect(deliveries.map((d: { deliveryId: string }) => d.deliveryId)).toContain(done.body.deliveryId);

      // Another user sees none of it.
      const { Auth } = await import("@conveyor/core/auth");
      const alice = apiClient(
        stack.apiUrl,
        await Auth.mint(stack.core, { tenantId: "local", userId: "alice" }),
      );
      expect((await alice.call("GET", `/v1/webhooks/${webhookId}/deliveries`)).status).toBe(404);
      expect((await alice.call("DELETE", `/v1/webhooks/${webhookId}`)).status).toBe(404);

      expect((await api.call("DELETE", `/v1/webhooks/${webhookId}`)).status).toBe(204);
      expect((await api.call("GET", `/v1/webhooks/${webhookId}`)).status).toBe(404);
    } finally {
      await hook.close();
    }
  });

  it("retries a delivery the receiver answered 500, with the same delivery id, until it succeeds", async () => {
    const hook = await receiver((r, all) =>
      all.some((p) => p.headers["conveyor-delivery"] === r.headers["conveyor-delivery"]) ? 200 : 500,
    );
    try {
      const created = await api.call("POST", "/v1/webhooks", { url: hook.url, events: ["task.submitted"] });
      const webhookId: string = created.body.webhook.webhookId;
      const taskId = await submit();
      const ok = await until("the retried delivery", () =>
        hook.received.find((r) => r.body.event.taskId === taskId && r.answered === 200),
      );
      const attempts = hook.received.filter((r) => r.body.deliveryId === ok.body.deliveryId);
      expect(attempts.map((r) => [r.answered, r.headers["conveyor-attempt"]])).toEqual([
        [500, "1"],
        [200, "2"],
      ]);
      const listed = await until("both attempts listed", async () => {
        const res = await api.call("GET", `/v1/webhooks/${webhookId}/deliveries`);
        return res.body.deliveries.length >= 2 ? res.body.deliveries : undefined;
      });
      // Newest first.
      expect(
        listed.map((d: { outcome: string; statusCode: number; attempt: number }) => [
          d.outcome,
          d.statusCode,
          d.attempt,
        ]),
      ).toEqual([
        ["delivered", 200, 2],
        ["retrying", 500, 1],
      ]);
      await api.call("DELETE", `/v1/webhooks/${webhookId}`);
    } finally {
      await hook.close();
    }
  });

  it("moves a delivery that keeps failing to WebhookDlq after the attempt limit", async () => {
    const hook = await receiver(() => 503);
    try {
      const created = await api.call("POST", "/v1/webhooks", { url: hook.url, events: ["task.submitted"] });
      const webhookId: string = created.body.webhook.webhookId;
      const taskId = await submit();
      const sqs = sqsClient(stack.sqsEndpoint);
      try {
        const letter = await until("the dead letter", async () => {
          const got = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl: stack.config.queues.webhookDlq, WaitTimeSeconds: 1 }),
          );
          return got.Messages?.find((m) => {
            const body = JSON.parse(m.Body ?? "{}");
            return body.event?.taskId === taskId && body.webhookId === webhookId;
          });
        });
        expect(JSON.parse(letter.Body!)).toMatchObject({ webhookId, event: { type: "task.submitted" } });
      } finally {
        sqs.destroy();
      }
      expect(hook.received.filter((r) => r.body.event.taskId === taskId)).toHaveLength(3);
      const listed = await api.call("GET", `/v1/webhooks/${webhookId}/deliveries`);
      expect(
        listed.body.deliveries.map((d: { outcome: string; attempt: number }) => [d.outcome, d.attempt]),
      ).toEqual([
        ["dead_lettered", 3],
        ["retrying", 2],
        ["retrying", 1],
      ]);
      expect(listed.body.deliveries[0]).toMatchObject({ statusCode: 503, outcome: "dead_lettered" });
    } finally {
      await hook.close();
    }
  });

  it("validates subscriptions at the edge", async () => {
    expect((await api.call("POST", "/v1/webhooks", { url: "ftp://example.com/x" })).body.error).toMatchObject(
      {
        code: "VALIDATION_ERROR",
      },
    );
    expect(
      (await api.call("POST", "/v1/webhooks", { url: "https://example.com", events: ["nope"] })).status,
    ).toBe(400);
    expect((await api.call("POST", "/v1/webhooks", { url: "https://example.com", extra: 1 })).status).toBe(
      400,
    );
  });
});
