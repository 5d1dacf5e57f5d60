import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import type { Core } from "../core.ts";
import { VisibleError } from "../error.ts";
import { isTerminalStatus } from "../task/status.ts";
import { preview } from "../util/preview.ts";
import { newId } from "../util/ulid.ts";
import { type EventData, EventId, EventInfo, type EventType, eventData } from "./schema.ts";

export { type EventData, EventId, EventInfo, EventType, eventData } from "./schema.ts";

export namespace TaskEvent {
  export const Info = EventInfo;
  /** An event as stored and served. `data` matches `eventData[type]`. */
  export type Info = EventInfo;

  /** Builds a validated, size-capped event ready to be put (alone or in a transaction). */
  export function build<T extends EventType>(core: Core, taskId: string, type: T, data: EventData<T>) {
    const parsed = v.safeParse(eventData[type], data);
    if (!parsed.success) {
      throw new VisibleError("input", "event.invalid", `Invalid ${type} data: ${parsed.issues[0]?.message}`);
    }
    const { previewFieldBytes, previewEventBytes, eventTtlDays } = core.config.limits;
    const now = core.now();
    return {
      taskId,
      eventId: newId(now),
      type,
      at: new Date(now).toISOString(),
      data: preview(parsed.output, previewFieldBytes, previewEventBytes) as Record<string, unknown>,
      expiresAt: Math.floor(now / 1000) + eventTtlDays * 86_400,
    };
  }

  /**
   * An event's item as the `event` entity (event.entity.ts) writes it: task and event ids as
   * the keys, verbatim, and ElectroDB's markers. Single events are put and read with plain
   * commands, so the WebSocket `$default` loads no ElectroDB; transactions write events through
   * the entity, and test/items.test.ts holds the two to the same item.
   */
  export const item = (event: ReturnType<typeof build>) => ({
    ...event,
    pk: event.taskId,
    sk: event.eventId,
    __edb_e__: "event",
    __edb_v__: "1",
  });

  /** An event's put, for a plain transaction. */
  export const put = (core: Core, event: ReturnType<typeof build>) => ({
    Put: { TableName: core.config.tables.events, Item: item(event) },
  });

  export async function append<T extends EventType>(core: Core, taskId: string, type: T, data: EventData<T>) {
    const event = build(core, taskId, type, data);
    await core.db.send(new PutCommand({ TableName: core.config.tables.events, Item: item(event) }));
    return serialize(event);
  }

  /** Strictly after `after`, oldest first: exact paging over what is committed. */
  export async function list(
    core: Core,
    taskId: string,
    opts: { after?: string; limit?: number; consistent?: boolean } = {},
  ) {
    const limit = opts.limit ?? 50;
    const events: Info[] = [];
    let start: Record<string, unknown> | undefined;
    // A page stops at 1 MB before `Limit`: read on until `limit` events or the end.
    do {
      const page = await core.db.send(
        new QueryCommand({
          TableName: core.config.tables.events,
          KeyConditionExpression: opts.after ? "#pk = :pk AND #sk > :after" : "#pk = :pk",
          ExpressionAttributeNames: { "#pk": "pk", ...(opts.after ? { "#sk": "sk" } : {}) },
          ExpressionAttributeValues: { ":pk": taskId, ...(opts.after ? { ":after": opts.after } : {}) },
          Limit: limit - events.length,
          ConsistentRead: opts.consistent,
          ExclusiveStartKey: start,
        }),
      );
      events.push(...(page.Items ?? []).map(serialize));
      start = page.LastEvaluatedKey;
    } while (start && events.length < limit);
    return events;
  }

  /** A task's newest `limit` events, newest first, read consistently. */
  export async function latest(core: Core, taskId: string, limit: number) {
    const page = await core.db.send(
      new QueryCommand({
        TableName: core.config.tables.events,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": "pk" },
        ExpressionAttributeValues: { ":pk": taskId },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (page.Items ?? []).map(serialize);
  }

  /** The query of `GET /v1/tasks/{id}/events`: a query string gives text, code gives numbers. */
  export const PageInput = v.object({
    after: v.optional(EventId),
    limit: v.optional(
      v.pipe(
        v.union(
          [v.number(), v.pipe(v.string(), v.regex(/^\d+$/), v.toNumber())],
          "must be a whole number from 1 to 100",
        ),
        v.integer("must be a whole number from 1 to 100"),
        v.minValue(1, "must be a whole number from 1 to 100"),
        v.maxValue(100, "must be a whole number from 1 to 100"),
      ),
      50,
    ),
  });
  export type PageInput = v.InferInput<typeof PageInput>;

  /**
   * One page of a task's events strictly after `after`, oldest first. `nextCursor` is
   * where to resume; it is left out only when the task has ended and nothing is left.
   */
  export async function page(core: Core, task: { taskId: string; status: string }, raw: PageInput = {}) {
    const { after, limit } = v.parse(PageInput, raw);
    // One extra row says whether another page exists.
    const rows = await list(core, task.taskId, { after, limit: limit + 1 });
    const events = rows.slice(0, limit);
    const more = rows.length > limit;
    const cursor = events.at(-1)?.eventId ?? after;
    const open = more || !isTerminalStatus(task.status);
    return { events, nextCursor: open ? cursor : undefined };
  }

  export function serialize(item: unknown): Info {
    return v.parse(Info, item);
  }
}
