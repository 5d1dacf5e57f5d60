import { describe, expect, it } from "vitest";
import { app } from "./index.ts";

const ORIGIN = "https://dashboard.example.com";

describe("HTTP edges", () => {
  describe("methods", () => {
    it.each([
      ["DELETE", "/v1/tasks/01M80A6R8REXYA6GNV4VJ8FN8P", "GET, HEAD"],
      ["PUT", "/v1/tasks", "GET, HEAD, POST"],
      ["GET", "/v1/tasks/01M80A6R8REXYA6GNV4VJ8FN8P/cancel", "POST"],
      ["POST", "/health", "GET, HEAD"],
    ])("answers %s %s with 405 and Allow: %s", async (method, path, allow) => {
      const res = await app.request(path, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      const body = (await res.json()) as { error: { code: string; message: string; details: unknown } };
      expect(body.error).toEqual({
        code: "VALIDATION_ERROR",
        message: `${method} is not allowed on ${path} (allowed: ${allow})`,
        details: { reason: "request.method" },
      });
    });

    it("keeps 404 for a path that does not exist", async () => {
      const res = await app.request("/nothing", { method: "DELETE" });
      expect(res.status).toBe(404);
      expect(res.headers.get("allow")).toBeNull();
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    });
  });

  describe("body size", () => {
    it("answers a body over 64 KB with 413 PAYLOAD_TOO_LARGE", async () => {
      const res = await app.request("/v1/tasks", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ repo: "acme/api", description: "x".repeat(70_000) }),
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        error: {
          code: "PAYLOAD_TOO_LARGE",
          message: "Request body over 64 KB",
          details: { reason: "request.too_large" },
        },
      });
    });
  });

  describe("CORS", () => {
    it("answers a preflight with 204 and the headers a browser needs, without a token", async () => {
      const res = await app.request("/v1/tasks", {
        method: "OPTIONS",
        headers: {
          origin: ORIGIN,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type, idempotency-key",
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-allow-methods")?.split(",")).toContain("POST");
      expect(res.headers.get("access-control-allow-headers")?.toLowerCase().split(",")).toEqual(
        expect.arrayContaining(["authorization", "content-type", "idempotency-key"]),
      );
    });

    it("lets a page on another origin read answers, errors included", async () => {
      const health = await app.request("/health", { headers: { origin: ORIGIN } });
      expect(health.status).toBe(200);
      expect(health.headers.get("access-control-allow-origin")).toBe("*");

      const refused = await app.request("/v1/tasks", { headers: { origin: ORIGIN } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("access-control-allow-origin")).toBe("*");

      const wrongMethod = await app.request("/v1/tasks", { method: "PUT", headers: { origin: ORIGIN } });
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get("access-control-allow-origin")).toBe("*");
    });
  });
});
