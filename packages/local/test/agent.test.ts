import { type AgentResult, createProgress, runTask, serveAgent } from "@conveyor/agent-kit";
import { Actor } from "@conveyor/core/actor";
import { createCore } from "@conveyor/core/core";
import { TaskEvent } from "@conveyor/core/event";
import { type Log, logger } from "@conveyor/core/log";
import { Task } from "@conveyor/core/task";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { recordingQueue, sleep, testCore } from "./harness.ts";

const user = { type: "user" as const, tenantId: "t", userId: "u" };
const system = { type: "system" as const, name: "test" };

describe("agent-kit", () => {
  let core: Awaited<ReturnType<typeof testCore>>;
  beforeAll(async () => {
    core = await testCore({ queue: recordingQueue(), limits: { heartbeatMs: 50 } });
  });

  /** A task as the dispatcher leaves it: claimed, waiting for its agent. */
  async function startingTask(options: Record<string, number> = {}) {
    const { task } = await Actor.provide(user, () =>
      Task.submit(core, { repo: "acme/api", description: "agent test", options }),
    );
    await Actor.provide(system, () =>
      Task.transition(core, task.taskId, { to: "STARTING", reason: "claimed" }),
    );
    return task.taskId;
  }

  it("answers /invocations at once, reports HealthyBusy while running, and starts a task once", async () => {
    let release!: (r: AgentResult) => void;
    let runs = 0;
    const agent = await serveAgent(
      core,
      async () => {
        runs++;
        return new Promise<AgentResult>((r) => {
          release = r;
        });
      },
      { port: 0 },
    );
    const url = `http://127.0.0.1:${agent.port}`;
    const ping = async () => ((await (await fetch(`${url}/ping`)).json()) as { status: string }).status;
    try {
      expect(await ping()).toBe("Healthy");
      const taskId = await startingTask();
      const invoke = () =>
        fetch(`${url}/invocations`, { method: "POST", body: JSON.stringify({ kind: "start", taskId }) }).then(
          (r) => r.json(),
        );
      expect(await invoke()).toEqual({ status: "started" });
      expect(await invoke()).toEqual({ status: "already_started" });
      expect(await ping()).toBe("HealthyBusy");
      while (!release) await sleep(10);
      expect((await Task.get(core, taskId))?.status).toBe("RUNNING");
      // Heartbeats every 50 ms: wait for the first rather than guess how long a busy machine takes.
      for (let i = 0; i < 600 && !(await Task.get(core, taskId))?.heartbeatAt; i++) await sleep(50);
      expect((await Task.get(core, taskId))?.heartbeatAt).toBeGreaterThan(0);
      release({ summary: "done" });
      while ((await ping()) !== "Healthy") await sleep(10);
      expect(runs).toBe(1);
      expect(await Task.get(core, taskId)).toMatchObject({
        status: "COMPLETED",
        result: { summary: "done" },
      });
      const bad = await fetch(`${url}/invocations`, { method: "POST", body: "{nope" });
      expect(bad.status).toBe(400);
    } finally {
      await agent.close();
    }
  });

  it("lets only one of two instances run a task", async () => {
    const taskId = await startingTask();
    let runs = 0;
    const brain = async () => {
      runs++;
      await sleep(50);
      return { summary: "ok" };
    };
    const results = await Promise.all([runTask(core, taskId, brain), runTask(core, taskId, brain)]);
    expect(results.sort()).toEqual([false, true]);
    expect(runs).toBe(1);
    const events = await TaskEvent.list(core, taskId, { limit: 100 });
    expect(
      events.filter((e) => e.type === "task.status" && e.data && (e.data as { to: string }).to === "RUNNING"),
    ).toHaveLength(1);
  });

  it("keeps running when event writes fail, dropping permanent failures and tripping the breaker on transient ones", async () => {
    const taskId = await startingTask();
    // Permanent: the events table does not exist.
    const missingTable = createCore({
      ...core.config,
      tables: { ...core.config.tables, events: "no-such-table" },
    });
    // Every task's logger shares this prototype: the spy sees the task's lines and the logger each went to.
    const warn = vi.spyOn(Object.getPrototypeOf(logger) as Log, "warn");
    const progress = createProgress(missingTable, taskId);
    await progress.turn(1, "still going");
    await progress.milestone("m");
    const dropped = warn.mock.calls.flatMap(([msg], i) =>
      msg === "event dropped (permanent error)"
        ? [(warn.mock.contexts[i] as Log).getPersistentLogAttributes().taskId]
        : [],
    );
    warn.mockRestore();
    expect(dropped).toEqual([taskId, taskId]);
    expect(progress.breaker.open).toBe(false);
    expect((await Task.get(core, taskId))?.turns).toBe(1); // the counters still moved

    // Transient: nothing listens at the endpoint.
    const down = createCore({
      ...core.config,
      endpoints: { ...core.config.endpoints, dynamodb: "http://127.0.0.1:9" },
    });
    const other = await startingTask();
    const flaky = createProgress(down, other);
    for (let i = 0; i < 5; i++) await flaky.milestone(`m${i}`);
    expect(flaky.breaker.open).toBe(true);
    const before = flaky.breaker.dropped;
    await flaky.milestone("dropped fast");
    expect(flaky.breaker.dropped).toBe(before + 1);
  });
});
