import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  paginateQuery,
} from "@aws-sdk/lib-dynamodb";
import type { Actor } from "../actor.ts";
import { Auth } from "../auth/index.ts";
import type { Core } from "../core.ts";
import { VisibleError } from "../error.ts";
import type { AgUiEvent } from "../event/ag-ui.ts";
import type { EventFormat } from "../event/schema.ts";
import type { ServerFrame } from "./protocol.ts";
import { WS_LIMITS } from "./protocol.ts";

/**
 * The items of the Connections table: exactly those ElectroDB's `connection` and
 * `subscription` entities (service `conveyor`, version 1) wrote, with their key templates
 * lower-cased as ElectroDB does and its `__edb_e__`/`__edb_v__` markers, so either can read
 * what the other wrote (test/items.test.ts). Written with plain commands: the WebSocket
 * connect and disconnect and the realtime fan-out load no ElectroDB.
 */
const connectionKey = (connectionId: string) => ({
  pk: `$conveyor#connectionid_${connectionId}`.toLowerCase(),
  sk: "$connection_1",
});
export const subscriptionKey = (connectionId: string, taskId: string) => ({
  pk: `$conveyor#connectionid_${connectionId}`.toLowerCase(),
  sk: `$subscription_1#taskid_${taskId}`.toLowerCase(),
});
const SUBSCRIPTIONS = "$subscription_1#taskid_";

/** A live WebSocket connection and who opened it. Expires with API Gateway's 2-hour cap. */
interface Connection {
  connectionId: string;
  tenantId: string;
  userId: string;
  connectedAt: number;
  expiresAt: number;
}

/** A connection watching a task, and the format it asked for. */
export interface Subscriber {
  connectionId: string;
  format: EventFormat;
  /** AG-UI only: events up to this id went out in the replay (handoff.ts). */
  from?: string;
}

/** WebSocket connections and the tasks each watches: what the socket handlers and the fan-out need. */
export namespace Connections {
  const table = (core: Core) => core.config.tables.connections;
  // A little past API Gateway's own cap, so the TTL only sweeps what a lost $disconnect left.
  const ttl = (core: Core) => Math.floor((core.now() + WS_LIMITS.maxConnectionMs) / 1000) + 3600;

  /** `$connect`: the token (from `?token=`, browsers cannot set headers) must name a user. */
  export async function connect(core: Core, connectionId: string, token: string | undefined) {
    const actor = await Auth.verify(core, token);
    const item: Connection = {
      connectionId,
      tenantId: actor.tenantId,
      userId: actor.userId,
      connectedAt: core.now(),
      expiresAt: ttl(core),
    };
    await core.db.send(
      new PutCommand({
        TableName: table(core),
        Item: { ...item, ...connectionKey(connectionId), __edb_e__: "connection", __edb_v__: "1" },
      }),
    );
    return actor;
  }

  /** `$disconnect`, a 410 Gone, or a cleanup: the connection and all its subscriptions go. */
  export async function disconnect(core: Core, connectionId: string) {
    const { pk } = connectionKey(connectionId);
    const keys: Record<string, string>[] = [];
    const subscriptions = paginateQuery(
      { client: core.db },
      {
        TableName: table(core),
        KeyConditionExpression: "#pk = :pk and begins_with(#sk, :sk)",
        ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
        ExpressionAttributeValues: { ":pk": pk, ":sk": SUBSCRIPTIONS },
        ProjectionExpression: "#pk, #sk",
      },
    );
    for await (const page of subscriptions) {
      for (const item of page.Items ?? []) keys.push({ pk: item.pk, sk: item.sk });
    }
    // BatchWriteItem takes 25 at most; what it leaves unprocessed is sent again.
    for (let i = 0; i < keys.length; i += 25) {
      let requests = { [table(core)]: keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } })) };
      for (let attempt = 0; Object.keys(requests).length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        const result = await core.db.send(new BatchWriteCommand({ RequestItems: requests }));
        requests = (result.UnprocessedItems ?? {}) as typeof requests;
        if (attempt >= 5 && Object.keys(requests).length > 0) throw new Error("subscriptions left undeleted");
      }
    }
    await core.db.send(new DeleteCommand({ TableName: table(core), Key: connectionKey(connectionId) }));
  }

  /** The user behind a connection, or UNAUTHORIZED if it is unknown (expired, never connected). */
  export async function actorOf(core: Core, connectionId: string): Promise<Extract<Actor, { type: "user" }>> {
    const { Item } = await core.db.send(
      new GetCommand({ TableName: table(core), Key: connectionKey(connectionId) }),
    );
    const connection = Item as Connection | undefined;
    if (!connection) throw new VisibleError("auth", "connection.unknown", "Unknown connection: reconnect");
    return { type: "user", tenantId: connection.tenantId, userId: connection.userId };
  }

  export async function send(core: Core, connectionId: string, frame: ServerFrame | AgUiEvent) {
    const result = await core.pusher.post(connectionId, JSON.stringify(frame));
    if (result === "gone") await disconnect(core, connectionId);
    // A dropped frame leaves a gap only a resume can fill: close the socket so the client
    // reconnects with `after` (its $disconnect removes the subscriptions).
    if (result === "dropped") await core.pusher.disconnect(connectionId);
    return result;
  }

  /**
   * A connection watches a task (found by connection on cleanup, by task on fan-out).
   * `replayingUntil`: the replay's lease, for subscriptions handed to live fan-out (handoff.ts).
   */
  export async function watch(
    core: Core,
    connectionId: string,
    taskId: string,
    format: EventFormat = "conveyor",
    replayingUntil?: number,
  ) {
    await core.db.send(
      new PutCommand({
        TableName: table(core),
        Item: {
          connectionId,
          taskId,
          createdAt: core.now(),
          expiresAt: ttl(core),
          ...subscriptionKey(connectionId, taskId),
          gsi1pk: `$conveyor#taskid_${taskId}`.toLowerCase(),
          gsi1sk: `$subscription_1#connectionid_${connectionId}`.toLowerCase(),
          // Only when not the default, so a plain subscription is the item ElectroDB wrote.
          ...(format === "conveyor" ? {} : { format }),
          ...(replayingUntil === undefined ? {} : { replayingUntil }),
          __edb_e__: "subscription",
          __edb_v__: "1",
        },
      }),
    );
  }

  export async function unwatch(core: Core, connectionId: string, taskId: string) {
    await core.db.send(
      new DeleteCommand({ TableName: table(core), Key: subscriptionKey(connectionId, taskId) }),
    );
  }

  /** Connections watching a task. */
  export async function watchers(core: Core, taskId: string): Promise<string[]> {
    return (await subscribers(core, taskId)).map((s) => s.connectionId);
  }

  /** Connections watching a task, each with the format it subscribed in. */
  export async function subscribers(core: Core, taskId: string): Promise<Subscriber[]> {
    const connections: Subscriber[] = [];
    const subscribed = paginateQuery(
      { client: core.db },
      {
        TableName: table(core),
        IndexName: "gsi1",
        KeyConditionExpression: "#pk = :pk and begins_with(#sk, :sk)",
        ExpressionAttributeNames: {
          "#pk": "gsi1pk",
          "#sk": "gsi1sk",
          "#id": "connectionId",
          "#format": "format",
        },
        ExpressionAttributeValues: {
          ":pk": `$conveyor#taskid_${taskId}`.toLowerCase(),
          ":sk": "$subscription_1#connectionid_",
        },
        ProjectionExpression: "#id, #format",
      },
    );
    for await (const page of subscribed) {
      for (const item of page.Items ?? []) {
        const format = item.format === "ag-ui" ? "ag-ui" : "conveyor";
        connections.push({ connectionId: item.connectionId as string, format });
      }
    }
    return connections;
  }
}
