import * as v from "valibot";
import { Actor } from "../actor.ts";
import { Auth } from "../auth/index.ts";
import type { Core } from "../core.ts";
import { invalidInput, VisibleError, WIRE } from "../error.ts";
import { TaskEvent } from "../event/index.ts";
import { Task } from "../task/index.ts";
import { rewind } from "../util/ulid.ts";
import { ClientMessage, type ServerFrame, WS_LIMITS } from "./protocol.ts";

export { ClientMessage, type ServerFrame } from "./protocol.ts";
export type { PushResult, RealtimePusher } from "./pusher.ts";

/** WebSocket watchers: connections, subscriptions, replay, and pushing frames to them. */
export namespace Realtime {
  // A little past API Gateway's own cap, so the TTL only sweeps what a lost $disconnect left.
  const ttl = (core: Core) => Math.floor((core.now() + WS_LIMITS.maxConnectionMs) / 1000) + 3600;

  /** `$connect`: the token (from `?token=`, browsers cannot set headers) must name a user. */
  export async function connect(core: Core, connectionId: string, token: string | undefined) {
    const actor = await Auth.verify(core, token);
    await core.store.connection
      .put({
        connectionId,
        tenantId: actor.tenantId,
        userId: actor.userId,
        connectedAt: core.now(),
        expiresAt: ttl(core),
      })
      .go({ response: "none" });
    return actor;
  }

  /** `$disconnect`, a 410 Gone, or a cleanup: the connection and all its subscriptions go. */
  export async function disconnect(core: Core, connectionId: string) {
    const subs = await core.store.subscription.query.primary({ connectionId }).go({ pages: "all" });
    if (subs.data.length > 0) {
      await core.store.subscription.delete(subs.data.map((s) => ({ connectionId, taskId: s.taskId }))).go();
    }
    await core.store.connection.delete({ connectionId }).go({ response: "none" });
  }

  /** The user behind a connection, or UNAUTHORIZED if it is unknown (expired, never connected). */
  export async function actorOf(core: Core, connectionId: string): Promise<Extract<Actor, { type: "user" }>> {
    const connection = await core.store.connection.get({ connectionId }).go();
    if (!connection.data)
      throw new VisibleError("auth", "connection.unknown", "Unknown connection: reconnect");
    return { type: "user", tenantId: connection.data.tenantId, userId: connection.data.userId };
  }

  export async function send(core: Core, connectionId: string, frame: ServerFrame) {
    const result = await core.pusher.post(connectionId, JSON.stringify(frame));
    if (result === "gone") await disconnect(core, connectionId);
    // A dropped frame leaves a gap only a resume can fill: close the socket so the client
    // reconnects with `after` (its $disconnect removes the subscriptions).
    if (result === "dropped") await core.pusher.disconnect(connectionId);
    return result;
  }

  /**
   * `$default`: one client message. Every outcome is a frame to the client; a bad
   * message gets an `error` frame, never a dropped connection.
   */
  export async function handle(core: Core, connectionId: string, body: string | undefined): Promise<void> {
    let message: ClientMessage;
    try {
      const parsed = v.safeParse(ClientMessage, JSON.parse(body ?? ""));
      if (!parsed.success) {
        await send(core, connectionId, errorFrame(invalidInput(parsed.issues, ClientMessage, "message")));
        return;
      }
      message = parsed.output;
    } catch {
      const error = new VisibleError("input", "message.not_json", "Messages are JSON objects");
      await send(core, connectionId, errorFrame(error));
      return;
    }
    const taskId = "taskId" in message ? message.taskId : undefined;
    try {
      if (message.action === "ping") {
        await send(core, connectionId, { type: "pong" });
        return;
      }
      const actor = await actorOf(core, connectionId);
      await Actor.provide(actor, async () => {
        if (message.action === "subscribe")
          await subscribe(core, connectionId, message.taskId, message.after);
        else if (message.action === "unsubscribe") await unsubscribe(core, connectionId, message.taskId);
      });
    } catch (error) {
      if (!(error instanceof VisibleError)) throw error;
      await send(core, connectionId, errorFrame(error, taskId));
    }
  }

  /** A visible error as an `error` frame: its code comes from the same table as HTTP's. */
  export const errorFrame = (error: VisibleError, taskId?: string): ServerFrame => ({
    type: "error",
    code: WIRE[error.kind].code,
    message: error.message,
    ...(taskId ? { taskId } : {}),
  });

  /**
   * Stores the subscription first (so live fan-out covers everything from now on),
   * then replays what is stored after the cursor rewound by the skew window, then
   * confirms. Overlap between replay and live delivery is deduped by the client.
   */
  export async function subscribe(core: Core, connectionId: string, taskId: string, after?: string) {
    const task = await Task.fromId(core, taskId);
    await core.store.subscription
      .put({ connectionId, taskId: task.taskId, createdAt: core.now(), expiresAt: ttl(core) })
      .go({ response: "none" });
    let cursor = rewind(after, core.config.limits.skewMs);
    let last: string | undefined;
    for (;;) {
      const page = await TaskEvent.list(core, task.taskId, { after: cursor, limit: 100 });
      for (const event of page) {
        const result = await send(core, connectionId, { type: "event", taskId: task.taskId, event });
        if (result === "gone") return;
        last = event.eventId;
      }
      if (page.length < 100) break;
      cursor = page.at(-1)?.eventId;
    }
    // The newest of what was replayed and what the client already had.
    const newest =
      [last, after]
        .filter((id): id is string => id !== undefined)
        .sort()
        .at(-1) ?? null;
    await send(core, connectionId, { type: "subscribed", taskId: task.taskId, cursor: newest });
  }

  export async function unsubscribe(core: Core, connectionId: string, taskId: string) {
    await core.store.subscription.delete({ connectionId, taskId }).go({ response: "none" });
    await send(core, connectionId, { type: "unsubscribed", taskId });
  }

  /** Connections watching a task. */
  export async function watchers(core: Core, taskId: string): Promise<string[]> {
    const subs = await core.store.subscription.query
      .byTask({ taskId })
      .go({ pages: "all", attributes: ["connectionId"] });
    return subs.data.map((s) => s.connectionId);
  }
}
