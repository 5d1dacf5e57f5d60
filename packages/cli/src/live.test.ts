import { FakeGateway } from "@conveyor/client/fake-gateway";
import type { TaskEvent } from "@conveyor/core/event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect } from "./client.ts";
import { FakeApi } from "./fake-api.ts";
import { followLive, type LiveOptions, type LiveUpdate } from "./live.ts";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const TASK = FakeApi.id(T0 - 60_000, 9);
const at = (seconds: number) => FakeApi.id(T0 + seconds * 1000, 1);

let gateway: FakeGateway;
beforeEach(async () => {
  gateway = await FakeGateway.start();
});
afterEach(() => gateway.close());

function setup() {
  const fake = new FakeApi();
  fake.addTask({ taskId: TASK, status: "RUNNING" });
  const api = connect({ apiUrl: "http://api.test", token: fake.token }, fake.fetch);
  return { fake, api };
}

async function collect(api: ReturnType<typeof setup>["api"], opts: Partial<LiveOptions> = {}) {
  const updates: LiveUpdate[] = [];
  for await (const update of followLive(api, TASK, {
    wsUrl: gateway.url,
    token: gateway.token,
    WebSocketImpl: WebSocket,
    intervalMs: 0,
    idleMs: 5,
    ...opts,
  })) {
    updates.push(update);
  }
  return updates;
}

const summary = (updates: LiveUpdate[]) =>
  updates.flatMap((update) =>
    update.kind === "event" ? [update.event.eventId] : update.kind === "idle" ? [] : [update.kind],
  );

describe("followLive", () => {
  it("asks the API after a quiet spell, so a terminal status the socket missed still ends it", async () => {
    const { fake, api } = setup();
    gateway.addTask(TASK);
    gateway.commit(fake.commit(TASK, at(1), "agent.turn", { turn: 1, text: "x" }) as TaskEvent.Info);
    gateway.onMessage = (message) => {
      // Committed once the socket is subscribed, but never pushed: the gateway dropped the frame.
      if ((message as { action?: string }).action === "subscribe") fake.transition(TASK, at(2), "COMPLETED");
      return false;
    };

    const updates = await collect(api, { quietCheckMs: 30 });

    expect(summary(updates)).toEqual([at(1), at(2), "end"]);
    expect(gateway.subscribes).toHaveLength(1);
  });

  it("polls from the start when the server will not watch the task over the socket", async () => {
    const { fake, api } = setup();
    fake.transition(TASK, at(1), "CANCELLED");

    const updates = await collect(api);

    expect(updates.find((update) => update.kind === "fallback")).toEqual({
      kind: "fallback",
      reason: `task ${TASK} not found`,
    });
    expect(summary(updates)).toEqual(["fallback", at(1), "end"]);
  });
});
