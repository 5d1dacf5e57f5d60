import { Seen } from "@conveyor/client";
import { floorId } from "@conveyor/core/util/ulid";
import { describe, expect, it } from "vitest";
import { connect } from "./client.ts";
import { FakeApi } from "./fake-api.ts";
import { type FollowOptions, type FollowUpdate, follow } from "./follow.ts";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const TASK = FakeApi.id(T0 - 60_000, 1);
const at = (seconds: number, seq = 1) => FakeApi.id(T0 + seconds * 1000, seq);

function setup() {
  const fake = new FakeApi();
  fake.addTask({ taskId: TASK, status: "RUNNING" });
  const api = connect({ apiUrl: "http://api.test", token: fake.token }, fake.fetch);
  return { fake, api };
}

/** Runs the follower to its end (or `max` updates), polling without real pauses. */
async function collect(
  api: ReturnType<typeof setup>["api"],
  opts: FollowOptions = {},
  max = 200,
): Promise<FollowUpdate[]> {
  const updates: FollowUpdate[] = [];
  for await (const update of follow(api, TASK, { intervalMs: 0, ...opts })) {
    updates.push(update);
    if (updates.length >= max) break;
  }
  return updates;
}

const eventIds = (updates: FollowUpdate[]) =>
  updates.flatMap((update) => (update.kind === "event" ? [update.event.eventId] : []));
const eventPolls = (fake: FakeApi) => fake.requests.filter((request) => request.path.endsWith("/events"));

describe("follow", () => {
  it("yields every event in eventId order and ends on a confirmed terminal status", async () => {
    const { fake, api } = setup();
    fake.commit(TASK, at(2), "agent.turn", { turn: 1, text: "second" });
    fake.commit(TASK, at(1), "agent.turn", { turn: 1, text: "first" });
    fake.transition(TASK, at(3), "COMPLETED");

    const updates = await collect(api);

    expect(eventIds(updates)).toEqual([at(1), at(2), at(3)]);
    expect(updates.at(-1)).toMatchObject({ kind: "end", task: { status: "COMPLETED" } });
  });

  it("yields an event committed late with an id below the cursor, exactly once", async () => {
    const { fake, api } = setup();
    fake.commit(TASK, at(1), "agent.turn", { turn: 1, text: "a" });
    fake.commit(TASK, at(3), "agent.turn", { turn: 2, text: "b" });
    let polls = 0;
    fake.beforeRequest = (request) => {
      if (!request.path.endsWith("/events")) return;
      polls++;
      // A writer 1 s behind commits after the follower has already read past its id.
      if (polls === 2) fake.commit(TASK, at(2), "agent.milestone", { name: "late" });
      if (polls === 5) fake.transition(TASK, at(4), "COMPLETED");
    };

    const updates = await collect(api);

    expect(eventIds(updates)).toEqual([at(1), at(3), at(2), at(4)]);
    expect(updates.at(-1)?.kind).toBe("end");
  });

  it("resumes each poll from the cursor rewound by the skew window", async () => {
    const { fake, api } = setup();
    fake.commit(TASK, at(10), "agent.turn", { turn: 1, text: "a" });
    let polls = 0;
    fake.beforeRequest = (request) => {
      if (request.path.endsWith("/events") && ++polls === 3) fake.transition(TASK, at(11), "COMPLETED");
    };

    await collect(api, { skewMs: 5_000 });

    const afters = eventPolls(fake).map((request) => request.query.get("after"));
    expect(afters[0]).toBeNull();
    expect(afters[1]).toBe(floorId(T0 + 10_000 - 5_000));
  });

  it("takes over from another reader's cursor and seen ids, yielding only what it missed", async () => {
    const { fake, api } = setup();
    for (let i = 1; i <= 4; i++) fake.commit(TASK, at(i), "agent.turn", { turn: i, text: `t${i}` });
    fake.transition(TASK, at(5), "COMPLETED");
    const seen = new Seen();
    for (const id of [at(1), at(3)]) seen.add(id);

    const updates = await collect(api, { after: at(3), seen });

    expect(eventIds(updates)).toEqual([at(2), at(4), at(5)]);
  });

  it("treats a cursor given without seen ids as strict", async () => {
    const { fake, api } = setup();
    for (let i = 1; i <= 3; i++) fake.commit(TASK, at(i), "agent.turn", { turn: i, text: `t${i}` });
    fake.transition(TASK, at(4), "COMPLETED");

    const updates = await collect(api, { after: at(2) });

    expect(eventIds(updates)).toEqual([at(3), at(4)]);
  });

  it("pages through a poll when pages come back full", async () => {
    const { fake, api } = setup();
    for (let i = 1; i <= 5; i++) fake.commit(TASK, at(i), "agent.turn", { turn: i, text: `t${i}` });
    fake.transition(TASK, at(6), "COMPLETED");

    const updates = await collect(api, { pageLimit: 2 });

    expect(eventIds(updates)).toEqual([at(1), at(2), at(3), at(4), at(5), at(6)]);
  });

  it("keeps following after a terminal status event until the task itself confirms it", async () => {
    const { fake, api } = setup();
    fake.commit(TASK, at(1), "task.status", { from: "RUNNING", to: "COMPLETED" });
    let taskReads = 0;
    fake.beforeRequest = (request) => {
      if (request.path.endsWith("/events")) return;
      // The first confirmation still sees RUNNING (the status event came from elsewhere, say).
      if (++taskReads === 2) fake.tasks.set(TASK, { ...fake.tasks.get(TASK)!, status: "COMPLETED" });
    };

    const updates = await collect(api);

    expect(taskReads).toBe(2);
    expect(updates.at(-1)).toMatchObject({ kind: "end", task: { status: "COMPLETED" } });
  });

  it("reads once more after confirming, so events committed just before the end are not lost", async () => {
    const { fake, api } = setup();
    fake.transition(TASK, at(1), "FAILED", { error: { code: "agent_error", message: "boom" } });
    fake.beforeRequest = (request) => {
      if (!request.path.endsWith("/events"))
        fake.commit(TASK, at(2), "agent.cost", { costUsd: 1, inputTokens: 1, outputTokens: 1 });
    };

    const updates = await collect(api);

    expect(eventIds(updates)).toEqual([at(1), at(2)]);
    expect(updates.at(-1)).toMatchObject({ kind: "end", task: { status: "FAILED" } });
  });

  it("ends when the server closes the stream even if the status event was never seen", async () => {
    const { fake, api } = setup();
    fake.tasks.set(TASK, { ...fake.tasks.get(TASK)!, status: "CANCELLED" });

    const updates = await collect(api);

    expect(updates).toEqual([{ kind: "end", task: expect.objectContaining({ status: "CANCELLED" }) }]);
  });

  it("reports idle polls while nothing happens", async () => {
    const { fake, api } = setup();
    let polls = 0;
    fake.beforeRequest = (request) => {
      if (request.path.endsWith("/events") && ++polls === 3) fake.transition(TASK, at(1), "COMPLETED");
    };

    const updates = await collect(api);

    expect(updates.map((update) => update.kind)).toEqual(["idle", "idle", "event", "end"]);
  });

  it("retries a poll that fails to reach the server", async () => {
    const { fake } = setup();
    let calls = 0;
    const flaky = connect({ apiUrl: "http://api.test", token: fake.token }, async (input, init) => {
      if (++calls === 1) throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
      return fake.fetch(input, init);
    });
    fake.transition(TASK, at(1), "COMPLETED");

    const updates = await collect(flaky);

    expect(updates.map((update) => update.kind)).toEqual(["retry", "event", "end"]);
  });

  it("gives up after too many failed polls in a row", async () => {
    const down = connect({ apiUrl: "http://api.test", token: "t" }, async () => {
      throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    });

    await expect(collect(down, { retries: 2 })).rejects.toThrow(/ECONNREFUSED/);
  });

  it("stops with the abort reason when its signal is aborted", async () => {
    const { api } = setup();
    const controller = new AbortController();

    const run = (async () => {
      for await (const update of follow(api, TASK, { intervalMs: 10, signal: controller.signal })) {
        if (update.kind === "idle") controller.abort();
      }
    })();

    await expect(run).rejects.toMatchObject({ name: "AbortError" });
  });

  it("never repeats an event while the skew window slides over many polls", async () => {
    const { fake, api } = setup();
    let polls = 0;
    fake.beforeRequest = (request) => {
      if (!request.path.endsWith("/events")) return;
      polls++;
      // One event every 2 s of ULID time: the 5 s window slides over many of them.
      if (polls <= 20) fake.commit(TASK, at(polls * 2), "agent.turn", { turn: polls, text: "x" });
      if (polls === 25) fake.transition(TASK, at(100), "COMPLETED");
    };

    const updates = await collect(api);

    const ids = eventIds(updates);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(21);
  });
});
