import { createHmac } from "node:crypto";
import { beforeAll, describe, expect, it, vi } from "vitest";

const SECRET = "route-test-secret";
let app: typeof import("./index.ts").app;

/** The route in memory: what is decided before anything reaches core or a table. */
describe("POST /v1/github/webhook", () => {
  beforeAll(async () => {
    vi.stubEnv("GITHUB_WEBHOOK_SECRET", SECRET);
    ({ app } = await import("./index.ts"));
  });
  const post = (body: string, headers: Record<string, string>) =>
    app.request("/v1/github/webhook", {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });

  it("is not behind the bearer token: an unsigned delivery is 401 for its signature, not its token", async () => {
    const res = await post("{}", { "x-github-event": "ping", "x-github-delivery": "d-1" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      error: { code: "UNAUTHORIZED", details: { reason: "github.signature" } },
    });
  });

  it("refuses a signature that does not match the body", async () => {
    const signature = `sha256=${createHmac("sha256", "other").update("{}").digest("hex")}`;
    const res = await post("{}", { "x-github-event": "ping", "x-hub-signature-256": signature });
    expect(res.status).toBe(401);
  });

  it("answers a signed ping without touching a table", async () => {
    const body = '{"zen":"Design for failure."}';
    const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
    const res = await post(body, { "x-github-event": "ping", "x-hub-signature-256": signature });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 200, outcome: "pong" });
  });

  it("answers a delivery over 1 MB with 413", async () => {
    const res = await post("x".repeat(1024 * 1024 + 1), { "x-hub-signature-256": "sha256=00" });
    expect(res.status).toBe(413);
  });
});
