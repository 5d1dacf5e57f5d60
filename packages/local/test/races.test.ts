import { AgentCancelled, type AgentContext, runTask } from "@conveyor/agent-kit";
import { Actor } from "@conveyor/core/actor";
import { Nudge } from "@conveyor/core/nudge";
import { Reconciler } from "@conveyor/core/reconcile";
import type { AgentRuntime } from "@conveyor/core/runtime";
import { store } from "@conveyor/core/store";
import { Task } from "@conveyor/core/task";
import { describe, expect, it } from "vitest";
import { recordingQueue, sleep, testCore } from "./harness.ts";

/** The runtime port in-process: a cancel push aborts the run it names, as the agent server does. */
function inProcessRuntime(controllers: Map<string, AbortController>): AgentRuntime {
  return {
    async invoke(_sessionId, payload) {
      if (payload.kind === "cancel") controllers.get(payload.taskId)?.abort(new Error("cancelled"));
    },
    async stop() {},
  };
}

const rand = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

describe("nudges racing cancel and completion", () => {
  it("settles every nudge of 100 randomized runs: consumed and acknowledged, or expired with an event", async () => {
    const controllers = new Map<string, AbortController>();
    const core = await testCore({
      queue: recordingQueue(),
      runtime: inProcessRuntime(controllers),
      limits: { heartbeatMs: 50, indexSettleMs: 10 },
    });
    /** When each task's cancel had committed, by the test's clock (core.now is the same clock). */
    const cancelled = new Map<string, number>();

    /** A brain that takes its inbox at every boundary and stops when cancelled. */
    const brain = async ({ task, signal, nudges, progress }: AgentContext) => {
      const turns = rand(2, 6);
      for (let turn = 1; turn <= turns; turn++) {
        if (signal.aborted) throw new AgentCancelled();
        await sleep(rand(0, 15));
        if (signal.aborted) throw new AgentCancelled();
        const taken = await nudges.take();
        await progress.turn(turn, `turn ${turn} ${taken.map((n) => n.message).join(",")}`);
      }
      return { summary: `done ${task.taskId}` };
    };

    async function one(i: number) {
      const actor = { type: "user" as const, tenantId: "race", userId: `u${i % 10}` };
      const { task } = await Actor.provide(actor, () =>
        Task.submit(core, { repo: "acme/api", description: `race ${i}` }),
      );
      await Actor.provide({ type: "system", name: "dispatch" }, () =>
        Task.transition(core, task.taskId, { to: "STARTING", reason: "claimed" }),
      );
      const controller = new AbortController();
      controllers.set(task.taskId, controller);
      const run = runTask(core, task.taskId, brain, { signal: controller.signal });
      const sends = Array.from({ length: rand(1, 4) }, async (_, n) => {
        await sleep(rand(0, 60));
        await Actor.provide(actor, () => Nudge.create(core, task.taskId, { message: `n${n}` })).catch(
          () => undefined,
        );
      });
      const cancel = (async () => {
        if (Math.random() < 0.5) return;
        await sleep(rand(0, 60));
        const result = await Actor.provide(actor, () => Task.cancel(core, task.taskId)).catch(
          () => undefined,
        );
        if (result) cancelled.set(task.taskId, Date.now());
      })();
      await Promise.all([run, ...sends, cancel]);
      return task.taskId;
    }

    const taskIds: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      taskIds.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => one(batch * 10 + i)))));
    }
    // A nudge stored while its task was ending is the reconciler's to expire.
    await Reconciler.run(core);

    let consumed = 0;
    let expired = 0;
    for (const taskId of taskIds) {
      const task = (await Task.get(core, taskId))!;
      expect(Task.isTerminal(task.status)).toBe(true);
      const items = (await store(core).nudge.query.primary({ taskId }).go({ pages: "all" })).data.map(
        Nudge.serialize,
      );
      const events = (await store(core).event.query.primary({ taskId }).go({ pages: "all" })).data;
      for (const nudge of items) {
        const acks = events.filter(
          (e) => e.type === "nudge.acknowledged" && (e.data as { nudgeId: string }).nudgeId === nudge.nudgeId,
        );
        const exps = events.filter(
          (e) => e.type === "nudge.expired" && (e.data as { nudgeId: string }).nudgeId === nudge.nudgeId,
        );
        expect(nudge.status).not.toBe("pending");
        if (nudge.status === "consumed") {
          consumed++;
          expect([acks.length, exps.length]).toEqual([1, 0]);
          // Never taken once the cancel committed. (Not against cancelRequestedAt: each side reads
          // its clock before its transaction commits, so a take that commits first may read later.)
          const cancelCommitted = cancelled.get(taskId);
          if (cancelCommitted !== undefined) expect(nudge.consumedAt!).toBeLessThanOrEqual(cancelCommitted);
        } else {
          expired++;
          expect([acks.length, exps.length]).toEqual([0, 1]);
        }
      }
    }
    // Both outcomes happened, so the races were real.
    expect(consumed).toBeGreaterThan(10);
    expect(expired).toBeGreaterThan(5);
    expect(cancelled.size).toBeGreaterThan(10);
    // 100 runs of a few turns each: about 35 s on a busy two-core machine, so room for 4x slower.
  }, 240_000);
});
