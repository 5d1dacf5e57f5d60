import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { Actor } from "@conveyor/core/actor";
import { Auth } from "@conveyor/core/auth";
import type { Core } from "@conveyor/core/core";
import { TaskEvent } from "@conveyor/core/event";
import { Connections } from "@conveyor/core/realtime/connections";
import { store } from "@conveyor/core/store";
import { Task } from "@conveyor/core/task";
import { Entity } from "electrodb";
import { beforeAll, describe, expect, it } from "vitest";
import { recordingQueue, testCore } from "../../local/test/harness.ts";
import * as nudgeItems from "../src/nudge/info.ts";
import { taskKey } from "../src/task/info.ts";
import { quotaKey } from "../src/task/slots.ts";
import * as webhookItems from "../src/webhook/info.ts";

/**
 * Tokens, connections and subscriptions are read and written with plain commands (so the
 * socket handlers load no ElectroDB); these are the ElectroDB entities that wrote them before,
 * unchanged. Either must read what the other wrote, item for item.
 */
const ApiTokenEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "apitoken", version: "1", service: "conveyor" },
      attributes: {
        tokenHash: { type: "string", required: true, readOnly: true },
        tenantId: { type: "string", required: true },
        userId: { type: "string", required: true },
        name: { type: "string" },
        createdAt: { type: "number", required: true },
      },
      indexes: {
        primary: { pk: { field: "pk", composite: ["tokenHash"] }, sk: { field: "sk", composite: [] } },
      },
    },
    { client, table },
  );

const ConnectionEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "connection", version: "1", service: "conveyor" },
      attributes: {
        connectionId: { type: "string", required: true, readOnly: true },
        tenantId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        connectedAt: { type: "number", required: true },
        expiresAt: { type: "number", required: true },
      },
      indexes: {
        primary: { pk: { field: "pk", composite: ["connectionId"] }, sk: { field: "sk", composite: [] } },
      },
    },
    { client, table },
  );

const SubscriptionEntity = (client: DynamoDBDocumentClient, table: string) =>
  new Entity(
    {
      model: { entity: "subscription", version: "1", service: "conveyor" },
      attributes: {
        connectionId: { type: "string", required: true, readOnly: true },
        taskId: { type: "string", required: true, readOnly: true },
        createdAt: { type: "number", required: true },
        expiresAt: { type: "number", required: true },
      },
      indexes: {
        primary: {
          pk: { field: "pk", composite: ["connectionId"] },
          sk: { field: "sk", composite: ["taskId"] },
        },
        byTask: {
          index: "gsi1",
          pk: { field: "gsi1pk", composite: ["taskId"] },
          sk: { field: "gsi1sk", composite: ["connectionId"] },
        },
      },
    },
    { client, table },
  );

describe("items ElectroDB wrote and plain commands write", () => {
  let core: Core;
  let tokens: ReturnType<typeof ApiTokenEntity>;
  let connections: ReturnType<typeof ConnectionEntity>;
  let subscriptions: ReturnType<typeof SubscriptionEntity>;
  const now = 1_800_000_000_000;
  beforeAll(async () => {
    core = await testCore({ queue: recordingQueue(), now: () => now });
    tokens = ApiTokenEntity(core.db, core.config.tables.tasks);
    connections = ConnectionEntity(core.db, core.config.tables.connections);
    subscriptions = SubscriptionEntity(core.db, core.config.tables.connections);
  });

  /** The stored item, every attribute (keys and ElectroDB's markers included). */
  const raw = async (table: string, Key: Record<string, unknown>) =>
    (await core.db.send(new GetCommand({ TableName: table, Key }))).Item;

  it("a token: ElectroDB's is verified, a minted one is ElectroDB's item exactly", async () => {
    const old = `cvy_Old${Date.now()}`;
    await tokens.put({ tokenHash: Auth.hashToken(old), tenantId: "t", userId: "old", createdAt: now }).go();
    expect(await Auth.verify(core, old)).toEqual({ type: "user", tenantId: "t", userId: "old" });

    const minted = await Auth.mint(core, { tenantId: "t", userId: "new", name: "ci" });
    const tokenHash = Auth.hashToken(minted);
    expect((await tokens.get({ tokenHash }).go()).data).toEqual({
      tokenHash,
      tenantId: "t",
      userId: "new",
      name: "ci",
      createdAt: now,
    });
    const expected = tokens
      .put({ tokenHash, tenantId: "t", userId: "new", name: "ci", createdAt: now })
      .params<{ Item: Record<string, unknown> }>().Item;
    const { Key } = tokens.get({ tokenHash }).params<{ Key: Record<string, unknown> }>();
    expect(await raw(core.config.tables.tasks, Key)).toEqual(expected);
  });

  it("a connection: ElectroDB's is known, a connected one is ElectroDB's item exactly", async () => {
    await connections
      .put({ connectionId: "OldConn=", tenantId: "t", userId: "old", connectedAt: now, expiresAt: 1 })
      .go();
    expect(await Connections.actorOf(core, "OldConn=")).toEqual({
      type: "user",
      tenantId: "t",
      userId: "old",
    });

    const token = await Auth.mint(core, { tenantId: "t", userId: "new" });
    await Connections.connect(core, "NewConn=", token);
    const stored = (await connections.get({ connectionId: "NewConn=" }).go()).data;
    expect(stored).toMatchObject({
      connectionId: "NewConn=",
      tenantId: "t",
      userId: "new",
      connectedAt: now,
    });
    const expected = connections
      .put({ ...stored!, connectionId: "NewConn=" })
      .params<{ Item: Record<string, unknown> }>().Item;
    const { Key } = connections.get({ connectionId: "NewConn=" }).params<{ Key: Record<string, unknown> }>();
    expect(await raw(core.config.tables.connections, Key)).toEqual(expected);
  });

  it("subscriptions: each side finds the other's by task and by connection, and a disconnect removes both", async () => {
    const taskId = `01TASK${Date.now()}`;
    await subscriptions.put({ connectionId: "OldConn=", taskId, createdAt: now, expiresAt: 1 }).go();
    await Connections.watch(core, "NewConn=", taskId);

    expect((await Connections.watchers(core, taskId)).sort()).toEqual(["NewConn=", "OldConn="]);
    const byTask = await subscriptions.query.byTask({ taskId }).go({ pages: "all" });
    expect(byTask.data.map((s) => s.connectionId).sort()).toEqual(["NewConn=", "OldConn="]);

    const { Key } = subscriptions
      .get({ connectionId: "NewConn=", taskId })
      .params<{ Key: Record<string, unknown> }>();
    const item = await raw(core.config.tables.connections, Key);
    const expected = subscriptions
      .put({ connectionId: "NewConn=", taskId, createdAt: now, expiresAt: item?.expiresAt as number })
      .params<{ Item: Record<string, unknown> }>().Item;
    expect(item).toEqual(expected);

    // Disconnecting removes subscriptions ElectroDB wrote (and a plain unwatch removes its own).
    await Connections.disconnect(core, "OldConn=");
    expect((await subscriptions.query.primary({ connectionId: "OldConn=" }).go()).data).toEqual([]);
    expect((await connections.get({ connectionId: "OldConn=" }).go()).data).toBeNull();
    await Connections.unwatch(core, "NewConn=", taskId);
    expect(await Connections.watchers(core, taskId)).toEqual([]);
  });

  it("a task: read by id with a plain GetItem at the key the entity writes, as the entity reads it", async () => {
    const { task } = await Actor.provide({ type: "user", tenantId: "t", userId: "items" }, () =>
      Task.submit(core, { repo: "acme/api", description: "items", options: { turns: 3 } }),
    );
    const entity = store(core).task;
    expect(taskKey(task.taskId)).toEqual(
      entity.get({ taskId: task.taskId }).params<{ Key: Record<string, unknown> }>().Key,
    );
    const read = await Task.get(core, task.taskId);
    expect(read).toEqual(task);
    expect(read).toEqual(Task.serialize((await entity.get({ taskId: task.taskId }).go()).data));
    expect(await Task.get(core, "01KNOWNNOTHING0000000000000")).toBeUndefined();
  });

  it("a transition: the task, the user's slots and a promotion are what the entities write", async () => {
    // One slot per user, so failing the first task promotes the queued second in its follow-up.
    const one = await testCore({ queue: recordingQueue(), now: () => now, limits: { activePerUser: 1 } });
    const user = { type: "user", tenantId: "t", userId: `moves${Date.now()}` } as const;
    const submit = (description: string) =>
      Actor.provide(user, () => Task.submit(one, { repo: "acme/api", description, options: { turns: 3 } }));
    const { task: first } = await submit("first");
    const { task: second } = await submit("second");
    expect([first.status, second.status]).toEqual(["SUBMITTED", "QUEUED"]);
    // The reconciler's scan of every user's slots (the entity's byUser index) finds this one.
    const scanned = async () => {
      for await (const q of Task.quotas(one)) if (q.userId === user.userId) return q;
    };
    expect(await scanned()).toEqual({ tenantId: "t", userId: user.userId, active: 1, queued: 1 });
    const { task: tasks, quota: quotas, event: events } = store(one);
    const table = one.config.tables.tasks;
    /** The task as stored is exactly the item the entity writes for what it now is. */
    const asTheEntityWrites = async (taskId: string) => {
      const task = (await tasks.get({ taskId }).go({ consistent: true })).data!;
      expect(await raw(table, taskKey(taskId))).toEqual(tasks.put(task).params<{ Item: unknown }>().Item);
      return task;
    };

    await Task.transition(one, first.taskId, { to: "STARTING", reason: "claimed" });
    expect(await asTheEntityWrites(first.taskId)).toMatchObject({ status: "STARTING", version: 2 });
    const error = { code: "dispatch_failed", message: "no runtime" };
    await Task.transition(one, first.taskId, { to: "FAILED", reason: "dispatch_failed", error });
    expect(await asTheEntityWrites(first.taskId)).toMatchObject({ status: "FAILED", finishedAt: now, error });
    expect(await asTheEntityWrites(second.taskId)).toMatchObject({ status: "SUBMITTED" });
    expect(await raw(table, quotaKey("t", user.userId))).toEqual(
      quotas.put({ tenantId: "t", userId: user.userId, active: 1, queued: 0 }).params<{ Item: unknown }>()
        .Item,
    );

    // The entity's status queries find each task under its new status, and the events are its items.
    const under = async (status: "FAILED" | "SUBMITTED" | "QUEUED") =>
      (await tasks.query.byUserStatus({ tenantId: "t", userId: user.userId, status }).go()).data.map(
        (t) => t.taskId,
      );
    expect([await under("FAILED"), await under("SUBMITTED"), await under("QUEUED")]).toEqual([
      [first.taskId],
      [second.taskId],
      [],
    ]);
    const moves = (await events.query.primary({ taskId: first.taskId }).go()).data
      .filter((e) => e.type === "task.status")
      .map((e) => e.data);
    expect(moves).toEqual([
      { from: "SUBMITTED", to: "STARTING", reason: "claimed" },
      { from: "STARTING", to: "FAILED", reason: "dispatch_failed" },
    ]);

    // A transition from a status the task has left is refused, and writes nothing.
    await expect(
      Task.transition(one, first.taskId, { to: "RUNNING", reason: "agent_started" }),
    ).rejects.toThrow("cannot move to RUNNING");
    expect(await asTheEntityWrites(first.taskId)).toMatchObject({ status: "FAILED", version: 3 });
  });

  it("events: an appended one is the entity's item exactly, and plain pages match the entity's query", async () => {
    const taskId = `01EVENTS${Date.now()}`;
    const entity = store(core).event;
    // Half written by the entity (as transactions write them), half appended with plain puts.
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0)
        await entity.put(TaskEvent.build(core, taskId, "agent.turn", { turn: i, text: `e${i}` })).go();
      else await TaskEvent.append(core, taskId, "agent.turn", { turn: i, text: `e${i}` });
    }
    const all = (await entity.query.primary({ taskId }).go({ pages: "all" })).data.map(TaskEvent.serialize);
    expect(all.map((e) => e.data)).toEqual([0, 1, 2, 3, 4, 5].map((i) => ({ turn: i, text: `e${i}` })));
    for (const event of all) {
      const stored = await raw(core.config.tables.events, { pk: taskId, sk: event.eventId });
      expect(stored?.expiresAt).toEqual(expect.any(Number)); // kept in the item, not served
      const { Item } = entity
        .put({ ...event, expiresAt: stored?.expiresAt as number })
        .params<{ Item: Record<string, unknown> }>();
      expect(stored).toEqual(Item);
    }

    expect(await TaskEvent.list(core, taskId, { limit: 100 })).toEqual(all);
    expect(
      await TaskEvent.list(core, taskId, { after: all[1]!.eventId, limit: 3, consistent: true }),
    ).toEqual(all.slice(2, 5));
    expect(await TaskEvent.list(core, taskId, { after: all[5]!.eventId })).toEqual([]);
    expect(await TaskEvent.latest(core, taskId, 4)).toEqual(all.slice(2).reverse());
  });

  it("webhooks: the delivery path reads a subscription and records attempts as the entities do", async () => {
    const { webhook: entity, webhookAttempt: attempts } = store(core);
    const webhook = {
      webhookId: `01HOOK${Date.now()}`,
      tenantId: "t",
      userId: "hooks",
      url: "https://example.com/hook",
      events: ["*"],
      secret: "whsec_test",
      createdAt: now,
    };
    await entity.create(webhook).go();
    expect(webhookItems.webhookKey("t", "hooks", webhook.webhookId)).toEqual(
      entity.get({ tenantId: "t", userId: "hooks", webhookId: webhook.webhookId }).params<{ Key: unknown }>()
        .Key,
    );
    expect(await webhookItems.get(core, "t", "hooks", webhook.webhookId)).toEqual(webhook);
    expect(await webhookItems.get(core, "t", "other", webhook.webhookId)).toBeUndefined();
    // A user's subscriptions, as the entity's query finds them (and only theirs).
    const second = { ...webhook, webhookId: `01HOOL${Date.now()}`, events: ["task.status"] };
    await entity.create(second).go();
    await entity.create({ ...webhook, userId: "someone-else" }).go();
    const ofUser = await webhookItems.ofUser(core, "t", "hooks");
    expect(ofUser).toEqual([webhook, second]);
    expect(ofUser).toEqual(
      (await entity.query.primary({ tenantId: "t", userId: "hooks" }).go({ pages: "all" })).data,
    );

    const attempt = {
      webhookId: webhook.webhookId,
      attemptId: `01ATTEMPT${Date.now()}`,
      deliveryId: "dlv_x",
      taskId: "01TASK",
      eventId: "01EVENT",
      eventType: "task.status",
      attempt: 2,
      outcome: "retrying" as const,
      statusCode: 500,
      durationMs: 12,
      at: now,
      expiresAt: 1_900_000_000,
    };
    await webhookItems.recordAttempt(core, attempt);
    const { Item } = attempts.put(attempt).params<{ Item: Record<string, unknown> }>();
    const { Key } = attempts
      .get({ webhookId: attempt.webhookId, attemptId: attempt.attemptId })
      .params<{ Key: Record<string, unknown> }>();
    expect(await raw(core.config.tables.tasks, Key)).toEqual(Item);
    const listed = await attempts.query.primary({ webhookId: webhook.webhookId }).go();
    expect(listed.data).toEqual([attempt]);
  });

  it("a nudge: receiving it writes what the entity's patch writes, with its event, once", async () => {
    const { nudge: entity, event: events } = store(core);
    const nudge = {
      taskId: `01NUDGED${Date.now()}`,
      nudgeId: `01NUDGE${Date.now()}`,
      tenantId: "t",
      userId: "nudger",
      message: "use the other branch",
      mode: "queue" as const,
      status: "pending" as const,
      createdAt: now,
      expiresAt: 1_900_000_000,
    };
    await entity.create(nudge).go();
    // Pending, found on the entity's status index as its own query finds it.
    const pending = await nudgeItems.pending(core, nudge.taskId);
    expect(pending).toEqual([nudgeItems.serialize(nudge)]);
    const byStatus = await entity.query
      .byStatus({ status: "pending", taskId: nudge.taskId })
      .go({ pages: "all" });
    expect(pending).toEqual(byStatus.data.map(nudgeItems.serialize));
    expect(await nudgeItems.receive(core, nudgeItems.serialize(nudge))).toBe("stored");
    const { Item } = entity.put({ ...nudge, receivedAt: now }).params<{ Item: Record<string, unknown> }>();
    expect(await raw(core.config.tables.nudges, { pk: nudge.taskId, sk: nudge.nudgeId })).toEqual(Item);

    // The stream delivers the insert again: nothing more is written.
    expect(await nudgeItems.receive(core, nudgeItems.serialize(nudge))).toBe("duplicate");
    const recorded = (await events.query.primary({ taskId: nudge.taskId }).go()).data;
    expect(recorded.map((e) => [e.type, e.data])).toEqual([
      ["nudge.received", { nudgeId: nudge.nudgeId, message: nudge.message, mode: "queue" }],
    ]);
  });
});
