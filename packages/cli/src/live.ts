import { ConnectError, Seen, WatchError, type WebSocketConstructor, watchTask } from "@conveyor/client";
import type { Api, EventWire } from "@conveyor/client/api";
import { type FollowOptions, type FollowUpdate, follow, isTerminal } from "./follow.ts";

export interface LiveOptions extends FollowOptions {
  wsUrl: string;
  token: string;
  WebSocketImpl: WebSocketConstructor;
  /** How long without an event before an `idle` update (what the spinner redraws on). */
  idleMs?: number;
  /**
   * After this long without an event, ask the API whether the task ended: a frame the
   * gateway dropped (DESIGN §8) would otherwise go unnoticed until the next reconnect.
   */
  quietCheckMs?: number;
  /** Error frames the server sent that did not end the watch. */
  onError?: (error: WatchError) => void;
}

export type LiveUpdate =
  | FollowUpdate
  /** The WebSocket could not be used; polling takes over from the same cursor. */
  | { kind: "fallback"; reason: string };

/**
 * Follows a task's events over the WebSocket API until the terminal status event,
 * then lets the HTTP follower confirm the end on the task itself (and read once more,
 * as it does). When the socket cannot be opened, or the server will not watch the
 * task over it, the HTTP follower takes over from the same cursor. Both share one
 * `Seen`, so each event is yielded exactly once.
 *
 * @example
 * for await (const update of followLive(api, taskId, { wsUrl, token, WebSocketImpl: WebSocket })) {
 *   if (update.kind === "event") print(update.event);
 * }
 */
export async function* followLive(
  api: Pick<Api, "events" | "task">,
  taskId: string,
  opts: LiveOptions,
): AsyncGenerator<LiveUpdate, void> {
  const { wsUrl, token, WebSocketImpl, idleMs = 500, quietCheckMs = 30_000, onError, ...followOpts } = opts;
  const seen = new Seen();
  const watcher = watchTask({
    wsUrl,
    token,
    taskId,
    WebSocketImpl,
    seen,
    skewMs: opts.skewMs,
    signal: opts.signal,
    // Once connected, a socket that stays gone for a few tries is worth less than polling.
    reconnectAttempts: 5,
    onError,
  });
  let heardAt = Date.now();
  try {
    for await (const item of withIdle(watcher.events(), idleMs)) {
      if (item !== IDLE) {
        heardAt = Date.now();
        // Parsed from a JSON frame, so `data` is JSON as the HTTP type says.
        yield { kind: "event", event: item as EventWire };
        continue;
      }
      yield { kind: "idle" };
      if (Date.now() - heardAt < quietCheckMs) continue;
      heardAt = Date.now();
      // The HTTP follower below reads what the socket missed and confirms the end.
      if (await ended(api, taskId, opts.signal)) break;
    }
  } catch (error) {
    if (!(error instanceof ConnectError || error instanceof WatchError)) throw error;
    yield { kind: "fallback", reason: error.message };
  } finally {
    watcher.close();
  }
  yield* follow(api, taskId, { ...followOpts, after: watcher.cursor, seen });
}

/** Whether the task is terminal; a failed check only means asking again later. */
async function ended(api: Pick<Api, "task">, taskId: string, signal?: AbortSignal) {
  try {
    return isTerminal((await api.task(taskId, signal)).status);
  } catch (error) {
    if (signal?.aborted) throw error;
    return false;
  }
}

const IDLE = Symbol("idle");

/** `source`'s items, with IDLE in between whenever it stays quiet for `idleMs`. */
async function* withIdle<T>(source: AsyncIterator<T>, idleMs: number): AsyncGenerator<T | typeof IDLE> {
  let next = source.next();
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quiet = new Promise<typeof IDLE>((resolve) => {
      timer = setTimeout(resolve, idleMs, IDLE);
    });
    const result = await Promise.race([next, quiet]).finally(() => clearTimeout(timer));
    if (result === IDLE) {
      yield IDLE;
      continue;
    }
    if (result.done) return;
    yield result.value;
    next = source.next();
  }
}
