import { Auth } from "@conveyor/core/auth";
import { store } from "@conveyor/core/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { apiClient, startTestStack } from "./harness.ts";

const CODES = [
  "VALIDATION_ERROR",
  "NOT_FOUND",
  "CONFLICT",
  "QUOTA_EXCEEDED",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "RATE_LIMITED",
];

describe("HTTP API", () => {
  let stack: LocalStack;
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    stack = await startTestStack({ limits: { activePerUser: 2, queuedPerUser: 1 } });
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(() => stack?.stop());

  async function userApi(userId: string) {
    return apiClient(stack.apiUrl, await Auth.mint(stack.core, { tenantId: "local", userId }));
  }

  describe("authentication", () => {
    it.each([
      ["no token", undefined],
      ["a malformed token", "not-a-token"],
      ["an unknown token", `cvy_${"A".repeat(43)}`],
    ])("refuses %s with 401 UNAUTHORIZED", async (_, token) => {
      const res = await apiClient(stack.apiUrl, token).call("GET", "/v1/tasks");
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHORIZED");
    });
  });

  describe("bad input is a 4xx with the documented shape", () => {
    const cases: [string, unknown, number, string][] = [
      ["malformed JSON", "{not json", 400, "VALIDATION_ERROR"],
      ["a JSON array", [], 400, "VALIDATION_ERROR"],
      ["a missing description", { repo: "acme/api" }, 400, "VALIDATION_ERROR"],
      ["a bad repo", { repo: "acme", description: "x" }, 400, "VALIDATION_ERROR"],
      ["a repo with a path", { repo: "acme/api/../x", description: "x" }, 400, "VALIDATION_ERROR"],
      ["a wrong type", { repo: "acme/api", description: 5 }, 400, "VALIDATION_ERROR"],
      [
        "an oversized description",
        { repo: "acme/api", description: "x".repeat(10_001) },
        400,
        "VALIDATION_ERROR",
      ],
      ["an unknown key", { repo: "acme/api", description: "x", admin: true }, 400, "VALIDATION_ERROR"],
      [
        "maxTurns out of range",
        { repo: "acme/api", description: "x", maxTurns: 501 },
        400,
        "VALIDATION_ERROR",
      ],
      ["a fractional PR", { repo: "acme/api", description: "x", prNumber: 1.5 }, 400, "VALIDATION_ERROR"],
      [
        "too many options",
        {
          repo: "acme/api",
          description: "x",
          options: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])),
        },
        400,
        "VALIDATION_ERROR",
      ],
      [
        "a nested option",
        { repo: "acme/api", description: "x", options: { a: { b: 1 } } },
        400,
        "VALIDATION_ERROR",
      ],
      ["a body over 64 KB", { repo: "acme/api", description: "x".repeat(70_000) }, 413, "PAYLOAD_TOO_LARGE"],
    ];
    it.each(cases)("%s", async (_, body, status, code) => {
      const res = await api.submit(body);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(typeof res.body.error.message).toBe("string");
      expect(res.text).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    });

    it("answers unknown and malformed ids with 404 NOT_FOUND", async () => {
      for (const id of ["01M80A6R8REXYA6GNV4VJ8FN8P", "nope", "../../etc"]) {
        const res = await api.task(id);
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe("NOT_FOUND");
      }
    });

    it("refuses bad event cursors and limits with 400", async () => {
      const { body } = await api.submit({
        repo: "acme/api",
        description: "cursor checks",
        options: { turns: 1, stepMs: 0 },
      });
      for (const query of ["?after=nope", "?limit=0", "?limit=101", "?limit=abc"]) {
        const res = await api.events(body.task.taskId, query);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("VALIDATION_ERROR");
      }
    });

    it("refuses a tampered or foreign list cursor with 400", async () => {
      const mine = await userApi("lister");
      for (let i = 0; i < 2; i++)
        await mine.submit({ repo: "acme/api", description: `list ${i}`, options: { turns: 1, stepMs: 0 } });
      const page = await mine.call("GET", "/v1/tasks?limit=1");
      expect(page.body.nextCursor).toBeTruthy();
      const foreign = await api.call("GET", `/v1/tasks?cursor=${page.body.nextCursor}`);
      expect(foreign.status).toBe(400);
      const tampered = await mine.call("GET", `/v1/tasks?cursor=${page.body.nextCursor.slice(0, -2)}xx`);
      expect(tampered.status).toBe(400);
      const next = await mine.call("GET", `/v1/tasks?limit=1&cursor=${page.body.nextCursor}`);
      expect(next.status).toBe(200);
      expect(next.body.tasks[0].taskId).not.toBe(page.body.tasks[0].taskId);
    });

    it("never answers 500 to a few hundred random bodies", async () => {
      let seed = 42;
      const rand = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)]!;
      const value = (depth = 0): unknown =>
        pick<() => unknown>([
          () => null,
          () => rand() > 0.5,
          () => Math.floor(rand() * 1_000) - 500,
          () => rand() * 1e12,
          () => "x".repeat(Math.floor(rand() * 300)),
          () => pick(["acme/api", "", " ", "a/b/c", "💥/🔥", "<script>", "acme/api\n", "null"]),
          () => (depth < 2 ? Array.from({ length: Math.floor(rand() * 3) }, () => value(depth + 1)) : []),
          () => (depth < 2 ? body(depth + 1) : {}),
        ])();
      const keys = [
        "repo",
        "description",
        "prNumber",
        "issueNumber",
        "maxTurns",
        "maxBudgetUsd",
        "options",
        "__proto__",
        "constructor",
        "x",
      ];
      const body = (depth = 0) =>
        Object.fromEntries(Array.from({ length: Math.floor(rand() * 6) }, () => [pick(keys), value(depth)]));
      const statuses = new Map<number, number>();
      const fuzz = await userApi("fuzzer");
      for (let i = 0; i < 300; i++) {
        const raw = i % 10 === 0 ? JSON.stringify(body()).slice(0, Math.floor(rand() * 40)) : body();
        const res = await fuzz.submit(raw);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, JSON.stringify(raw).slice(0, 200)).toBeLessThan(500);
        if (res.status >= 400) expect(CODES).toContain(res.body.error.code);
      }
      expect(statuses.get(400)).toBeGreaterThan(100);
    });
  });

  describe("words, media types, methods and browsers", () => {
    it("says which field is wrong and what it should be", async () => {
      const unknown = await api.submit({ repo: "acme/api", description: "x", admin: true });
      expect(unknown.body.error.message).toBe(
        "admin: not a known field (allowed: repo, description, prNumber, issueNumber, maxTurns, maxBudgetUsd, options, approvals)",
      );
      const turns = await api.submit({ repo: "acme/api", description: "x", maxTurns: 501 });
      expect(turns.body.error.message).toBe("maxTurns: must be a whole number from 1 to 500");
      const limit = await api.call("GET", "/v1/tasks?limit=abc");
      expect(limit.status).toBe(400);
      expect(limit.body.error.message).toBe("limit: must be a whole number from 1 to 100");
    });

    it("refuses task options the brain cannot take at submit, naming the option", async () => {
      const turns = await api.submit({ repo: "acme/api", description: "x", options: { turns: "abc" } });
      expect(turns.status).toBe(400);
      expect(turns.body.error).toMatchObject({
        code: "VALIDATION_ERROR",
        message: "options.turns: must be a whole number from 1 to 500",
      });
      const unknown = await api.submit({ repo: "acme/api", description: "x", options: { turnz: 3 } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toBe(
        "options.turnz: not an option of the scripted brain (allowed: brain, turns, stepMs, failAtTurn, crashAtTurn, ignoreCancel, ignoreNudges, approveAt, approvalTimeoutS)",
      );
      const claude = await api.submit({
        repo: "acme/api",
        description: "x",
        options: { brain: "claude", branch: "bad branch" },
      });
      expect(claude.status).toBe(400);
      expect(claude.body.error.message).toMatch(/^options\.branch: must be a valid git branch name/);
    });

    it("answers a body that is not declared JSON with 415, not as a missing repo", async () => {
      const body = JSON.stringify({ repo: "acme/api", description: "x" });
      const res = await api.call("POST", "/v1/tasks", body, { "content-type": "text/plain" });
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe("VALIDATION_ERROR");
      expect(res.body.error.message).toContain("Content-Type: application/json");
    });

    it("answers a wrong method on a known path with 405 and Allow", async () => {
      const res = await api.call("DELETE", "/v1/tasks/01M80A6R8REXYA6GNV4VJ8FN8P");
      expect(res.status).toBe(405);
      expect(res.body.error.code).toBe("VALIDATION_ERROR");
      const raw = await fetch(`${stack.apiUrl}/v1/tasks`, { method: "PUT" });
      expect(raw.status).toBe(405);
      expect(raw.headers.get("allow")).toBe("GET, HEAD, POST");
    });

    it("answers a CORS preflight with 204 and lets another origin read answers", async () => {
      const origin = "http://localhost:5173";
      const preflight = await fetch(`${stack.apiUrl}/v1/tasks`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type,idempotency-key",
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
      expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
        "idempotency-key",
      );
      const list = await fetch(`${stack.apiUrl}/v1/tasks`, {
        headers: { origin, authorization: `Bearer ${stack.token}` },
      });
      expect(list.status).toBe(200);
      expect(list.headers.get("access-control-allow-origin")).toBe("*");
    });

    it("pages a task's events and ends the cursor once the task has ended and is read", async () => {
      const { body } = await api.submit({
        repo: "acme/api",
        description: "paging",
        options: { turns: 1, stepMs: 0 },
      });
      const taskId = body.task.taskId;
      await api.waitFor(taskId, ["COMPLETED"]);
      const all = await api.allEvents(taskId);
      expect(all.length).toBeGreaterThan(2);
      const first = await api.events(taskId, "?limit=2");
      expect(first.body.events.map((e: { eventId: string }) => e.eventId)).toEqual(
        all.slice(0, 2).map((e) => e.eventId),
      );
      expect(first.body.nextCursor).toBe(all[1].eventId);
      const rest = await api.events(taskId, `?after=${first.body.nextCursor}&limit=100`);
      expect(rest.body.events).toHaveLength(all.length - 2);
      expect(rest.body.nextCursor).toBeUndefined();
    });
  });

  describe("isolation", () => {
    it("hides another user's task and its events as NOT_FOUND", async () => {
      const alice = apiClient(stack.apiUrl, stack.tokens.alice);
      const { body } = await alice.submit({
        repo: "acme/api",
        description: "alice's",
        options: { turns: 1, stepMs: 0 },
      });
      for (const res of [await api.task(body.task.taskId), await api.events(body.task.taskId)]) {
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe("NOT_FOUND");
      }
      const list = await api.call("GET", "/v1/tasks?limit=100");
      expect(list.status, list.text).toBe(200);
      expect(list.body.tasks.map((t: { taskId: string }) => t.taskId)).not.toContain(body.task.taskId);
    });
  });

  describe("idempotency", () => {
    it("replays the same key and body with 200, refuses another body with 409", async () => {
      const user = await userApi("idem");
      const body = { repo: "acme/api", description: "once", options: { turns: 1, stepMs: 0 } };
      const first = await user.submit(body, { "idempotency-key": "abc-1" });
      const again = await user.submit(body, { "idempotency-key": "abc-1" });
      expect(first.status).toBe(201);
      expect(again.status).toBe(200);
      expect(again.body.task.taskId).toBe(first.body.task.taskId);
      const other = await user.submit({ ...body, description: "twice" }, { "idempotency-key": "abc-1" });
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe("CONFLICT");
      const bad = await user.submit(body, { "idempotency-key": "has space" });
      expect(bad.status).toBe(400);
    });
  });

  describe("quota", () => {
    it("queues the third concurrent task with position 1, runs it when a slot frees, refuses past the queued limit", async () => {
      const user = await userApi("quota");
      const slow = { repo: "acme/api", description: "slow", options: { turns: 3, stepMs: 300 } };
      const a = await user.submit(slow);
      const b = await user.submit(slow);
      const c = await user.submit({ ...slow, description: "third" });
      expect([a.body.task.status, b.body.task.status]).toEqual(["SUBMITTED", "SUBMITTED"]);
      expect(c.body.task).toMatchObject({ status: "QUEUED", queuePosition: 1 });
      const read = await user.task(c.body.task.taskId);
      expect(read.body.task.queuePosition).toBe(1);

      const refused = await user.submit(slow);
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({
        code: "QUOTA_EXCEEDED",
        details: { reason: "quota.queued_limit" },
      });

      const third = await user.waitFor(c.body.task.taskId, ["COMPLETED"], 30_000);
      expect(third.queuePosition).toBeUndefined();
      const events = await user.allEvents(c.body.task.taskId);
      expect(events.find((e) => e.type === "task.status")?.data).toMatchObject({
        from: "QUEUED",
        to: "SUBMITTED",
        reason: "promoted",
      });
      for (const t of [a, b]) await user.waitFor(t.body.task.taskId, ["COMPLETED"]);
      const quota = await store(stack.core).quota.get({ tenantId: "local", userId: "quota" }).go();
      expect(quota.data).toMatchObject({ active: 0, queued: 0 });
    });
  });
});
