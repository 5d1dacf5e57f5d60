import type { Api } from "@conveyor/client/api";
import { isTerminalStatus } from "@conveyor/core/task/status";
import { floorId, idTime } from "@conveyor/core/util/ulid";
import type { TaskEventLike } from "./timeline.ts";

/** The API's largest page of events (`GET /v1/tasks/{id}/events?limit=`). */
export const PAGE = 100;
/** Readers at once: each page costs the API a round trip, and the pages of one range come one by one. */
const SLICES = 4;

export interface HistoryOptions {
  after?: string;
  signal: AbortSignal;
  /** Events in eventId order, a page (or a finished range) at a time. */
  onEvents: (events: TaskEventLike[]) => void;
  /** The end of the time range split among the readers (ms); now, by default. */
  now?: number;
}

/** Where the history ended: the largest eventId read, and whether the task's end was in it. */
export interface History {
  cursor: string | undefined;
  ended: boolean;
}

export const isEnd = (event: TaskEventLike) =>
  event.type === "task.status" && isTerminalStatus((event.data as { to: string }).to);

/**
 * Reads a task's stored events over HTTP. A long history is split by eventId time into
 * ranges read side by side (eventIds are ULIDs: time first), each range exact as paging is
 * (`after` is strict): the first range keeps ids up to the next one's bound, which the next
 * reads strictly after. Ranges are handed on in order, so rows are only ever appended.
 */
export async function readHistory(api: Api, taskId: string, opts: HistoryOptions): Promise<History> {
  const { signal } = opts;
  let cursor = opts.after;
  let ended = false;
  const deliver = (events: TaskEventLike[]) => {
    if (events.length === 0) return;
    for (const event of events) ended ||= isEnd(event);
    cursor = (events.at(-1) as TaskEventLike).eventId;
    opts.onEvents(events);
  };

  // The first page tells whether the history is long, and from when.
  const first = await api.events(taskId, { after: cursor, limit: PAGE }, signal);
  deliver(first.events);
  if (!first.nextCursor) ended = true;
  if (ended || first.events.length < PAGE || !cursor) return { cursor: first.nextCursor ?? cursor, ended };

  const start = cursor;
  const from = idTime(start);
  const to = Math.max(from, opts.now ?? Date.now());
  const bounds = [start];
  for (let i = 1; i < SLICES; i++) {
    const bound = floorId(from + Math.round((i * (to - from)) / SLICES));
    if (bound > (bounds.at(-1) as string)) bounds.push(bound);
  }

  // Range i is (bounds[i], bounds[i + 1]]; the last one is open to the end.
  const held: TaskEventLike[][] = bounds.map(() => []);
  const done = bounds.map(() => false);
  let head = 0;
  const take = (i: number, events: TaskEventLike[]) => {
    if (i === head) deliver(events);
    else (held[i] as TaskEventLike[]).push(...events);
  };
  const finish = (i: number) => {
    done[i] = true;
    while (done[head] && head < bounds.length - 1) {
      head++;
      deliver(held[head] as TaskEventLike[]);
      held[head] = [];
    }
  };

  const readRange = async (i: number) => {
    const until = bounds[i + 1];
    let after = bounds[i] as string;
    for (;;) {
      const page = await api.events(taskId, { after, limit: PAGE }, signal);
      const kept = until ? page.events.filter((e) => e.eventId <= until) : page.events;
      take(i, kept);
      if (!page.nextCursor) ended = true;
      if (kept.length < page.events.length || page.events.length < PAGE || !page.nextCursor) break;
      after = page.nextCursor;
    }
    finish(i);
  };
  await Promise.all(bounds.map((_, i) => readRange(i)));
  return { cursor, ended };
}
