/**
 * Steering and self-healing figures against the local stack:
 * - nudge latency, API accept -> `nudge.acknowledged`, at stepMs 200 and 2000;
 * - cancel latency for a cooperative agent, API accept -> CANCELLED;
 * - reconciler run time with 10,000 tasks in the table (it reads live tasks only).
 *
 *   pnpm bench:steering      (NUDGES=20 CANCELS=10 TABLE=10000 to change it)
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApi, type EventWire } from "@conveyor/client/api";
import { Reconciler } from "@conveyor/core/reconcile";
import { sessionIdFor } from "@conveyor/core/runtime";
import { store } from "@conveyor/core/store";
import { newId } from "@conveyor/core/util/ulid";
import { startLocalStack } from "@conveyor/local/stack";
import { allEvents, dataOf, latencyLine, percentile, sleep, until } from "./lib.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const NUDGES = Number(process.env.NUDGES ?? 20);
const CANCELS = Number(process.env.CANCELS ?? 10);
const TABLE = Number(process.env.TABLE ?? 10_000);

const stack = await startLocalStack({
  port: 0,
  stateDir: mkdtempSync(join(tmpdir(), "conveyor-bench-")),
  reconcileMs: 0,
  limits: { activePerUser: 1_000 },
});
const api = createApi({ apiUrl: stack.apiUrl, token: stack.token });
const waitEvent = (taskId: string, match: (e: EventWire) => boolean) =>
  until(`a matching event on ${taskId}`, async () => (await allEvents(api, taskId)).find(match), 60_000);
const line = (name: string, samples: number[]) => latencyLine(name, samples, 44);

/** Sends nudges to running tasks at random points; each sample is accept -> acknowledged. */
async function nudgeLatency(stepMs: number, count: number) {
  const perTask = 3;
  const tasks = Math.ceil(count / perTask);
  const samples: number[] = [];
  await Promise.all(
    Array.from({ length: tasks }, async () => {
      const { task } = await api.submit({
        repo: "acme/api",
        description: "nudge bench",
        // Enough turns that every nudge lands while the task runs; cancelled once they have.
        options: { turns: 100, stepMs },
      });
      await waitEvent(task.taskId, (e) => e.type === "agent.turn");
      for (let i = 0; i < perTask && samples.length < count; i++) {
        const accepted = Date.now();
        const nudge = await api.nudge(task.taskId, `nudge ${i}`);
        const ack = await waitEvent(
          task.taskId,
          (e) => e.type === "nudge.acknowledged" && dataOf(e).nudgeId === nudge.nudgeId,
        );
        samples.push(Date.parse(ack.at) - accepted);
        await sleep(Math.random() * stepMs);
      }
    }),
  );
  return samples;
}

async function cancelLatency(count: number) {
  const samples: number[] = [];
  await Promise.all(
    Array.from({ length: count }, async () => {
      const { task } = await api.submit({
        repo: "acme/api",
        description: "cancel bench",
        options: { turns: 100, stepMs: 500 },
      });
      await waitEvent(task.taskId, (e) => e.type === "agent.turn");
      await sleep(Math.random() * 500);
      const accepted = Date.now();
      await api.cancel(task.taskId);
      const done = await waitEvent(
        task.taskId,
        (e) => e.type === "task.status" && dataOf(e).to === "CANCELLED",
      );
      samples.push(Date.parse(done.at) - accepted);
    }),
  );
  return samples;
}

/** Fills the table with `total` tasks, `live` of them RUNNING with a fresh heartbeat, the rest finished. */
async function fill(total: number, live: number, prefix: string) {
  const now = Date.now();
  const items = Array.from({ length: total }, (_, i) => {
    const taskId = newId(now - 86_400_000 + i);
    const running = i < live;
    return {
      taskId,
      tenantId: "bench",
      userId: `${prefix}${i % 50}`,
      status: running ? ("RUNNING" as const) : ("COMPLETED" as const),
      version: running ? 3 : 4,
      rev: 4,
      repo: "acme/api",
      target: "acme/api",
      description: "filler",
      maxTurns: 100,
      maxBudgetUsd: 10,
      options: {},
      source: "api",
      runtimeSessionId: sessionIdFor(taskId),
      heartbeatAt: running ? now : undefined,
      turns: 3,
      costUsd: 0.01,
      createdAt: now - 86_400_000 + i,
      updatedAt: now,
      finishedAt: running ? undefined : now,
    };
  });
  for (let i = 0; i < items.length; i += 500)
    await store(stack.core)
      .task.put(items.slice(i, i + 500))
      .go();
  // Their quotas match, so the reconciler finds nothing to repair.
  const active = new Map<string, number>();
  for (const item of items)
    if (item.status === "RUNNING") active.set(item.userId, (active.get(item.userId) ?? 0) + 1);
  for (const [userId, count] of active) {
    await store(stack.core).quota.put({ tenantId: "bench", userId, active: count, queued: 0 }).go();
  }
}

async function reconcileTime(runs = 3) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await Reconciler.run(stack.core);
    times.push(performance.now() - t0);
  }
  return percentile(times, 0.5);
}

const fast = await nudgeLatency(200, NUDGES);
const slow = await nudgeLatency(2_000, Math.max(6, Math.floor(NUDGES / 2)));
const cancels = await cancelLatency(CANCELS);

const quiet = console.log;
console.log = () => undefined; // the reconciler logs a report per run
await fill(TABLE, 100, "a");
const with100 = await reconcileTime();
await fill(1_000, 1_000, "b");
const with1100 = await reconcileTime();
console.log = quiet;
await stack.stop();

console.log(`
${line("nudge accept -> acknowledged, stepMs 200", fast)}
${line("nudge accept -> acknowledged, stepMs 2000", slow)}
${line("cancel accept -> CANCELLED, stepMs 500", cancels)}
reconciler, ${TABLE} tasks in the table, 100 live:      ${with100.toFixed(0)} ms per run
reconciler, ${TABLE + 1_000} tasks in the table, 1,100 live:  ${with1100.toFixed(0)} ms per run
(it pages the status index for unfinished statuses only: finished tasks are never read)
`);
process.exit(0);
