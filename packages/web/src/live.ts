import { ConnectError, WatchError, type WebSocketConstructor, watchTask } from "@conveyor/client";
import type { TaskEventLike } from "./timeline.ts";

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

  const watcher = watchTask({
    wsUrl: opts.wsUrl,
    token: opts.token,
    taskId: opts.taskId,
    after: opts.after,
    WebSocketImpl: ObservedSocket as unknown as WebSocketConstructor,
    onReconnect: ({ attempt, reason }) => {
      lostSinceSubscribed = true;
      link({ state: "reconnecting", attempt, reason });
    },
  });

  let buffer: TaskEventLike[] = [];
  let frame: number | undefined;
  const flush = () => {
    frame = undefined;
    if (stopped || buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    opts.onEvents(batch);
  };

  link({ state: "connecting" });
  (async () => {
    try {
      for await (const event of watcher.events()) {
        buffer.push(event);
        frame ??= requestAnimationFrame(flush);
      }
      flush();
      link({ state: "ended" });
    } catch (error) {
      flush();
      if (stopped) return;
      if (error instanceof WatchError) link({ state: "failed", code: error.code, message: error.message });
      else if (error instanceof ConnectError) link({ state: "failed", message: error.message });
      else link({ state: "failed", message: String((error as Error)?.message ?? error) });
    }
  })();

  return () => {
    stopped = true;
    if (frame !== undefined) cancelAnimationFrame(frame);
    watcher.close();
  };
}
