import { setTimeout as sleep } from "node:timers/promises";
import { Seen } from "@conveyor/client";
import {
  type Api,
  ApiError,
  type EventWire,
  NetworkError,
  type TaskStatusWire,
  type TaskWire,
} from "@conveyor/client/api";
import { isTerminalStatus } from "@conveyor/core/task/status";
import { rewind } from "@conveyor/core/util/ulid";

export const isTerminal = (status: TaskStatusWire) => isTerminalStatus(status);

export interface FollowOptions {
  /** How far behind a writer's clock may be (DESIGN §4): each poll re-reads this much. */
  skewMs?: number;
  /** Pause between polls that brought nothing new. */
  intervalMs?: number;
  pageLimit?: number;
  /** Consecutive failed polls (network, 5xx) tolerated before giving up. */
  retries?: number;
  signal?: AbortSignal;
  /**
   * Resume from this cursor (the last eventId had), as when taking over from a WebSocket
   * watcher. Without `seen`, events at or before it count as already had.
   */
  after?: string;
  /** Ids already yielded by whoever read before (shared with that reader), so none is yielded twice. */
  seen?: Seen;
}

export type FollowUpdate =
  | { kind: "event"; event: EventWire }
  /** A poll brought nothing new; the follower is waiting. */
  | { kind: "idle" }
  /** A poll failed and will be retried. */
  | { kind: "retry"; error: Error }
  /** The task is terminal and every event up to now was yielded; nothing follows. */
  | { kind: "end"; task: TaskWire };

/**
 * Follows a task's events over HTTP polling until the task is terminal. Every poll
 * resumes from the cursor rewound by the skew window and drops ids already yielded,
 * so an event committed late with a smaller id than the cursor is still yielded,
 * exactly once. Within a poll, events come in eventId order.
 *
 * @example
 * for await (const update of follow(api, taskId, { signal })) {
 *   if (update.kind === "event") print(update.event);
 *   if (update.kind === "end") return update.task.status;
 * }
 */
export async function* follow(
  api: Pick<Api, "events" | "task">,
  taskId: string,
  opts: FollowOptions = {},
): AsyncGenerator<FollowUpdate, void> {
  const { skewMs = 5_000, intervalMs = 500, pageLimit = 100, retries = 5, signal } = opts;
  const seen = opts.seen ?? new Seen();
  if (!opts.seen) seen.forgetUpTo(opts.after);
  let cursor = opts.after;
  let sawTerminal = false;
  let failures = 0;

  /** Reads every page after the rewound cursor; `open` is false once the server says the task is done. */
  async function poll() {
    const from = rewind(cursor, skewMs);
    // Nothing at or before `from` can come back (paging is strict), so those ids need not be remembered.
    if (from) seen.forgetUpTo(from);
    const fresh: EventWire[] = [];
    let after = from;
    for (;;) {
      const page = await api.events(taskId, { after, limit: pageLimit }, signal);
      fresh.push(...page.events.filter((event) => !seen.has(event.eventId)));
      if (!page.nextCursor) return { fresh: sorted(fresh), open: false };
      // A short page means we are caught up; the cursor stays present while the task runs.
      if (page.events.length < pageLimit) return { fresh: sorted(fresh), open: true };
      after = page.nextCursor;
    }
  }

  function* emit(events: EventWire[]): Generator<FollowUpdate> {
    for (const event of events) {
      seen.add(event.eventId);
      if (!cursor || event.eventId > cursor) cursor = event.eventId;
      if (event.type === "task.status" && isTerminal((event.data as { to: TaskStatusWire }).to))
        sawTerminal = true;
      yield { kind: "event", event };
    }
  }

  for (;;) {
    let result: Awaited<ReturnType<typeof poll>>;
    try {
      result = await poll();
      failures = 0;
    } catch (error) {
      if (!transient(error) || ++failures > retries) throw error;
      yield { kind: "retry", error: error as Error };
      await sleep(intervalMs * 2 ** (failures - 1), undefined, { signal });
      continue;
    }
    yield* emit(result.fresh);

    // The terminal status event alone is not the end: confirm on the task itself, then
    // read once more so events committed just before the confirmation are not lost.
    // A closed page (no nextCursor) also means terminal, in case the status event was missed.
    if (sawTerminal || !result.open) {
      const task = await api.task(taskId, signal);
      if (isTerminal(task.status)) {
        yield* emit((await poll()).fresh);
        yield { kind: "end", task };
        return;
      }
    }
    if (result.fresh.length === 0) yield { kind: "idle" };
    await sleep(intervalMs, undefined, { signal });
  }
}

const sorted = (events: EventWire[]) =>
  events.sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));

/** Worth another try: the server is unreachable or failing, not refusing us. */
const transient = (error: unknown) =>
  error instanceof NetworkError || (error instanceof ApiError && error.status >= 500);
