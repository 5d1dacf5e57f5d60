import { type AgentContext, Bell, runTask } from "@conveyor/agent-kit";
import { Actor } from "@conveyor/core/actor";
import { Approval } from "@conveyor/core/approval";
import type { Core } from "@conveyor/core/core";
import { ConflictError, VisibleError } from "@conveyor/core/error";
import { TaskEvent } from "@conveyor/core/event";
import { Reconciler } from "@conveyor/core/reconcile";
import type { AgentRuntime, RuntimePayload } from "@conveyor/core/runtime";
import { Task } from "@conveyor/core/task";
import { beforeAll, describe, expect, it } from "vitest";
import { recordingQueue, sleep, testCore } from "./harness.ts";

/**
 * The Approval domain on DynamoDB Local with an injected clock: deadlines pass when the test
 * moves the clock, never by waiting. The runtime port is in-process: a push rings the run's bell
 * or aborts it, as the agent server does, unless the test drops it.
 */
describe("approval gates (core, injected clock)", () => {
  let core: Core;
  let clock = Date.now();
  const pushes: RuntimePayload[] = [];
  const runs = new Map<string, { controller: AbortController; bell: Bell }>();
  let dropApprovalPushes = false;
  const runtime: AgentRuntime = {
    async invoke(_sessionId, payload) {
      pushes.push(payload);
      const run = runs.get(payload.taskId);
      if (payload.kind === "cancel") run?.controller.abort(new Error("cancelled"));
      if (payload.kind === "approval" && !dropApprovalPushes) run?.bell.ring();
    },
    async stop() {},
  };
  const alice = { type: "user" as const, tenantId: "gates", userId: "alice" };
  const bob = { type: "user" as const, tenantId: "gates", userId: "bob" };
  const system = { type: "system" as const, name: "test" };

  beforeAll(async () => {
    core = await testCore({
      queue: recordingQueue(),
      runtime,
      now: () => clock,
      limits: { heartbeatMs: 50, heartbeatTimeoutMs: 60_000, indexSettleMs: 10 },
    });
  });

  /** A task of alice's, moved to RUNNING as the dispatcher and agent would. */
  async function runningTask(body: Record<string, unknown> = {}) {
    const { task } = await Actor.provide(alice, () =>
      Task.submit(core, { repo: "acme/api", description: "gated", ...body }),
    );
    await Actor.provide(system, async () => {
      await Task.transition(core, task.taskId, { to: "STARTING", reason: "claimed" });
      await Task.transition(core, task.taskId, { to: "RUNNING", reason: "agent_started" });
    });
    return task.taskId;
  }
  const events = async (taskId: string) =>
    (await TaskEvent.list(core, taskId, { limit: 100 })).map((e) => ({
      ...e,
      data: e.data as Record<string, unknown>,
    }));
  const statusOf = async (taskId: string) => (await Task.get(core, taskId))!.status;
  const decide = (taskId: string, approvalId: string, body: unknown, who = alice) =>
    Actor.provide(who, () => Approval.decide(core, taskId, approvalId, body));
  async function conflictOf(promise: Promise<unknown>) {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConflictError);
    return error as ConflictError;
  }

  it("asks and approves: each step one transaction with its events, the agent pushed after the decision", async () => {
    const taskId = await runningTask();
    const asked = await Approval.request(core, taskId, {
      action: "force-push",
      detail: "git push -f origin main",
    });
    expect(await statusOf(taskId)).toBe("AWAITING_APPROVAL");
    expect(asked).toMatchObject({ status: "pending", deadline: clock + 300_000 });

    const decided = await decide(taskId, asked.approvalId, { decision: "approve", comment: "go" });
    expect(decided).toMatchObject({ status: "approved", decision: "approve", by: "alice", comment: "go" });
    expect(await statusOf(taskId)).toBe("RUNNING");
    expect(pushes).toContainEqual({ kind: "approval", taskId, approvalId: asked.approvalId });

    const seen = (await events(taskId)).map((e) => [e.type, e.data]);
    expect(seen).toContainEqual([
      "approval.requested",
      {
        approvalId: asked.approvalId,
        action: "force-push",
        detail: "git push -f origin main",
        expiresAt: new Date(asked.deadline).toISOString(),
      },
    ]);
    expect(seen).toContainEqual([
      "approval.decided",
      { approvalId: asked.approvalId, decision: "approve", by: "alice", comment: "go" },
    ]);
    expect(seen).toContainEqual([
      "task.status",
      { from: "RUNNING", to: "AWAITING_APPROVAL", reason: "approval_requested" },
    ]);
    expect(seen).toContainEqual([
      "task.status",
      { from: "AWAITING_APPROVAL", to: "RUNNING", reason: "approval_decided" },
    ]);
  });

  it("answers a second decision 409 with the first one, and leaves it standing", async () => {
    const taskId = await runningTask();
    const asked = await Approval.request(core, taskId, { action: "network", detail: "curl example.com" });
    await decide(taskId, asked.approvalId, { decision: "deny" });
    const again = await conflictOf(decide(taskId, asked.approvalId, { decision: "approve" }));
    expect(again.code).toBe("approval.decided");
    expect(again.details?.approval).toMatchObject({ status: "denied", decision: "deny", by: "alice" });
    expect((await events(taskId)).filter((e) => e.type === "approval.decided")).toHaveLength(1);
  });

  it("lists the user's approvals newest first, page by page, with a cursor bound to the caller", async () => {
    const carol = { type: "user" as const, tenantId: "gates", userId: "carol" };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { task } = await Actor.provide(carol, () =>
        Task.submit(core, { repo: "acme/api", description: `page ${i}` }),
      );
      await Actor.provide(system, async () => {
        await Task.transition(core, task.taskId, { to: "STARTING", reason: "claimed" });
        await Task.transition(core, task.taskId, { to: "RUNNING", reason: "agent_started" });
      });
      ids.push(
        (await Approval.request(core, task.taskId, { action: "network", detail: `curl ${i}` })).approvalId,
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await Actor.provide(carol, () => Approval.fromUser(core, { limit: 2, cursor }));
      seen.push(...page.approvals.map((a) => a.approvalId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const first = await Actor.provide(carol, () => Approval.fromUser(core, { limit: 1 }));
    const foreign = await Actor.provide(alice, () =>
      Approval.fromUser(core, { cursor: first.nextCursor }).catch((e) => e),
    );
    expect(foreign).toBeInstanceOf(VisibleError);
    expect((foreign as VisibleError).kind).toBe("input");
  });

  it("takes exactly one of two decisions sent at once", async () => {
    const taskId = await runningTask();
    const asked = await Approval.request(core, taskId, { action: "network", detail: "curl example.com" });
    const answers = await Promise.allSettled([
      decide(taskId, asked.approvalId, { decision: "approve" }),
      decide(taskId, asked.approvalId, { decision: "deny" }, alice),
    ]);
    const won = answers.filter((a) => a.status === "fulfilled");
    const lost = answers.filter((a): a is PromiseRejectedResult => a.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0]!.reason as ConflictError).code).toBe("approval.decided");
    expect((await events(taskId)).filter((e) => e.type === "approval.decided")).toHaveLength(1);
    expect(
      (await events(taskId)).filter((e) => e.type === "task.status" && e.data.to === "RUNNING"),
    ).toHaveLength(2);
  });

  it("hides another user's task and approval (404), and an unknown approval", async () => {
    const taskId = await runningTask();
    const asked = await Approval.request(core, taskId, { action: "network", detail: "curl example.com" });
    const notFound = async (promise: Promise<unknown>) => {
      const error = await promise.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VisibleError);
      expect((error as VisibleError).kind).toBe("not_found");
    };
    await notFound(decide(taskId, asked.approvalId, { decision: "approve" }, bob));
    await notFound(Actor.provide(bob, () => Approval.fromTask(core, taskId)));
    await notFound(decide(taskId, "01J00000000000000000000000", { decision: "approve" }));
    expect((await Approval.get(core, taskId, asked.approvalId))?.status).toBe("pending");
    expect(
      (await Actor.provide(bob, () => Approval.fromUser(core, { status: "pending" }))).approvals,
    ).toEqual([]);
  });

  it("denies an approval past its deadline by timeout, never approves it, and says it expired", async () => {
    const taskId = await runningTask({ approvals: { mode: "ask", timeoutS: 30 } });
    const asked = await Approval.request(core, taskId, { action: "force-push", detail: "git push -f" });
    expect(asked.deadline - asked.createdAt).toBe(30_000);
    clock += 30_001;
    const late = await conflictOf(decide(taskId, asked.approvalId, { decision: "approve" }));
    expect(late.code).toBe("approval.expired");
    expect(late.details?.approval).toMatchObject({ status: "denied", decision: "deny", by: "timeout" });
    expect(await statusOf(taskId)).toBe("RUNNING");
    expect((await events(taskId)).filter((e) => e.type === "approval.decided").map((e) => e.data)).toEqual([
      { approvalId: asked.approvalId, decision: "deny", by: "timeout" },
    ]);
  });

  it("lets the reconciler expire approvals past their deadline; a second run changes nothing more", async () => {
    const taskId = await runningTask();
    const asked = await Approval.request(core, taskId, {
      action: "rm-recursive",
      detail: "rm -rf src",
      timeoutS: 40,
    });
    clock += 20_000;
    expect((await Reconciler.run(core)).fixed.approvals_expired ?? 0).toBe(0);
    clock += 20_001;
    const first = await Reconciler.run(core);
    expect(first.fixed.approvals_expired).toBe(1);
    const second = await Reconciler.run(core);
    expect(second.fixed.approvals_expired ?? 0).toBe(0);
    expect(second.fixed.approvals_settled ?? 0).toBe(0);
    expect(await Approval.get(core, taskId, asked.approvalId)).toMatchObject({
      status: "denied",
      by: "timeout",
    });
    expect((await events(taskId)).filter((e) => e.type === "approval.decided")).toHaveLength(1);
    expect(await statusOf(taskId)).toBe("RUNNING");
  });

  it("does not count time spent waiting for a person as a lost heartbeat while the agent beats", async () => {
    const taskId = await runningTask({ approvals: { mode: "ask", timeoutS: 3_600 } });
    await Approval.request(core, taskId, { action: "network", detail: "wget x" });
    // Three heartbeat timeouts of waiting, with the agent's heartbeat going on meanwhile.
    for (let i = 0; i < 6; i++) {
      clock += 30_000;
      expect(await Task.heartbeat(core, taskId)).toBe("running");
      await Reconciler.run(core);
      expect(await statusOf(taskId)).toBe("AWAITING_APPROVAL");
    }
    expect(await statusOf(taskId)).toBe("AWAITING_APPROVAL");
  });

  /** Runs `brain` as the agent would, in process, with the runtime port reaching its bell. */
  function run(taskId: string, brain: (ctx: AgentContext) => Promise<{ summary: string }>) {
    const controller = new AbortController();
    const bell = new Bell();
    runs.set(taskId, { controller, bell });
    return runTask(core, taskId, brain, { signal: controller.signal, bell });
  }
  async function startedTask(body: Record<string, unknown> = {}) {
    const { task } = await Actor.provide(alice, () =>
      Task.submit(core, { repo: "acme/api", description: "gated run", ...body }),
    );
    await Actor.provide(system, () =>
      Task.transition(core, task.taskId, { to: "STARTING", reason: "claimed" }),
    );
    return task.taskId;
  }
  async function pendingApproval(taskId: string) {
    for (;;) {
      const [pending] = await Approval.pending(core, taskId);
      if (pending) return pending;
      await sleep(20);
    }
  }

  it("resolves ctx.approvals.request with the decision; a lost push is picked up by the heartbeat", async () => {
    dropApprovalPushes = true;
    try {
      const taskId = await startedTask();
      const answers: unknown[] = [];
      const done = run(taskId, async ({ approvals }) => {
        answers.push(await approvals.request({ action: "force-push", detail: "git push -f" }));
        return { summary: "ok" };
      });
      const pending = await pendingApproval(taskId);
      await decide(taskId, pending.approvalId, { decision: "deny", comment: "no" });
      await done;
      expect(answers).toEqual([{ decision: "deny", by: "alice", comment: "no" }]);
      expect(await statusOf(taskId)).toBe("COMPLETED");
    } finally {
      dropApprovalPushes = false;
    }
  });

  it("denies by timeout from the agent itself at the deadline", async () => {
    const taskId = await startedTask();
    const answers: unknown[] = [];
    const done = run(taskId, async ({ approvals }) => {
      answers.push(await approvals.request({ action: "network", detail: "curl x", timeoutS: 30 }));
      return { summary: "ok" };
    });
    await pendingApproval(taskId);
    clock += 30_000;
    await done;
    expect(answers).toEqual([{ decision: "deny", by: "timeout" }]);
    expect((await events(taskId)).some((e) => e.type === "approval.decided" && e.data.by === "timeout")).toBe(
      true,
    );
  });

  it("cancels while waiting: CANCELLED, the agent stops, the approval is denied and never left pending", async () => {
    const taskId = await startedTask();
    let after = false;
    const done = run(taskId, async ({ approvals }) => {
      await approvals.request({ action: "delete-branch", detail: "git branch -D main" });
      after = true;
      return { summary: "should not finish" };
    });
    const pending = await pendingApproval(taskId);
    await Actor.provide(alice, () => Task.cancel(core, taskId));
    await done;
    expect(after).toBe(false);
    expect(await statusOf(taskId)).toBe("CANCELLED");
    expect(await Approval.get(core, taskId, pending.approvalId)).toMatchObject({
      status: "denied",
      decision: "deny",
      by: "cancelled",
    });
    const late = await conflictOf(decide(taskId, pending.approvalId, { decision: "approve" }));
    expect(late.code).toBe("approval.expired");
  });

  it("never pauses in mode auto (nor for an allowed rule) but records each gate as approved by policy", async () => {
    const taskId = await startedTask({ approvals: { mode: "auto" } });
    const answers: unknown[] = [];
    await run(taskId, async ({ approvals }) => {
      answers.push(await approvals.request({ action: "force-push", detail: "git push -f" }));
      answers.push(await approvals.request({ action: "network", detail: "curl x" }));
      return { summary: "ok" };
    });
    expect(answers).toEqual([
      { decision: "approve", by: "policy" },
      { decision: "approve", by: "policy" },
    ]);
    const all = await events(taskId);
    expect(all.some((e) => e.type === "task.status" && e.data.to === "AWAITING_APPROVAL")).toBe(false);
    expect(all.filter((e) => e.type === "approval.requested")).toHaveLength(2);
    expect(all.filter((e) => e.type === "approval.decided").map((e) => e.data.by)).toEqual([
      "policy",
      "policy",
    ]);
    const stored = await Actor.provide(alice, () => Approval.fromTask(core, taskId));
    expect(stored.map((a) => [a.action, a.status, a.by])).toEqual([
      ["force-push", "approved", "policy"],
      ["network", "approved", "policy"],
    ]);

    const allowed = await startedTask({ approvals: { mode: "ask", allow: ["network"] } });
    await run(allowed, async ({ approvals }) => {
      answers.push(await approvals.request({ action: "network", detail: "curl y" }));
      return { summary: "ok" };
    });
    expect(answers.at(-1)).toEqual({ decision: "approve", by: "policy" });
  });
});
