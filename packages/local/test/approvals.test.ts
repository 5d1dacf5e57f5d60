import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { apiClient, sleep, startTestStack } from "./harness.ts";

type Api = ReturnType<typeof apiClient>;
type Event = { type: string; data: Record<string, unknown> };

/** Approval gates end to end: the HTTP API, the scripted brain in its own process, the status comment. */
describe("approval gates on the local stack", () => {
  let stack: LocalStack;
  let api: Api;
  let alice: Api;
  /** Tasks whose approval pushes the AgentCore emulator refuses, as if lost. */
  const lostPushes = new Set<string>();

  beforeAll(async () => {
    stack = await startTestStack({
      reconcileMs: 0,
      githubBatchingWindowMs: 100,
      // The agent re-reads a pending approval every heartbeat: short, so a lost push costs little.
      limits: { heartbeatMs: 200, heartbeatTimeoutMs: 30_000, cancelGraceMs: 30_000 },
      fault: (_sessionId, payload) => {
        const p = payload as { kind?: string; taskId?: string };
        return p.kind === "approval" && p.taskId && lostPushes.has(p.taskId) ? 500 : undefined;
      },
    });
    api = apiClient(stack.apiUrl, stack.token);
    const { Auth } = await import("@conveyor/core/auth");
    alice = apiClient(stack.apiUrl, await Auth.mint(stack.core, { tenantId: "local", userId: "alice" }));
  });
  afterAll(() => stack?.stop());

  async function gated(options: Record<string, unknown> = {}, body: Record<string, unknown> = {}) {
    const res = await api.submit({
      repo: "acme/api",
      description: "ship the gate",
      options: { turns: 3, stepMs: 20, approveAt: 2, ...options },
      ...body,
    });
    expect(res.status).toBe(201);
    const taskId = res.body.task.taskId as string;
    await api.waitFor(taskId, ["AWAITING_APPROVAL"], 60_000);
    const listed = await api.call("GET", `/v1/tasks/${taskId}/approvals`);
    expect(listed.status).toBe(200);
    const pending = listed.body.approvals.filter((a: { status: string }) => a.status === "pending");
    expect(pending).toHaveLength(1);
    return { taskId, approval: pending[0] };
  }
  const answer = (taskId: string, approvalId: string, body: unknown, client = api) =>
    client.call("POST", `/v1/tasks/${taskId}/approvals/${approvalId}`, body);
  const turnTwo = async (taskId: string) =>
    String(
      (await api.allEvents(taskId)).find((e: Event) => e.type === "agent.turn" && e.data.turn === 2)?.data
        .text,
    );

  it("pauses at the gate, shows it pending everywhere, resumes on approve; a second answer is 409", async () => {
    const { taskId, approval } = await gated({}, { prNumber: 7 });
    expect(approval).toMatchObject({
      taskId,
      action: "scripted",
      detail: expect.stringContaining("turn 2"),
      status: "pending",
    });
    expect(Date.parse(approval.expiresAt) - Date.parse(approval.createdAt)).toBe(300_000);
    const mine = await api.call("GET", "/v1/approvals?status=pending");
    expect(mine.body.approvals.map((a: { approvalId: string }) => a.approvalId)).toContain(
      approval.approvalId,
    );

    // The status comment asks the question and says how to answer it.
    const comment = join(stack.stateDir, "comments", `${taskId}.md`);
    for (let i = 0; i < 600; i++) {
      if (existsSync(comment) && readFileSync(comment, "utf8").includes("conveyor approve")) break;
      await sleep(100);
    }
    const body = readFileSync(comment, "utf8");
    expect(body).toContain(`conveyor approve ${taskId} ${approval.approvalId}`);
    expect(body).toContain(`conveyor deny ${taskId} ${approval.approvalId}`);

    const ok = await answer(taskId, approval.approvalId, { decision: "approve", comment: "fine" });
    expect(ok.status).toBe(200);
    expect(ok.body.approval).toMatchObject({
      status: "approved",
      decision: "approve",
      by: "dev",
      comment: "fine",
    });
    const again = await answer(taskId, approval.approvalId, { decision: "deny" });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({
      code: "CONFLICT",
      details: { reason: "approval.decided", approval: { decision: "approve", by: "dev" } },
    });

    const task = await api.waitFor(taskId, ["COMPLETED", "FAILED", "CANCELLED"]);
    expect(task.status).toBe("COMPLETED");
    expect(await turnTwo(taskId)).toContain("approved by dev");
    const types = (await api.allEvents(taskId)).map((e: Event) => e.type);
    expect(types.indexOf("approval.decided")).toBeGreaterThan(types.indexOf("approval.requested"));
    const decided = await api.call("GET", "/v1/approvals?status=decided");
    expect(decided.body.approvals.map((a: { approvalId: string }) => a.approvalId)).toContain(
      approval.approvalId,
    );
  }, 120_000);

  it("goes on without the step when denied", async () => {
    const { taskId, approval } = await gated();
    expect(
      (await answer(taskId, approval.approvalId, { decision: "deny", comment: "not today" })).status,
    ).toBe(200);
    const task = await api.waitFor(taskId, ["COMPLETED", "FAILED", "CANCELLED"]);
    expect(task.status).toBe("COMPLETED");
    expect(await turnTwo(taskId)).toContain("denied by dev");
    const decided = (await api.allEvents(taskId)).find((e: Event) => e.type === "approval.decided");
    expect(decided?.data).toEqual({
      approvalId: approval.approvalId,
      decision: "deny",
      by: "dev",
      comment: "not today",
    });
  }, 120_000);

  it("hides another user's approvals (404) and refuses a bad decision (400)", async () => {
    const { taskId, approval } = await gated();
    expect((await alice.call("GET", `/v1/tasks/${taskId}/approvals`)).status).toBe(404);
    expect((await answer(taskId, approval.approvalId, { decision: "approve" }, alice)).status).toBe(404);
    expect((await alice.call("GET", "/v1/approvals")).body.approvals).toEqual([]);
    const bad = await answer(taskId, approval.approvalId, { decision: "maybe" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("decision");
    expect((await answer(taskId, approval.approvalId, { decision: "deny" })).status).toBe(200);
    await api.waitFor(taskId, ["COMPLETED"]);
  }, 120_000);

  it("picks up a decision whose push was lost at the agent's next heartbeat", async () => {
    const { taskId, approval } = await gated();
    lostPushes.add(taskId);
    expect((await answer(taskId, approval.approvalId, { decision: "approve" })).status).toBe(200);
    const task = await api.waitFor(taskId, ["COMPLETED", "FAILED", "CANCELLED"]);
    expect(task.status).toBe("COMPLETED");
    // The push was sent and refused: only the heartbeat's re-read can have woken the agent.
    expect(
      stack.agentcore.calls.some(
        (c) =>
          c.op === "invoke" &&
          (c.payload as { kind?: string; taskId?: string }).taskId === taskId &&
          (c.payload as { kind?: string }).kind === "approval",
      ),
    ).toBe(true);
    expect(await turnTwo(taskId)).toContain("approved by dev");
  }, 120_000);

  it("cancels while waiting: CANCELLED, and the approval is settled, never left pending", async () => {
    const { taskId, approval } = await gated();
    expect((await api.call("POST", `/v1/tasks/${taskId}/cancel`)).status).toBe(202);
    const task = await api.waitFor(taskId, ["CANCELLED", "COMPLETED", "FAILED"]);
    expect(task.status).toBe("CANCELLED");
    let settled: { status: string; by?: string } | undefined;
    for (let i = 0; i < 200; i++) {
      settled = (await api.call("GET", `/v1/tasks/${taskId}/approvals`)).body.approvals[0];
      if (settled?.status !== "pending") break;
      await sleep(50);
    }
    expect(settled).toMatchObject({ approvalId: approval.approvalId, status: "denied", by: "cancelled" });
    expect(
      (await api.allEvents(taskId)).some((e: Event) => e.type === "agent.turn" && e.data.turn === 3),
    ).toBe(false);
  }, 120_000);

  it("takes approvals at submit, stores and serves them, and names a bad field", async () => {
    const ok = await api.submit({
      repo: "acme/api",
      description: "ci run",
      options: { turns: 2, stepMs: 0, approveAt: 1 },
      approvals: { mode: "auto", allow: ["network"], timeoutS: 60 },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.task.approvals).toEqual({ mode: "auto", allow: ["network"], timeoutS: 60 });
    const done = await api.waitFor(ok.body.task.taskId, ["COMPLETED", "FAILED"]);
    expect(done.status).toBe("COMPLETED");
    expect((await api.task(ok.body.task.taskId)).body.task.approvals).toEqual({
      mode: "auto",
      allow: ["network"],
      timeoutS: 60,
    });
    const events = await api.allEvents(ok.body.task.taskId);
    expect(events.some((e: Event) => e.type === "task.status" && e.data.to === "AWAITING_APPROVAL")).toBe(
      false,
    );
    expect(events.find((e: Event) => e.type === "approval.decided")?.data).toMatchObject({ by: "policy" });

    const plain = await api.submit({ repo: "acme/api", description: "x", options: { turns: 1, stepMs: 0 } });
    expect(plain.body.task.approvals).toEqual({ mode: "ask", timeoutS: 300 });

    const badRule = await api.submit({
      repo: "acme/api",
      description: "x",
      approvals: { allow: ["network", "yolo"] },
    });
    expect(badRule.status).toBe(400);
    expect(badRule.body.error.message).toContain("approvals.allow.1");
    expect(badRule.body.error.message).toContain("force-push");
    const badTimeout = await api.submit({ repo: "acme/api", description: "x", approvals: { timeoutS: 10 } });
    expect(badTimeout.status).toBe(400);
    expect(badTimeout.body.error.message).toContain("approvals.timeoutS");
    const badOption = await api.submit({
      repo: "acme/api",
      description: "x",
      options: { approvalTimeoutS: 5 },
    });
    expect(badOption.status).toBe(400);
    expect(badOption.body.error.message).toContain("approvalTimeoutS");
  }, 120_000);
});
