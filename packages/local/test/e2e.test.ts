import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { apiClient, startTestStack } from "./harness.ts";

const fast = { turns: 3, stepMs: 20 };

describe("local stack end to end", () => {
  let stack: LocalStack;
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    stack = await startTestStack();
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(() => stack?.stop());

  it("serves /health without a token", async () => {
    const res = await apiClient(stack.apiUrl).call("GET", "/health");
    expect(res).toMatchObject({ status: 200, body: { ok: true } });
  });

  it("runs a task from HTTP submit to COMPLETED and pages every event once, oldest first", async () => {
    const submitted = await api.submit({
      repo: "acme/api",
      description: "add a health check",
      options: fast,
    });
    expect(submitted.status).toBe(201);
    const { taskId } = submitted.body.task;
    const done = await api.waitFor(taskId, ["COMPLETED", "FAILED"]);
    expect(done.status).toBe("COMPLETED");
    expect(done.result.prUrl).toMatch(/^https:\/\/github\.com\/acme\/api\/pull\/\d+$/);
    expect(done.turns).toBe(3);
    expect(typeof done.costUsd).toBe("number");

    const whole = await api.events(taskId, "?limit=100");
    const paged = await api.allEvents(taskId, 3);
    expect(paged).toEqual(whole.body.events);
    const ids = paged.map((e) => e.eventId);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const types = paged.map((e) => e.type);
    expect(types[0]).toBe("task.submitted");
    expect(types.filter((t) => t === "agent.turn")).toHaveLength(3);
    expect(types).toContain("agent.tool_call");
    expect(types).toContain("agent.tool_result");
    expect(types).toContain("agent.cost");
    expect(paged.filter((e) => e.type === "agent.milestone").map((e) => e.data.name)).toContain(
      "pull request opened",
    );
    expect(paged.filter((e) => e.type === "task.status").map((e) => e.data.to)).toEqual([
      "STARTING",
      "RUNNING",
      "COMPLETED",
    ]);
    // A finished task's last page has no nextCursor; an `after` past the end answers nothing.
    const tail = await api.events(taskId, `?after=${ids.at(-1)}`);
    expect(tail.body).toEqual({ events: [] });
  });

  it("ends a failAtTurn task FAILED with the reason and an agent.error event", async () => {
    const submitted = await api.submit({
      repo: "acme/api",
      description: "break on purpose",
      options: { ...fast, failAtTurn: 2 },
    });
    const task = await api.waitFor(submitted.body.task.taskId, ["COMPLETED", "FAILED"]);
    expect(task.status).toBe("FAILED");
    expect(task.error).toEqual({ code: "agent_error", message: "Scripted failure at turn 2" });
    const events = await api.allEvents(task.taskId);
    expect(events.find((e) => e.type === "agent.error")?.data).toEqual({
      message: "Scripted failure at turn 2",
      fatal: true,
    });
    expect(events.at(-1)).toMatchObject({
      type: "task.status",
      data: { to: "FAILED", reason: "agent_error" },
    });
  });

  it("leaves a crashed agent's task RUNNING, untouched, for the reconciler", async () => {
    const submitted = await api.submit({
      repo: "acme/api",
      description: "crash on purpose",
      options: { turns: 5, stepMs: 20, crashAtTurn: 2 },
    });
    const { taskId } = submitted.body.task;
    await api.waitFor(taskId, ["RUNNING"]);
    const sessionId = `conveyor-task-${taskId}`;
    // The session's agent process dies; the emulator forgets it.
    const deadline = Date.now() + 15_000;
    while (stack.agentcore.sessions().includes(sessionId) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stack.agentcore.sessions()).not.toContain(sessionId);
    const task = (await api.task(taskId)).body.task;
    expect(task.status).toBe("RUNNING");
    expect(task.finishedAt).toBeUndefined();
    const events = await api.allEvents(taskId);
    expect(events.filter((e) => e.type === "agent.turn").map((e) => e.data.turn)).toEqual([1]);
    expect(events.some((e) => e.type === "agent.error")).toBe(false);
    expect(events.filter((e) => e.type === "task.status").map((e) => e.data.to)).toEqual([
      "STARTING",
      "RUNNING",
    ]);
  });

  it("keeps the submission's source, as stored, on the wire", async () => {
    const submitted = await api.submit(
      { repo: "acme/api", description: "from the cli", prNumber: 12, options: fast },
      { "x-conveyor-source": "cli" },
    );
    const read = await api.task(submitted.body.task.taskId);
    expect(read.body.task).toMatchObject({ source: "cli", prNumber: 12, repo: "acme/api" });
  });
});
