import { ConnectError, Seen, WatchError, type WebSocketConstructor, watchTask } from "@conveyor/client";
import { type Api, ApiError } from "@conveyor/client/api";
import { rewind } from "@conveyor/core/util/ulid";
import { readHistory } from "./history.ts";
import type { TaskEventLike } from "./timeline.ts";

/** DESIGN §4: how far behind a writer's clock may be; the WebSocket rewinds its cursor by this. */
const SKEW_MS = 5_000;

export type LinkState =
  | { state: "connecting" }
  | { state: "live" }
  | { state: "reconnecting"; attempt: number; reason: string }
  | { state: "resumed" }
  | { state: "ended" }
  | { state: "failed"; message: string; code?: string };

export interface FollowOptions {
  wsUrl: string;
  token: string;
  taskId: string;
  after?: string;
  /**
   * Read the stored history over HTTP first, a page at a time, then subscribe from its last
   * eventId: a replay of thousands of events costs a few hundred requests, not a frame each.
   */
  history?: Api;
  /** Events in batches, at most one batch per animation frame, so a long replay costs few renders. */
  onEvents: (events: TaskEventLike[]) => void;
  onLink?: (link: LinkState) => void;
}

/**
 * Follows a task over the WebSocket API through the shared client (which reconnects, resumes
 * from its cursor and dedups), and tells how the connection is doing: live, reconnecting, and
 * resumed once the server confirmed the subscription again. Returns a function that stops.
 */
export function follow(opts: FollowOptions): () => void {
  let lostSinceSubscribed = false;
  let stopped = false;
  const link = (state: LinkState) => {
    if (!stopped) opts.onLink?.(state);
  };
  // The client's watcher does not report `subscribed`; the socket it opens is watched beside it.
  const Base = globalThis.WebSocket;
  class ObservedSocket extends Base {
    constructor(url: string) {
      super(url);
      this.addEventListener("message", (event) => {
        const data = event.data;
        if (typeof data !== "string" || !data.includes('"subscribed"')) return;
        try {
          if ((JSON.parse(data) as { type?: string }).type !== "subscribed") return;
        } catch {
          return;
        }
        link(lostSinceSubscribed ? { state: "resumed" } : { state: "live" });
        lostSinceSubscribed = false;
      });
    }
  }

  const aborter = new AbortController();
  let watcher: ReturnType<typeof watchTask> | undefined;
  let buffer: TaskEventLike[] = [];
  let frame: number | undefined;
  const flush = () => {
    frame = undefined;
    if (stopped || buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    opts.onEvents(batch);
  };
  const fail = (error: unknown) => {
    flush();
    if (stopped) return;
    if (error instanceof WatchError) link({ state: "failed", code: error.code, message: error.message });
    else if (error instanceof ApiError) link({ state: "failed", code: error.code, message: error.message });
    else if (error instanceof ConnectError) link({ state: "failed", message: error.message });
    else link({ state: "failed", message: String((error as Error)?.message ?? error) });
  };

  link({ state: "connecting" });
  (async () => {
    // One set of ids for both readers: the socket's replay rewinds into what the pages gave.
    const seen = new Seen();
    let after = opts.after;
    if (opts.history) {
      let ended = false;
      let delivered: string | undefined;
      try {
        const history = await readHistory(opts.history, opts.taskId, {
          after,
          signal: aborter.signal,
          onEvents: (events) => {
            for (const event of events) seen.add(event.eventId);
            delivered = events.at(-1)?.eventId ?? delivered;
            if (!stopped) opts.onEvents(events);
          },
        });
        after = history.cursor;
        ended = history.ended;
      } catch (error) {
        // A refusal is final; anything else (the network) leaves the rest to the socket's replay.
        if (stopped || (error instanceof ApiError && error.status < 500)) return fail(error);
        // Ranges are handed on in order: everything up to the last one delivered is had.
        after = delivered ?? after;
      }
      if (stopped) return;
      // The end is in the history: nothing more will be written, and the socket would wait forever.
      if (ended) return link({ state: "ended" });
      seen.forgetUpTo(rewind(after, SKEW_MS));
    } else seen.forgetUpTo(after);

    watcher = watchTask({
      wsUrl: opts.wsUrl,
      token: opts.token,
      taskId: opts.taskId,
      after,
      seen,
      skewMs: SKEW_MS,
      WebSocketImpl: ObservedSocket as unknown as WebSocketConstructor,
      onReconnect: ({ attempt, reason }) => {
        lostSinceSubscribed = true;
        link({ state: "reconnecting", attempt, reason });
      },
    });
    try {
      for await (const event of watcher.events()) {
        buffer.push(event);
        frame ??= requestAnimationFrame(flush);
      }
      flush();
      link({ state: "ended" });
    } catch (error) {
      fail(error);
    }
  })();

  return () => {
    stopped = true;
    if (frame !== undefined) cancelAnimationFrame(frame);
    aborter.abort();
    watcher?.close();
  };
}
