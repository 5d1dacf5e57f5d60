import { Actor } from "@conveyor/core/actor";
import { Auth } from "@conveyor/core/auth";
import type { Core } from "@conveyor/core/core";
import { VisibleError } from "@conveyor/core/error";
import { TaskEvent } from "@conveyor/core/event";
import { type AgUiEvent, toAgUi } from "@conveyor/core/event/ag-ui";
import { DeliveryError, Fanout, type FanoutRecord, type FanoutRoute } from "@conveyor/core/fanout";
import { type PushResult, Realtime, type RealtimePusher, type ServerFrame } from "@conveyor/core/realtime";
import { Connections } from "@conveyor/core/realtime/connections";
import { store } from "@conveyor/core/store";
import { Task } from "@conveyor/core/task";
import { ulid } from "ulid";
import { beforeAll, describe, expect, it } from "vitest";
import { recordingQueue, testCore } from "../../local/test/harness.ts";

/**
 * Frames per connection, like the @connections API; `gone` connections answer 410. A post to
 * a connection in `held` waits until the test releases it (a slow replay, made to order).
 */
function recordingPusher() {
  const frames = new Map<string, ServerFrame[]>();
  const gone = new Set<string>();
  const held = new Map<string, Promise<void>>();
  const pusher: RealtimePusher & { frames: typeof frames; gone: typeof gone; held: typeof held } = {
    frames,
    gone,
    held,
    async post(connectionId, data): Promise<PushResult> {
      await held.get(connectionId);
      if (gone.has(connectionId)) return "gone";
      frames.set(connectionId, [...(frames.get(connectionId) ?? []), JSON.parse(data)]);
      return "sent";
    },
    async disconnect(connectionId) {
      gone.add(connectionId);
    },
  };
  return pusher;
}

const alice = { type: "user" as const, tenantId: "t", userId: "alice" };

describe("Realtime and fan-out", () => {
  let core: Core;
  let pusher: ReturnType<typeof recordingPusher>;
  let token: string;
  beforeAll(async () => {
    pusher = recordingPusher();
    core = await testCore({ queue: recordingQueue(), pusher });
    token = await Auth.mint(core, { tenantId: "t", userId: "alice" });
  });

  const submit = async () =>
    (await Actor.provide(alice, () => Task.submit(core, { repo: "acme/api", description: "watch me" }))).task;
  const framesOf = (id: string) => pusher.frames.get(id) ?? [];

  it("refuses a connect without a valid token", async () => {
    await expect(Realtime.connect(core, "c-bad", "cvy_nope")).rejects.toMatchObject({ kind: "auth" });
    await expect(Realtime.connect(core, "c-none", undefined)).rejects.toMatchObject({ kind: "auth" });
  });

  it("answers ping, and a malformed message with an error frame", async () => {
    await Realtime.connect(core, "c1", token);
    await Realtime.handle(core, "c1", JSON.stringify({ action: "ping" }));
    await Realtime.handle(core, "c1", "{not json");
    await Realtime.handle(core, "c1", JSON.stringify({ action: "subscribe" }));
    await Realtime.handle(core, "c1", JSON.stringify({ action: "dance" }));
    const frames = framesOf("c1");
    expect(frames[0]).toEqual({ type: "pong" });
    expect(frames.slice(1).map((f) => f.type === "error" && f.code)).toEqual([
      "VALIDATION_ERROR",
      "VALIDATION_ERROR",
      "VALIDATION_ERROR",
    ]);
  });

  it("says what is wrong with a message in words naming the field", async () => {
    await Realtime.connect(core, "c-words", token);
    await Realtime.handle(core, "c-words", JSON.stringify({ action: "dance" }));
    await Realtime.handle(core, "c-words", JSON.stringify({ action: "subscribe" }));
    await Realtime.handle(core, "c-words", JSON.stringify({ action: "ping", extra: 1 }));
    expect(framesOf("c-words")).toEqual([
      {
        type: "error",
        code: "VALIDATION_ERROR",
        message: 'action: must be one of "subscribe", "unsubscribe", "ping"',
      },
      {
        type: "error",
        code: "VALIDATION_ERROR",
        message: "taskId: is required; must be text of 1 to 64 characters",
      },
      { type: "error", code: "VALIDATION_ERROR", message: "extra: not a known field (allowed: action)" },
    ]);
  });

  it("reports quota and rate-limit errors with their own codes, as HTTP does", () => {
    const quota = new VisibleError("quota", "quota.queued_limit", "too many queued");
    const rate = new VisibleError("rate_limit", "nudge.rate", "slow down");
    expect(Realtime.errorFrame(quota, "t1")).toEqual({
      type: "error",
      code: "QUOTA_EXCEEDED",
      message: "too many queued",
      taskId: "t1",
    });
    expect(Realtime.errorFrame(rate)).toEqual({ type: "error", code: "RATE_LIMITED", message: "slow down" });
  });

  it("refuses to subscribe to someone else's task with NOT_FOUND", async () => {
    const bobToken = await Auth.mint(core, { tenantId: "t", userId: "bob" });
    await Realtime.connect(core, "c-bob", bobToken);
    const task = await submit();
    await Realtime.handle(core, "c-bob", JSON.stringify({ action: "subscribe", taskId: task.taskId }));
    expect(framesOf("c-bob")).toEqual([
      { type: "error", code: "NOT_FOUND", message: expect.any(String), taskId: task.taskId },
    ]);
    expect(await Realtime.watchers(core, task.taskId)).toEqual([]);
  });

  it("replays stored events after the cursor rewound by the skew window, then confirms", async () => {
    const task = await submit();
    const e1 = await TaskEvent.append(core, task.taskId, "agent.turn", { turn: 1, text: "one" });
    const e2 = await TaskEvent.append(core, task.taskId, "agent.turn", { turn: 2, text: "two" });
    // A writer whose clock is 2 s behind commits an event with a smaller id, after e2.
    const late = { ...TaskEvent.build(core, task.taskId, "agent.turn", { turn: 3, text: "late" }) };
    late.eventId = ulid(Date.now() - 2_000);
    await store(core).event.put(late).go();

    await Realtime.connect(core, "c-replay", token);
    await Realtime.handle(
      core,
      "c-replay",
      JSON.stringify({ action: "subscribe", taskId: task.taskId, after: e2.eventId }),
    );
    const frames = framesOf("c-replay");
    const replayed = frames
      .filter((f) => f.type === "event")
      .map((f) => (f.type === "event" ? f.event.eventId : ""));
    expect(replayed).toContain(late.eventId);
    expect(replayed).toContain(e1.eventId); // within the window: replayed again, deduped by the client
    expect(frames.at(-1)).toEqual({ type: "subscribed", taskId: task.taskId, cursor: e2.eventId });
    expect(await Realtime.watchers(core, task.taskId)).toEqual(["c-replay"]);
  });

  it("delivers every event to 50 watchers, removing one that vanished", async () => {
    const task = await submit();
    const ids = Array.from({ length: 50 }, (_, i) => `w${i}`);
    for (const id of ids) {
      await Realtime.connect(core, id, token);
      await Actor.provide(alice, () => Realtime.subscribe(core, id, task.taskId));
    }
    pusher.gone.add("w7");
    const events = [];
    for (let i = 0; i < 5; i++)
      events.push(await TaskEvent.append(core, task.taskId, "agent.turn", { turn: i, text: `t${i}` }));
    const records: FanoutRecord[] = events.map((event, i) => ({ sequenceNumber: String(100 + i), event }));
    expect(await Fanout.route(core, records, [Fanout.realtime])).toBeUndefined();
    for (const id of ids.filter((id) => id !== "w7")) {
      const got = framesOf(id)
        .filter((f) => f.type === "event")
        .map((f) => (f.type === "event" ? f.event.eventId : ""));
      expect(got.slice(-5)).toEqual(events.map((e) => e.eventId));
    }
    expect(await Realtime.watchers(core, task.taskId)).not.toContain("w7");
    expect((await Realtime.watchers(core, task.taskId)).length).toBe(49);
  });

  it("holds back a failing task's later events, delivers other tasks, and resumes at the first failure", async () => {
    const [a, b] = [await submit(), await submit()];
    const mk = async (taskId: string, turn: number) =>
      TaskEvent.append(core, taskId, "agent.turn", { turn, text: "x" });
    const a1 = await mk(a.taskId, 1);
    const b1 = await mk(b.taskId, 1);
    const a2 = await mk(a.taskId, 2); // poison
    const b2 = await mk(b.taskId, 2);
    const a3 = await mk(a.taskId, 3);
    const records: FanoutRecord[] = [a1, b1, a2, b2, a3].map((event, i) => ({
      sequenceNumber: String(10 + i),
      event,
    }));
    const seen: string[] = [];
    const poison: FanoutRoute = {
      name: "test",
      async deliver(_core, _taskId, events) {
        for (const [i, event] of events.entries()) {
          if (event.eventId === a2.eventId) throw new DeliveryError(i, new Error("poison"));
          seen.push(event.eventId);
        }
      },
    };
    const resumeAt = await Fanout.route(core, records, [poison]);
    expect(resumeAt).toBe("12");
    expect(seen).toContain(b1.eventId);
    expect(seen).toContain(b2.eventId);
    expect(seen).toContain(a1.eventId);
    expect(seen).not.toContain(a3.eventId); // never ahead of the failed a2
  });

  describe("AG-UI: replay hands over to live fan-out", () => {
    const turn = (taskId: string, n: number) =>
      TaskEvent.append(core, taskId, "agent.turn", { turn: n, text: `turn ${n}` });
    const route = (events: TaskEvent.Info[]) =>
      Fanout.route(
        core,
        events.map((event, i) => ({ sequenceNumber: String(500 + i), event })),
        [Fanout.realtime],
      );
    const agUi = (id: string) => framesOf(id) as unknown as (AgUiEvent | { type: "subscribed" })[];
    const expected = (events: TaskEvent.Info[]) => events.flatMap(toAgUi);

    it("sends each event once and in order when events commit and fan out during the replay", async () => {
      const task = await submit();
      const early = [await turn(task.taskId, 1), await turn(task.taskId, 2)];
      await Realtime.connect(core, "ag-slow", token);
      let release = () => {};
      pusher.held.set("ag-slow", new Promise<void>((resolve) => (release = resolve)));
      const subscribing = Actor.provide(alice, () =>
        Realtime.subscribe(core, "ag-slow", task.taskId, undefined, "ag-ui"),
      );
      // The replay is stuck on its first frame; meanwhile a new event commits and fans out.
      await expect.poll(() => Connections.watchers(core, task.taskId)).toContain("ag-slow");
      const during = await turn(task.taskId, 3);
      expect(await route([during])).toBeUndefined();
      pusher.held.delete("ag-slow");
      release();
      await subscribing;
      // The stream delivers the same record again, then a new one.
      const after = await turn(task.taskId, 4);
      expect(await route([during, after])).toBeUndefined();

      const stored = await TaskEvent.list(core, task.taskId, { limit: 100 });
      expect(stored.slice(-4)).toEqual([...early, during, after]);
      const frames = agUi("ag-slow");
      const subscribed = frames.findIndex((f) => f.type === "subscribed");
      expect(frames.slice(0, subscribed)).toEqual(expected(stored.slice(0, -1)));
      expect(frames[subscribed]).toEqual({ type: "subscribed", taskId: task.taskId, cursor: during.eventId });
      expect(frames.slice(subscribed + 1)).toEqual(expected([after]));
    });

    it("resumes strictly after `after` and sends a live subscriber only what follows its replay", async () => {
      const task = await submit();
      const [e1, e2] = [await turn(task.taskId, 1), await turn(task.taskId, 2)];
      await Realtime.connect(core, "ag-resume", token);
      await Actor.provide(alice, () =>
        Realtime.subscribe(core, "ag-resume", task.taskId, e1.eventId, "ag-ui"),
      );
      const e3 = await turn(task.taskId, 3);
      // The stream is behind: it brings e1 and e2 (already sent or skipped) with e3.
      expect(await route([e1, e2, e3])).toBeUndefined();
      expect(agUi("ag-resume").filter((f) => f.type !== "subscribed")).toEqual(expected([e2, e3]));
      expect(agUi("ag-resume").filter((f) => f.type === "subscribed")).toHaveLength(1);
    });

    it("closes the socket of a subscriber whose replay died, so it resumes with `after`", async () => {
      const task = await submit();
      await Realtime.connect(core, "ag-dead", token);
      await Connections.watch(core, "ag-dead", task.taskId, "ag-ui", core.now() - 1);
      expect(await route([await turn(task.taskId, 1)])).toBeUndefined();
      expect(pusher.gone.has("ag-dead")).toBe(true);
      expect(framesOf("ag-dead")).toEqual([]);
    });
  });
});
