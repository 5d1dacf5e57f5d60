import { ConflictError, VisibleError } from "@conveyor/core/error";
import { logger } from "@conveyor/core/log";
import { Hono } from "hono";
import * as v from "valibot";
import { describe, expect, it, vi } from "vitest";
import { errorResponse, httpError } from "./error.ts";

function appThrowing(error: unknown) {
  const app = new Hono().get("/", () => {
    throw error;
  });
  app.onError(errorResponse);
  return app;
}

describe("error mapping", () => {
  it.each([
    [new VisibleError("input", "x.bad", "bad"), 400, "VALIDATION_ERROR"],
    [new VisibleError("auth", "auth.invalid_token", "no"), 401, "UNAUTHORIZED"],
    [new VisibleError("forbidden", "x", "no"), 403, "FORBIDDEN"],
    [new VisibleError("not_found", "task.not_found", "gone"), 404, "NOT_FOUND"],
    [new ConflictError("task.terminal", "done"), 409, "CONFLICT"],
    [new VisibleError("quota", "quota.queued_limit", "full"), 429, "QUOTA_EXCEEDED"],
    [new VisibleError("rate_limit", "nudge.rate", "slow down"), 429, "RATE_LIMITED"],
  ])("maps %s to %i %s with its reason", async (error, status, code) => {
    const res = await appThrowing(error).request("/");
    expect(res.status).toBe(status);
    const body = (await res.json()) as {
      error: { code: string; message: string; details: { reason: string } };
    };
    expect(body.error.code).toBe(code);
    expect(body.error.details.reason).toBe((error as VisibleError).code);
  });

  it("maps a valibot error to 400 with the issue paths", async () => {
    const error = (() => {
      try {
        v.parse(v.object({ repo: v.string() }), { repo: 5 });
      } catch (e) {
        return e;
      }
    })();
    const res = await appThrowing(error).request("/");
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      error: { code: string; message: string; details: { reason: string } };
    };
    expect(body.error.code).toBe("VALIDATION_ERROR");
    expect(body.error.message).toBe("repo: must be text");
  });

  it.each([
    [413, "request.too_large", "PAYLOAD_TOO_LARGE"],
    [415, "request.content_type", "VALIDATION_ERROR"],
    [405, "request.method", "VALIDATION_ERROR"],
  ] as const)("maps an HTTP %i about the request to %s with its reason", async (status, reason, code) => {
    const res = await appThrowing(httpError(status, reason, "about the request")).request("/");
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: "about the request", details: { reason } } });
  });

  it("answers anything else 500 INTERNAL without leaking its message", async () => {
    const log = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    const res = await appThrowing(new Error("secret table name t-123")).request("/");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("secret");
    expect(JSON.parse(text).error.code).toBe("INTERNAL");
    expect(log).toHaveBeenCalledWith(
      "unhandled",
      expect.objectContaining({ error: "Error: secret table name t-123", path: "/" }),
    );
    log.mockRestore();
  });
});
