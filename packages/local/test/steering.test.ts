import { Actor } from "@conveyor/core/actor";
import { Reconciler } from "@conveyor/core/reconcile";
import { store } from "@conveyor/core/store";
import { Task } from "@conveyor/core/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { apiClient, sleep, startTestStack } from "./harness.ts";

type Api = ReturnType<typeof apiClient>;

describe("steering and self-healing", () => {
  let stack: LocalStack;
  let api: Api;
  beforeAll(async () => {
    stack = await startTestStack({
      reconcileMs: 0, // driven by hand
      // Timeouts far above what a busy machine needs to heartbeat or reconcile (12x the
      // heartbeat, seconds of grace), so only the tests' own waits past them trip them. Ten
      // agents heartbeating each 100 ms kept DynamoDB Local so busy under load that their
      // heartbeats fell 3 s behind.
      limits: {
        heartbeatMs: 250,
        heartbeatTimeoutMs: 3_000,
        cancelGraceMs: 3_000,
        strandedRetryMs: 60_000,
        indexSettleMs: 50,
      },
    });
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(() => stack?.stop());

  const reconcile = () => Reconciler.run(stack.core);
  const invokes = (taskId: string) =>
    stack.agentcore.calls.filter(
      (c) => c.op === "invoke" && (c.payload as { taskId?: string }).taskId === taskId,
    );
  async function waitForEvent(
    client: Api,
    taskId: string,
    match: (e: { type: string; data: Record<string, unknown> }) => boolean,
    timeoutMs = 50_000,
  ) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = await client.allEvents(taskId);
      const found = events.find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching event on ${taskId}: ${events.map((e) => e.type).join(", ")}`);
      await sleep(50);
    }
  }
  async function user(userId: string) {
    const { Auth } = await import("@conveyor/core/auth");
    return apiClient(stack.apiUrl, await Auth.mint(stack.core, { tenantId: "local", userId }));
  }

  it("acknowledges a nudge sent mid-run before the next turn ends, and that turn shows it", async () => {
    const { body } = await api.submit({
      repo: "acme/api",
      description: "steer me",
      options: { turns: 4, stepMs: 400 },
    });
    const { taskId } = body.task;
    await waitForEvent(api, taskId, (e) => e.type === "agent.turn" && e.data.turn === 1);
    const sent = await api.call("POST", `/v1/tasks/${taskId}/nudges`, { message: "use the retry helper" });
    expect(sent.status).toBe(202);
    expect(sent.body.nudge).toMatchObject({
      status: "pending",
      message: "use the retry helper",
      mode: "queue",
    });
    await api.waitFor(taskId, ["COMPLETED"]);
    const events = await api.allEvents(taskId);
    const ack = events.findIndex((e) => e.type === "nudge.acknowledged");
    expect(events.some((e) => e.type === "nudge.received")).toBe(true);
    expect(ack).toBeGreaterThan(-1);
    const steered = events.findIndex(
      (e) => e.type === "agent.turn" && String(e.data.text).includes("use the retry helper"),
    );
    expect(steered).toBeGreaterThan(ack);
    // The next turn after the nudge was sent is the one that shows it.
    const turnsBefore = events.slice(0, ack).filter((e) => e.type === "agent.turn").length;
    expect(events[steered]?.data.turn).toBe(turnsBefore + 1);
  });

  it("cuts the scripted brain's step short for an interrupt-mode nudge", async () => {
    // One turn whose step sleeps a minute (the longest allowed): only the interrupt ends it in time.
    const { body } = await api.submit({
      repo: "acme/api",
      description: "interrupt me",
      options: { turns: 1, stepMs: 60_000 },
    });
    const { taskId } = body.task;
    await waitForEvent(api, taskId, (e) => e.type === "agent.milestone" && e.data.name === "plan");
    const sent = await api.call("POST", `/v1/tasks/${taskId}/nudges`, {
      message: "look at the logs first",
      mode: "interrupt",
    });
    expect(sent.status).toBe(202);
    expect(sent.body.nudge.mode).toBe("interrupt");
    await api.waitFor(taskId, ["COMPLETED"], 40_000);
    const events = await api.allEvents(taskId);
    const turn = events.find((e) => e.type === "agent.turn");
    expect(String(turn?.data.text)).toContain("look at the logs first");
    for (const type of ["nudge.received", "nudge.acknowledged"])
      expect(events.find((e) => e.type === type)?.data.mode, type).toBe("interrupt");
  }, 50_000);

  it("refuses nudges to a finished task (409), empty ones (400), and too many (429)", async () => {
    const { body } = await api.submit({
      repo: "acme/api",
      description: "short",
      options: { turns: 1, stepMs: 0 },
    });
    await api.waitFor(body.task.taskId, ["COMPLETED"]);
    const late = await api.call("POST", `/v1/tasks/${body.task.taskId}/nudges`, { message: "too late" });
    expect(late.status).toBe(409);
    expect(late.body.error.details).toMatchObject({ reason: "task.terminal", status: "COMPLETED" });

    const slow = await api.submit({
      repo: "acme/api",
      description: "slow",
      options: { turns: 3, stepMs: 2_000, ignoreNudges: true },
    });
    const id = slow.body.task.taskId;
    expect((await api.call("POST", `/v1/tasks/${id}/nudges`, { message: "  " })).status).toBe(400);
    expect((await api.call("POST", `/v1/tasks/${id}/nudges`, { message: "x".repeat(2001) })).status).toBe(
      400,
    );
    const answers = [];
    for (let i = 0; i < 11; i++)
      answers.push((await api.call("POST", `/v1/tasks/${id}/nudges`, { message: `n${i}` })).status);
    expect(answers.slice(0, 10).every((s) => s === 202)).toBe(true);
    expect(answers[10]).toBe(429);
    await api.call("POST", `/v1/tasks/${id}/cancel`);
    await api.waitFor(id, ["CANCELLED"]);
    // The agent never read its inbox: every nudge expired, each with an event. They are
    // settled just after the terminal transition commits, so wait for them rather than race.
    for (let i = 0; i < 1_000; i++) {
      const expired = (await api.allEvents(id)).filter((e) => e.type === "nudge.expired");
      if (expired.length >= 10) break;
      await sleep(50);
    }
    const events = await api.allEvents(id);
    expect(events.filter((e) => e.type === "nudge.expired")).toHaveLength(10);
    expect(events.filter((e) => e.type === "nudge.acknowledged")).toHaveLength(0);
  });

  it("cancels QUEUED and SUBMITTED tasks at once; their agents never start", async () => {
    const solo = await user("canceller");
    const first = await solo.submit({
      repo: "acme/api",
      description: "holds the slots",
      options: { turns: 2, stepMs: 300 },
    });
    const queued: string[] = [];
    // The default limit is 10 active: fill it, then one more is QUEUED.
    for (let i = 0; i < 9; i++)
      await solo.submit({ repo: "acme/api", description: `filler ${i}`, options: { turns: 1, stepMs: 300 } });
    const extra = await solo.submit({
      repo: "acme/api",
      description: "queued",
      options: { turns: 1, stepMs: 0 },
    });
    expect(extra.body.task.status).toBe("QUEUED");
    queued.push(extra.body.task.taskId);
    const cancelled = await solo.call("POST", `/v1/tasks/${extra.body.task.taskId}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.task.status).toBe("CANCELLED");
    // SUBMITTED: accepted but not yet dispatched (no message sent), cancelled, then the message arrives.
    const { task } = await Actor.provide({ type: "user", tenantId: "local", userId: "dev" }, () =>
      Task.submit(
        { ...stack.core, queue: { send: async () => undefined } },
        { repo: "acme/api", description: "never runs" },
      ),
    );
    expect((await api.call("POST", `/v1/tasks/${task.taskId}/cancel`)).body.task.status).toBe("CANCELLED");
    await stack.core.queue.send(task.taskId);
    await solo.waitFor(first.body.task.taskId, ["COMPLETED"]);
    await sleep(500);
    expect(invokes(extra.body.task.taskId)).toHaveLength(0);
    expect(invokes(task.taskId)).toHaveLength(0);
    // Cancelling again: harmless on a cancelled task? No, a finished task is a conflict with its status.
    const again = await api.call("POST", `/v1/tasks/${task.taskId}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.details.status).toBe("CANCELLED");
  });

  it("cancels a RUNNING task within one turn, and repeating the cancel is harmless", async () => {
    const stepMs = 500;
    const { body } = await api.submit({
      repo: "acme/api",
      description: "long",
      options: { turns: 20, stepMs },
    });
    const { taskId } = body.task;
    await waitForEvent(api, taskId, (e) => e.type === "agent.turn" && e.data.turn === 1);
    const first = await api.call("POST", `/v1/tasks/${taskId}/cancel`);
    const second = await api.call("POST", `/v1/tasks/${taskId}/cancel`);
    expect(first.status).toBe(202);
    expect([202, 409]).toContain(second.status);
    const done = await api.waitFor(taskId, ["CANCELLED", "COMPLETED", "FAILED"]);
    expect(done.status).toBe("CANCELLED");
    const events = await api.allEvents(taskId);
    expect(events.filter((e) => e.type === "cancel.requested")).toHaveLength(1);
    // Within one turn, counted in turns rather than seconds (a slow machine runs slower turns):
    // at most the turn already under way is recorded after the request.
    const requested = events.findIndex((e) => e.type === "cancel.requested");
    expect(events.slice(requested).filter((e) => e.type === "agent.turn").length).toBeLessThanOrEqual(1);
    expect(events.at(-1)).toMatchObject({
      type: "task.status",
      data: { to: "CANCELLED", reason: "cancelled" },
    });
  });

  it("forces an agent that ignores cancels after the grace period, stopping its session", async () => {
    const { body } = await api.submit({
      repo: "acme/api",
      description: "stubborn",
      options: { turns: 50, stepMs: 200, ignoreCancel: true },
    });
    const { taskId } = body.task;
    await waitForEvent(api, taskId, (e) => e.type === "agent.turn");
    await api.call("POST", `/v1/tasks/${taskId}/cancel`);
    await sleep(300);
    await reconcile(); // within the grace period: nothing yet
    expect((await api.task(taskId)).body.task.status).toBe("RUNNING");
    await sleep(3_000); // past the grace period
    const report = await reconcile();
    expect(report.fixed.cancel_forced).toBe(1);
    const task = (await api.task(taskId)).body.task;
    expect(task.status).toBe("CANCELLED");
    expect(
      stack.agentcore.calls.some((c) => c.op === "stop" && c.sessionId === `conveyor-task-${taskId}`),
    ).toBe(true);
    const events = await api.allEvents(taskId);
    expect(events.at(-1)).toMatchObject({
      type: "task.status",
      data: { to: "CANCELLED", reason: "cancel_forced" },
    });
  });

  it("fails a crashed agent's task heartbeat_lost, releases its slot once and promotes the user's queued task", async () => {
    const crashy = await user("crashy");
    const slots = [];
    for (let i = 0; i < 10; i++) {
      slots.push(
        await crashy.submit({
          repo: "acme/api",
          description: `slot ${i}`,
          options: i === 0 ? { turns: 5, stepMs: 100, crashAtTurn: 2 } : { turns: 200, stepMs: 1_000 },
        }),
      );
    }
    const waiting = await crashy.submit({
      repo: "acme/api",
      description: "waits",
      options: { turns: 1, stepMs: 0 },
    });
    expect(waiting.body.task.status).toBe("QUEUED");
    const crashedId = slots[0]!.body.task.taskId;
    await waitForEvent(crashy, crashedId, (e) => e.type === "agent.turn" && e.data.turn === 1);
    // The agent dies at turn 2 and its heartbeat goes stale 3 s later, however slow the machine:
    // reconcile until that shows, counting what every run fixed.
    let lost = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(500)) {
      lost += (await reconcile()).fixed.heartbeat_lost ?? 0;
      if ((await crashy.task(crashedId)).body.task.status === "FAILED") break;
    }
    expect(lost).toBe(1);
    const crashed = (await crashy.task(crashedId)).body.task;
    expect(crashed).toMatchObject({ status: "FAILED", error: { code: "heartbeat_lost" } });
    await crashy.waitFor(waiting.body.task.taskId, ["COMPLETED"]);
    // Ten slots, one released: the nine long tasks plus nothing else hold them.
    const quota = await store(stack.core).quota.get({ tenantId: "local", userId: "crashy" }).go();
    expect(quota.data).toMatchObject({ active: 9, queued: 0 });
    for (const slot of slots.slice(1)) await crashy.call("POST", `/v1/tasks/${slot.body.task.taskId}/cancel`);
  });

  it("repairs a leaked slot of a user with no live task, once", async () => {
    await store(stack.core).quota.put({ tenantId: "local", userId: "leaky", active: 2, queued: 0 }).go();
    const first = await reconcile();
    expect(first.fixed.quota_repaired).toBeGreaterThanOrEqual(1);
    const quota = await store(stack.core).quota.get({ tenantId: "local", userId: "leaky" }).go();
    expect(quota.data).toMatchObject({ active: 0, queued: 0 });
    expect((await reconcile()).fixed.quota_repaired ?? 0).toBe(0);
  });

  it("is idempotent: a second run, or two at once, changes nothing more", async () => {
    // Something to fix: a RUNNING task with no agent and an old heartbeat.
    const { task } = await Actor.provide({ type: "user", tenantId: "local", userId: "idem" }, () =>
      Task.submit(
        { ...stack.core, queue: { send: async () => undefined } },
        { repo: "acme/api", description: "orphan" },
      ),
    );
    await Actor.provide({ type: "system", name: "test" }, async () => {
      await Task.transition(stack.core, task.taskId, { to: "STARTING", reason: "claimed" });
      await Task.transition(stack.core, task.taskId, { to: "RUNNING", reason: "agent_started" });
    });
    await sleep(3_200); // past the heartbeat timeout
    const [a, b] = await Promise.all([reconcile(), reconcile()]);
    expect((a.fixed.heartbeat_lost ?? 0) + (b.fixed.heartbeat_lost ?? 0)).toBeGreaterThanOrEqual(1);
    const events = await store(stack.core).event.query.primary({ taskId: task.taskId }).go({ pages: "all" });
    expect(
      events.data.filter((e) => e.type === "task.status" && (e.data as { to: string }).to === "FAILED"),
    ).toHaveLength(1);
    const third = await reconcile();
    expect(third.fixed.heartbeat_lost ?? 0).toBe(0);
    expect(third.fixed.quota_repaired ?? 0).toBe(0);
    const quota = await store(stack.core).quota.get({ tenantId: "local", userId: "idem" }).go();
    // A counter never incremented is absent: read as zero.
    expect({ active: quota.data?.active ?? 0, queued: quota.data?.queued ?? 0 }).toEqual({
      active: 0,
      queued: 0,
    });
  });
});
