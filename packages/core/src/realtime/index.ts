import * as v from "valibot";
import { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import { invalidInput, VisibleError, WIRE } from "../error.ts";
import { TaskEvent } from "../event/index.ts";
import type { EventFormat } from "../event/schema.ts";
import { fromId } from "../task/info.ts";
import { rewind } from "../util/ulid.ts";
import { Connections, type Subscriber } from "./connections.ts";
import { deliver } from "./deliver.ts";
import { Handoff } from "./handoff.ts";
import { ClientMessage, type ServerFrame } from "./protocol.ts";

export { ClientMessage, type ServerFrame } from "./protocol.ts";
export type { PushResult, RealtimePusher } from "./pusher.ts";

/** WebSocket watchers: connections, subscriptions, replay, and pushing frames to them. */
export namespace Realtime {
  // Socket bookkeeping lives apart (connections.ts): the handlers that need only it load no ElectroDB.
  export const connect = Connections.connect;
  export const disconnect = Connections.disconnect;
  export const actorOf = Connections.actorOf;
  export const send = Connections.send;
  export const watchers = Connections.watchers;

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
          await subscribe(core, connectionId, message.taskId, message.after, message.format);
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
   *
   * AG-UI clients cannot dedup (a second TEXT_MESSAGE_START breaks the stream), so theirs is
   * strictly after `after`, and replay and fan-out hand over instead of overlapping
   * (handoff.ts): every event goes out once, the replayed ones before the live ones.
   */
  export async function subscribe(
    core: Core,
    connectionId: string,
    taskId: string,
    after?: string,
    format: EventFormat = "conveyor",
  ) {
    const task = await fromId(core, taskId);
    const to = { connectionId, format, taskId: task.taskId };
    let newest: string | undefined;
    if (format === "ag-ui") {
      await Connections.watch(core, connectionId, task.taskId, format, core.now() + Handoff.LEASE_MS);
      let last = after;
      for (;;) {
        const replayed = await replay(core, to, last);
        if (replayed === GONE) return;
        last = replayed ?? last;
        const state = await Handoff.goLive(core, to, last);
        if (state === "gone") return;
        if (state === "live") break;
      }
      newest = last;
    } else {
      await Connections.watch(core, connectionId, task.taskId, format);
      const replayed = await replay(core, to, rewind(after, core.config.limits.skewMs));
      if (replayed === GONE) return;
      // The newest of what was replayed and what the client already had.
      newest = [replayed, after]
        .filter((id): id is string => id !== undefined)
        .sort()
        .at(-1);
    }
    await send(core, connectionId, { type: "subscribed", taskId: task.taskId, cursor: newest ?? null });
  }

  const GONE = "gone" as const;
  /**
   * Sends what is stored after `from`, read strongly consistent so a
   * just-committed event is not missed; the last id sent, or GONE. An AG-UI replay renews its
   * hand-off lease per page.
   */
  async function replay(core: Core, to: Subscriber & { taskId: string }, from?: string) {
    let cursor = from;
    let last: string | undefined;
    for (;;) {
      const page = await TaskEvent.list(core, to.taskId, { after: cursor, limit: 100, consistent: true });
      for (const event of page) {
        if ((await deliver(core, to, event)) === "gone") return GONE;
        last = event.eventId;
      }
      if (page.length < 100) return last;
      if (to.format === "ag-ui" && !(await Handoff.renew(core, to))) return GONE;
      cursor = page.at(-1)?.eventId;
    }
  }

  export async function unsubscribe(core: Core, connectionId: string, taskId: string) {
    await Connections.unwatch(core, connectionId, taskId);
    await send(core, connectionId, { type: "unsubscribed", taskId });
  }
}
