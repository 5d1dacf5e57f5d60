import { TaskEvent } from "@conveyor/core/event";
import { Task } from "@conveyor/core/task";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { errorResponse } from "./error.ts";
import { validate } from "./validate.ts";

// The routes' own validators, in front of a handler that echoes what passed.
const app = new Hono()
  .post("/tasks", validate("json", Task.SubmitInput), (c) => c.json(c.req.valid("json"), 200))
  .get("/events", validate("query", TaskEvent.PageInput), (c) => c.json(c.req.valid("query"), 200));
app.onError(errorResponse);

interface Answer {
  error: { code: string; message: string; details?: { reason?: string; issues?: unknown[] } };
}

// Bytes, so that no Content-Type is added unless the test gives one.
const submit = (body: unknown, contentType: string | null = "application/json") =>
  app.request("/tasks", {
    method: "POST",
    headers: contentType ? { "content-type": contentType } : {},
    body: new TextEncoder().encode(JSON.stringify(body)),
  });

const ok = { repo: "acme/api", description: "add a health check" };

describe("validate", () => {
  describe("media type", () => {
    it.each([
      ["text/plain", "text/plain"],
      ["no Content-Type", null],
      ["a form", "application/x-www-form-urlencoded"],
    ])("answers a body sent as %s with 415, not as a missing repo", async (_, contentType) => {
      const res = await submit(ok, contentType);
      expect(res.status).toBe(415);
      const body = (await res.json()) as Answer;
      expect(body.error.code).toBe("VALIDATION_ERROR");
      expect(body.error.details?.reason).toBe("request.content_type");
      expect(body.error.message).toContain("Content-Type: application/json");
      expect(body.error.message).not.toContain("repo");
    });

    it("takes JSON with a charset", async () => {
      const res = await submit(ok, "application/json; charset=utf-8");
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject(ok);
    });
  });

  describe("messages in words", () => {
    it.each([
      [
        "an unknown key, listing the allowed ones",
        { ...ok, admin: true },
        "admin: not a known field (allowed: repo, description, prNumber, issueNumber, maxTurns, maxBudgetUsd, options, approvals)",
      ],
      ["maxTurns out of range", { ...ok, maxTurns: 501 }, "maxTurns: must be a whole number from 1 to 500"],
      ["maxTurns as text", { ...ok, maxTurns: "abc" }, "maxTurns: must be a whole number from 1 to 500"],
      ["a fractional PR", { ...ok, prNumber: 1.5 }, "prNumber: must be a whole number, 1 or more"],
      ["a budget of zero", { ...ok, maxBudgetUsd: 0 }, "maxBudgetUsd: must be a number from 0.01 to 100"],
      ["a bad repo", { ...ok, repo: "acme" }, "repo: must be owner/name"],
      ["a missing repo", { description: "x" }, "repo: is required; must be text"],
      [
        "an empty description",
        { ...ok, description: " " },
        "description: must be text of 1 to 10000 characters",
      ],
      [
        "a nested option",
        { ...ok, options: { a: { b: 1 } } },
        "options.a: must be text of at most 256 characters, a number, or true or false",
      ],
      [
        "too many options",
        { ...ok, options: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])) },
        "options: at most 20 options",
      ],
    ])("%s", async (_, body, message) => {
      const res = await submit(body);
      expect(res.status).toBe(400);
      const answer = (await res.json()) as Answer;
      expect(answer.error.code).toBe("VALIDATION_ERROR");
      expect(answer.error.message).toBe(message);
      expect(answer.error.details?.issues?.[0]).toEqual({
        path: message.slice(0, message.indexOf(":")),
        message: message.slice(message.indexOf(":") + 2),
      });
    });

    it("says what a query parameter should be", async () => {
      for (const query of ["limit=0", "limit=101", "limit=abc", "limit=1.5"]) {
        const res = await app.request(`/events?${query}`);
        expect(res.status).toBe(400);
        expect(((await res.json()) as Answer).error.message).toBe(
          "limit: must be a whole number from 1 to 100",
        );
      }
      const after = await app.request("/events?after=nope");
      expect(((await after.json()) as Answer).error.message).toBe("after: must be an event id (ULID)");
      expect(await (await app.request("/events?limit=7")).json()).toEqual({ limit: 7 });
    });
  });

  describe("task options, checked against the chosen brain", () => {
    it.each([
      [{ turns: "abc" }, "options.turns: must be a whole number from 1 to 500"],
      [{ turns: 0 }, "options.turns: must be a whole number from 1 to 500"],
      [{ stepMs: -1 }, "options.stepMs: must be a number of milliseconds from 0 to 60000"],
      [{ failAtTurn: 0 }, "options.failAtTurn: must be a whole number, 1 or more"],
      [{ ignoreCancel: "yes" }, "options.ignoreCancel: must be true or false"],
      [
        { model: "opus" },
        "options.model: not an option of the scripted brain (allowed: brain, turns, stepMs, failAtTurn, crashAtTurn, ignoreCancel, ignoreNudges, approveAt, approvalTimeoutS)",
      ],
      [
        { brain: "claude", turns: 3 },
        "options.turns: not an option of the claude brain (allowed: brain, model, branch)",
      ],
      [{ brain: "gpt" }, 'options.brain: must be one of "scripted", "claude"'],
      [{ brain: "claude", model: "" }, "options.model: must be a model name of 1 to 128 characters"],
      [
        { brain: "claude", branch: "fix..it" },
        "options.branch: must be a valid git branch name (no spaces, `..`, `~^:?*[\\`, `@{`)",
      ],
    ])("refuses %j naming the option", async (options, message) => {
      const res = await submit({ ...ok, options });
      expect(res.status).toBe(400);
      expect(((await res.json()) as Answer).error.message).toBe(message);
    });

    it.each([
      [{ turns: 3, stepMs: 0, failAtTurn: 2, ignoreNudges: true }],
      [{ brain: "scripted", turns: 1 }],
      [{ brain: "claude", model: "claude-sonnet-4-5", branch: "conveyor/fix-health" }],
    ])("takes %j as given", async (options) => {
      const res = await submit({ ...ok, options });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { options: unknown }).options).toEqual(options);
    });
  });
});
