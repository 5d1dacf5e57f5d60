import type { Core } from "../core.ts";
import type { TaskEvent } from "../event/index.ts";
import { logger } from "../log.ts";
import { Connections, type Subscriber } from "../realtime/connections.ts";
import { deliver } from "../realtime/deliver.ts";
import { Handoff } from "../realtime/handoff.ts";

/** One stream record: where it sits in the shard, and the event it carries. */
export interface FanoutRecord {
  sequenceNumber: string;
  event: TaskEvent.Info;
}

/**
 * Where committed events are routed: it gets one task's new events in commit order and
 * either delivers all of them or throws; `delivered` says how many went out before it threw.
 */
export interface FanoutRoute {
  name: string;
  deliver(core: Core, taskId: string, events: TaskEvent.Info[]): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(
    readonly delivered: number,
    override readonly cause: unknown,
  ) {
    super(`delivery failed after ${delivered} events: ${String(cause)}`);
    this.name = "DeliveryError";
  }
}

/** Routes a stream batch to its routes (DESIGN §5.4). */
export namespace Fanout {
  /**
   * Tasks are independent: each task's events go out in order, tasks in parallel. When
   * a task's delivery fails, its later events are held back and the first failed
   * record's sequence number is returned, so the stream retries from there (records of
   * other tasks after it come again: watchers dedup by eventId). Returns the sequence
   * number to resume from, or undefined when everything was delivered.
   */
  export async function route(
    core: Core,
    records: FanoutRecord[],
    routes: FanoutRoute[],
  ): Promise<string | undefined> {
    const byTask = new Map<string, FanoutRecord[]>();
    for (const record of records) {
      const list = byTask.get(record.event.taskId) ?? [];
      list.push(record);
      byTask.set(record.event.taskId, list);
    }
    const failures = await Promise.all(
      [...byTask].map(async ([taskId, list]) => {
        let failedAt = list.length;
        for (const to of routes) {
          try {
            await to.deliver(
              core,
              taskId,
              list.map((r) => r.event),
            );
          } catch (error) {
            const delivered = error instanceof DeliveryError ? error.delivered : 0;
            failedAt = Math.min(failedAt, delivered);
            logger.error("fan-out delivery failed", {
              route: to.name,
              taskId,
              eventId: list[delivered]?.event.eventId,
              error: String(error instanceof DeliveryError ? error.cause : error),
            });
          }
        }
        return list[failedAt]?.sequenceNumber;
      }),
    );
    const failed = failures.filter((seq): seq is string => seq !== undefined);
    // Sequence numbers are decimal strings of varying length: compare as big integers.
    return failed.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))[0];
  }

  /**
   * Pushes each event to every connection watching its task; vanished connections are
   * removed. An AG-UI subscriber still replaying gets nothing here (its replay sends these
   * events); a live one only what its replay did not send (realtime/handoff.ts).
   */
  export const realtime: FanoutRoute = {
    name: "realtime",
    async deliver(core, taskId, events) {
      let delivered = 0;
      try {
        let connections = await live(core, taskId, events.at(-1)?.eventId);
        // Connections in parallel, each connection's frames in order; a gone one is dropped at once.
        for (const event of events) {
          const results = await Promise.all(
            connections.map((to) =>
              to.from !== undefined && event.eventId <= to.from ? "skipped" : deliver(core, to, event),
            ),
          );
          connections = connections.filter((_, i) => results[i] !== "gone");
          delivered++;
        }
      } catch (error) {
        throw new DeliveryError(delivered, error);
      }
    },
  };

  /** The task's subscribers this batch goes to, each AG-UI one settled with its replay. */
  async function live(core: Core, taskId: string, lastEventId: string | undefined) {
    const subscribers = await Connections.subscribers(core, taskId);
    const settled = await Promise.all(
      subscribers.map(async (to): Promise<Subscriber | undefined> => {
        if (to.format !== "ag-ui" || !lastEventId) return to;
        const state = await Handoff.settle(core, { connectionId: to.connectionId, taskId }, lastEventId);
        if (state.action === "send") return { ...to, from: state.from };
        // The replay died mid-way: only a resume with `after` can fill the gap.
        if (state.action === "expired") await core.pusher.disconnect(to.connectionId);
        return undefined;
      }),
    );
    return settled.filter((to): to is Subscriber => to !== undefined);
  }
}
