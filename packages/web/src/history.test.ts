import type { Api } from "@conveyor/client/api";
import { newId } from "@conveyor/core/util/ulid";
import { describe, expect, it } from "vitest";
import { readHistory } from "./history.ts";
import type { TaskEventLike } from "./timeline.ts";

const T0 = Date.parse("2026-12-01T10:00:00Z");

/** Events spread over `spanMs`, ids from one monotonic writer; the last ends the task when `end`. */
function events(count: number, spanMs: number, end: boolean): TaskEventLike[] {
  return Array.from({ length: count }, (_, i) => {
    const at = T0 + Math.floor((i * spanMs) / count);
    const last = end && i === count - 1;
    return {
      taskId: "t",
      eventId: newId(at),
      type: last ? "task.status" : "agent.turn",
      at: new Date(at).toISOString(),
      data: last ? { from: "RUNNING", to: "COMPLETED" } : { turn: i },
    };
  });
}

/** `GET /events` as the API pages it: strictly after `after`, oldest first, no cursor once ended. */
function pagingApi(all: TaskEventLike[], ended: boolean) {
  let requests = 0;
  const api = {
    events: async (_taskId: string, q: { after?: string; limit: number }) => {
      requests++;
      await new Promise((r) => setTimeout(r, 0));
      const rest = all.filter((e) => !q.after || e.eventId > q.after);
      const page = rest.slice(0, q.limit);
      const more = rest.length > q.limit;
      return { events: page, nextCursor: more || !ended ? (page.at(-1)?.eventId ?? q.after) : undefined };
    },
  };
  return { api: api as unknown as Api, requests: () => requests };
}

describe("readHistory", () => {
  it("reads a long history in ranges side by side and hands every event on once, in order", async () => {
    const all = events(2_345, 60_000, true);
    const { api, requests } = pagingApi(all, true);
    const got: string[] = [];
    const history = await readHistory(api, "t", {
      signal: new AbortController().signal,
      now: T0 + 60_000,
      onEvents: (batch) => got.push(...batch.map((e) => e.eventId)),
    });
    expect(got).toEqual(all.map((e) => e.eventId));
    expect(history).toEqual({ cursor: all.at(-1)?.eventId, ended: true });
    // Each range over-reads at most one page.
    expect(requests()).toBeLessThanOrEqual(Math.ceil(all.length / 100) + 4);
  });

  it("gives the cursor to subscribe from when the task still runs, and clumped events stay exact", async () => {
    // Everything in the first second of a long span: most ranges are empty.
    const all = events(1_050, 1_000, false);
    const { api } = pagingApi(all, false);
    const got: string[] = [];
    const history = await readHistory(api, "t", {
      signal: new AbortController().signal,
      now: T0 + 3_600_000,
      onEvents: (batch) => got.push(...batch.map((e) => e.eventId)),
    });
    expect(got).toEqual(all.map((e) => e.eventId));
    expect(history).toEqual({ cursor: all.at(-1)?.eventId, ended: false });
  });

  it("starts after a given cursor and reads a short history in one request", async () => {
    const all = events(150, 1_000, false);
    const { api, requests } = pagingApi(all, false);
    const got: string[] = [];
    const history = await readHistory(api, "t", {
      after: all[99]?.eventId,
      signal: new AbortController().signal,
      onEvents: (batch) => got.push(...batch.map((e) => e.eventId)),
    });
    expect(got).toEqual(all.slice(100).map((e) => e.eventId));
    expect(history.cursor).toBe(all.at(-1)?.eventId);
    expect(requests()).toBe(1);
  });
});
