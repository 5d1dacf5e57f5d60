import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { type TaskWatcher, type WebSocketConstructor, watchTask } from "@conveyor/client";
import { Actor } from "@conveyor/core/actor";
import { TaskEvent } from "@conveyor/core/event";
import { Connections } from "@conveyor/core/realtime/connections";
import { store } from "@conveyor/core/store";
import { Task } from "@conveyor/core/task";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../src/dynamo.ts";
import type { LocalStack } from "../src/stack.ts";
import { apiClient, sleep, startTestStack } from "./harness.ts";

const dev = { type: "user" as const, tenantId: "local", userId: "dev" };
const system = { type: "system" as const, name: "test-writer" };
const noQueue = { send: async () => undefined };

describe("live status over WebSocket", () => {
  let stack: LocalStack;
  let api: ReturnType<typeof apiClient>;
  let management: ApiGatewayManagementApiClient;
  beforeAll(async () => {
    // Idle shards read every 25 ms rather than Lambda's 250: these tests cut and resume sockets
    // dozens of times and measure no latency (pnpm bench:realtime does, at Lambda's pace).
    stack = await startTestStack({ limits: { activePerUser: 100 }, streamPollMs: 25 });
    api = apiClient(stack.apiUrl, stack.token);
    management = new ApiGatewayManagementApiClient({
      endpoint: stack.config.endpoints.realtime,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
  });
  afterAll(() => stack?.stop());

  const watch = (taskId: string, opts: { after?: string } = {}) =>
    watchTask({
      wsUrl: stack.wsUrl,
      token: stack.token,
      taskId,
      after: opts.after,
      WebSocketImpl: WebSocket as unknown as WebSocketConstructor,
      backoff: { initialMs: 20, maxMs: 200 },
    });

  async function collect(watcher: TaskWatcher) {
    const ids: string[] = [];
    for await (const event of watcher.events()) ids.push(event.eventId);
    return ids;
  }

  /** Until `count` watchers' connections are subscribed to the task, however slow the machine. */
  async function subscribed(taskId: string, count: number) {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
      const ids = await Connections.watchers(stack.core, taskId);
      if (ids.filter((id) => id !== "vanished=").length >= count) return;
    }
    throw new Error(`fewer than ${count} watchers of ${taskId} after 60 s`);
  }

  /** A task that is accepted but not dispatched, so this test is the only writer. */
  async function quietTask() {
    const { task } = await Actor.provide(dev, () =>
      Task.submit({ ...stack.core, queue: noQueue }, { repo: "acme/api", description: "live" }),
    );
    return task.taskId;
  }

  /** Plays an agent: RUNNING, `count` turns, COMPLETED. `skewed` writes every other event 2 s behind. */
  async function write(taskId: string, count: number, opts: { gapMs?: number; skewed?: boolean } = {}) {
    await Actor.provide(system, async () => {
      await Task.transition(stack.core, taskId, { to: "STARTING", reason: "claimed" });
      await Task.transition(stack.core, taskId, { to: "RUNNING", reason: "agent_started" });
      for (let turn = 1; turn <= count; turn++) {
        if (opts.skewed && turn % 2 === 0) {
          const event = TaskEvent.build(stack.core, taskId, "agent.turn", { turn, text: "behind" });
          await store(stack.core)
            .event.put({ ...event, eventId: ulid(Date.now() - 2_000) })
            .go();
        } else {
          await TaskEvent.append(stack.core, taskId, "agent.turn", { turn, text: `turn ${turn}` });
        }
        if (opts.gapMs) await sleep(opts.gapMs);
      }
      await Task.transition(stack.core, taskId, { to: "COMPLETED", reason: "completed" });
    });
  }

  const stored = async (taskId: string) => (await api.allEvents(taskId)).map((e) => e.eventId as string);

  it("delivers every event of a real agent run to a watcher subscribed before it started, once, in order", async () => {
    const { task } = await Actor.provide(dev, () =>
      Task.submit(
        { ...stack.core, queue: noQueue },
        { repo: "acme/api", description: "real run", options: { turns: 3, stepMs: 30 } },
      ),
    );
    const watcher = watch(task.taskId);
    const collected = collect(watcher);
    await subscribed(task.taskId, 1); // before the agent starts
    await stack.core.queue.send(task.taskId);
    const ids = await collected;
    const all = await stored(task.taskId);
    expect(ids).toEqual(all);
    expect(new Set(ids).size).toBe(ids.length);
    const events = await api.allEvents(task.taskId);
    expect(events.at(-1)).toMatchObject({ type: "task.status", data: { to: "COMPLETED" } });
  });

  it("resumes without gaps or duplicates across 20 runs with the socket cut at a random point", async () => {
    const runs = Array.from({ length: 20 }, async (_, run) => {
      const taskId = await quietTask();
      const watcher = watch(taskId);
      const collected = collect(watcher);
      await subscribed(taskId, 1);
      const writing = write(taskId, 25, { gapMs: 8 });
      await sleep(Math.floor(Math.random() * 200) + run);
      const mine = stack.gateway.connections();
      // Cut every socket open now: ours is among them.
      await Promise.all(
        mine.map((id) =>
          management.send(new DeleteConnectionCommand({ ConnectionId: id })).catch(() => undefined),
        ),
      );
      await writing;
      const ids = await collected;
      return { ids, all: await stored(taskId) };
    });
    for (const { ids, all } of await Promise.all(runs)) {
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual([...all].sort());
    }
  });

  it("never lets an event from a writer 2 s behind slip past a resuming watcher", async () => {
    const taskId = await quietTask();
    const watcher = watch(taskId);
    const collected = collect(watcher);
    await subscribed(taskId, 1);
    const writing = write(taskId, 30, { gapMs: 10, skewed: true });
    for (let cut = 0; cut < 3; cut++) {
      await sleep(80);
      await Promise.all(
        stack.gateway
          .connections()
          .map((id) =>
            management.send(new DeleteConnectionCommand({ ConnectionId: id })).catch(() => undefined),
          ),
      );
    }
    await writing;
    const ids = await collected;
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...(await stored(taskId))].sort());
  });

  it("delivers to 50 watchers while a vanished connection is removed", async () => {
    const taskId = await quietTask();
    const watchers = Array.from({ length: 50 }, () => watch(taskId));
    const collected = watchers.map(collect);
    await subscribed(taskId, 50);
    // A connection API Gateway no longer knows (its $disconnect was lost): posts to it answer 410.
    await Connections.connect(stack.core, "vanished=", stack.token);
    await Connections.watch(stack.core, "vanished=", taskId);
    expect(await Connections.watchers(stack.core, taskId)).toContain("vanished=");
    await write(taskId, 10, { gapMs: 5 });
    const all = await stored(taskId);
    for (const ids of await Promise.all(collected)) expect(ids).toEqual(all);
    expect(await Connections.watchers(stack.core, taskId)).not.toContain("vanished=");
  });

  describe("refusals", () => {
    const open = (url: string) =>
      new Promise<{ ws?: WebSocket; status?: number }>((resolve) => {
        const ws = new WebSocket(url);
        ws.once("open", () => resolve({ ws }));
        ws.once("unexpected-response", (_req, res) => resolve({ status: res.statusCode }));
        ws.once("error", () => resolve({}));
      });
    const nextFrame = (ws: WebSocket) =>
      new Promise<Record<string, unknown>>((resolve) =>
        ws.once("message", (data) => resolve(JSON.parse(String(data)))),
      );

    it("answers a missing or bad token with HTTP 401 at the upgrade", async () => {
      expect((await open(stack.wsUrl)).status).toBe(401);
      expect((await open(`${stack.wsUrl}?token=cvy_wrong`)).status).toBe(401);
    });

    it("sends NOT_FOUND for someone else's task and an error frame for junk, keeping the socket open", async () => {
      const alice = apiClient(stack.apiUrl, stack.tokens.alice);
      const theirs = await alice.submit({
        repo: "acme/api",
        description: "alice's",
        options: { turns: 1, stepMs: 0 },
      });
      const { ws } = await open(`${stack.wsUrl}?token=${encodeURIComponent(stack.token)}`);
      if (!ws) throw new Error("socket did not open");
      try {
        ws.send(JSON.stringify({ action: "subscribe", taskId: theirs.body.task.taskId }));
        expect(await nextFrame(ws)).toMatchObject({
          type: "error",
          code: "NOT_FOUND",
          taskId: theirs.body.task.taskId,
        });
        ws.send("not json at all");
        expect(await nextFrame(ws)).toMatchObject({ type: "error", code: "VALIDATION_ERROR" });
        ws.send(JSON.stringify({ action: "subscribe", taskId: 42 }));
        expect(await nextFrame(ws)).toMatchObject({ type: "error", code: "VALIDATION_ERROR" });
        ws.send(JSON.stringify({ action: "ping" }));
        expect(await nextFrame(ws)).toEqual({ type: "pong" });
      } finally {
        ws.close();
      }
    });
  });
});
