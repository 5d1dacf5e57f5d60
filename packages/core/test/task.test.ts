import { Actor } from "@conveyor/core/actor";
import type { Core } from "@conveyor/core/core";
import { ConflictError, VisibleError } from "@conveyor/core/error";
import { TaskEvent } from "@conveyor/core/event";
import { store } from "@conveyor/core/store";
import { Task } from "@conveyor/core/task";
import { beforeAll, describe, expect, it } from "vitest";
import { recordingQueue, testCore } from "../../local/test/harness.ts";

const alice = { type: "user" as const, tenantId: "t1", userId: "alice" };
const bob = { type: "user" as const, tenantId: "t1", userId: "bob" };
const system = { type: "system" as const, name: "test" };
const as = <R>(actor: Actor, fn: () => Promise<R>) => Actor.provide(actor, fn);
const body = { repo: "acme/api", description: "add a health check" };

async function finish(core: Core, taskId: string, to: "COMPLETED" | "FAILED" = "COMPLETED") {
  await as(system, async () => {
    await Task.transition(core, taskId, { to: "STARTING", reason: "claimed" });
    await Task.transition(core, taskId, { to: "RUNNING", reason: "agent_started" });
    await Task.transition(core, taskId, { to, reason: to === "COMPLETED" ? "completed" : "agent_error" });
  });
}

describe("Task lifecycle", () => {
  let core: Core;
  let queue: ReturnType<typeof recordingQueue>;
  beforeAll(async () => {
    queue = recordingQueue();
    core = await testCore({ limits: { activePerUser: 2, queuedPerUser: 3 }, queue });
  });

  it("submits a task, enqueues it and records task.submitted", async () => {
    const { task, replayed } = await as(alice, () =>
      Task.submit(core, { ...body, prNumber: 7 }, { source: "cli" }),
    );
    expect(replayed).toBe(false);
    expect(task).toMatchObject({
      status: "SUBMITTED",
      version: 1,
      source: "cli",
      prNumber: 7,
      turns: 0,
      costUsd: 0,
    });
    expect(task.runtimeSessionId).toBe(`conveyor-task-${task.taskId}`);
    expect(queue.sent).toContain(task.taskId);
    const events = await TaskEvent.list(core, task.taskId);
    expect(events.map((e) => e.type)).toEqual(["task.submitted"]);
    await finish(core, task.taskId);
  });

  it("queues past the concurrency limit and promotes oldest-first when a slot frees", async () => {
    const a = await as(bob, () => Task.submit(core, body));
    const b = await as(bob, () => Task.submit(core, body));
    const c = await as(bob, () => Task.submit(core, body));
    const d = await as(bob, () => Task.submit(core, body));
    expect([a.task.status, b.task.status, c.task.status, d.task.status]).toEqual([
      "SUBMITTED",
      "SUBMITTED",
      "QUEUED",
      "QUEUED",
    ]);
    expect(await Task.queuePosition(core, c.task)).toBe(1);
    expect(await Task.queuePosition(core, d.task)).toBe(2);
    expect(queue.sent).not.toContain(c.task.taskId);

    await finish(core, a.task.taskId);
    const promoted = await as(system, () => Task.fromId(core, c.task.taskId));
    expect(promoted.status).toBe("SUBMITTED");
    expect(queue.sent).toContain(c.task.taskId);
    const stillQueued = await Task.get(core, d.task.taskId);
    expect(stillQueued?.status).toBe("QUEUED");
    expect(await Task.queuePosition(core, stillQueued!)).toBe(1);

    // A terminal transition attempted twice releases the slot once.
    await as(system, () => Task.transition(core, b.task.taskId, { to: "CANCELLED", reason: "cancelled" }));
    const again = await as(system, () =>
      Task.transition(core, b.task.taskId, { to: "CANCELLED", reason: "cancelled" }),
    );
    expect(again.status).toBe("CANCELLED");
    const quota = await store(core).quota.get({ tenantId: "t1", userId: "bob" }).go();
    // c and d now hold the two slots; nothing queued.
    expect(quota.data).toMatchObject({ active: 2, queued: 0 });
  });

  it("refuses submissions past the queued limit with QUOTA_EXCEEDED", async () => {
    const carol = { type: "user" as const, tenantId: "t1", userId: "carol" };
    for (let i = 0; i < 5; i++) await as(carol, () => Task.submit(core, body));
    const error = await as(carol, () => Task.submit(core, body)).catch((e) => e);
    expect(error).toBeInstanceOf(VisibleError);
    expect(error).toMatchObject({ kind: "quota", code: "quota.queued_limit" });
  });

  it("replays an Idempotency-Key with the same body and refuses it with another", async () => {
    const first = await as(alice, () => Task.submit(core, body, { idempotencyKey: "k-1" }));
    const second = await as(alice, () => Task.submit(core, { ...body }, { idempotencyKey: "k-1" }));
    expect(second.replayed).toBe(true);
    expect(second.task.taskId).toBe(first.task.taskId);
    const error = await as(alice, () =>
      Task.submit(core, { ...body, description: "other" }, { idempotencyKey: "k-1" }),
    ).catch((e) => e);
    expect(error).toBeInstanceOf(ConflictError);
    // Keys are scoped per user: bob's k-1 is his own.
    const bobs = await as(bob, () => Task.submit(core, body, { idempotencyKey: "k-1" }));
    expect(bobs.task.taskId).not.toBe(first.task.taskId);
  });

  it("hides another user's task as not found", async () => {
    const { task } = await as(alice, () => Task.submit(core, body));
    const error = await as(bob, () => Task.fromId(core, task.taskId)).catch((e) => e);
    expect(error).toMatchObject({ kind: "not_found" });
  });

  it("refuses a transition that lost its race, and one out of a terminal state", async () => {
    const erin = { type: "user" as const, tenantId: "t1", userId: "erin" };
    const { task } = await as(erin, () => Task.submit(core, body));
    const results = await Promise.allSettled([
      as(system, () =>
        Task.transition(core, task.taskId, { from: ["SUBMITTED"], to: "STARTING", reason: "claimed" }),
      ),
      as(system, () =>
        Task.transition(core, task.taskId, { from: ["SUBMITTED"], to: "STARTING", reason: "claimed" }),
      ),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.find((r) => r.status === "rejected")).toMatchObject({ reason: expect.any(ConflictError) });
    const events = await TaskEvent.list(core, task.taskId);
    expect(events.filter((e) => e.type === "task.status")).toHaveLength(1);

    await as(system, () => Task.transition(core, task.taskId, { to: "RUNNING", reason: "agent_started" }));
    await as(system, () => Task.transition(core, task.taskId, { to: "COMPLETED", reason: "completed" }));
    const late = await as(system, () =>
      Task.transition(core, task.taskId, { to: "FAILED", reason: "heartbeat_lost" }),
    ).catch((e) => e);
    expect(late).toBeInstanceOf(ConflictError);
    expect(late.details).toMatchObject({ reason: "task.terminal", status: "COMPLETED" });
  });

  it("records heartbeats only while the task runs", async () => {
    const { task } = await as({ type: "user", tenantId: "t1", userId: "hb" }, () => Task.submit(core, body));
    expect(await Task.heartbeat(core, task.taskId)).toBe("gone");
    await as(system, () => Task.transition(core, task.taskId, { to: "STARTING", reason: "claimed" }));
    await as(system, () => Task.transition(core, task.taskId, { to: "RUNNING", reason: "agent_started" }));
    expect(await Task.heartbeat(core, task.taskId)).toBe("running");
    expect((await Task.get(core, task.taskId))?.heartbeatAt).toBeGreaterThan(0);
  });

  it("lists newest first with a cursor bound to the caller", async () => {
    const dave = { type: "user" as const, tenantId: "t1", userId: "dave" };
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await as(dave, () => Task.submit(core, body))).task.taskId);
    const page1 = await as(dave, () => Task.fromUser(core, { limit: "1" }));
    expect(page1.tasks.map((t) => t.taskId)).toEqual([ids[1]]);
    const page2 = await as(dave, () => Task.fromUser(core, { limit: "1", cursor: page1.nextCursor }));
    expect(page2.tasks.map((t) => t.taskId)).toEqual([ids[0]]);
    const foreign = await as(alice, () => Task.fromUser(core, { cursor: page1.nextCursor })).catch((e) => e);
    expect(foreign).toMatchObject({ kind: "input", code: "cursor.invalid" });
  });
});
