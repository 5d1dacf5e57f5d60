import type { TaskEvent } from "@conveyor/core/event";
import { isTerminalStatus } from "@conveyor/core/task/status";
import { rewind } from "@conveyor/core/util/ulid";
import { type ErrorCode, encodeMessage, parseServerFrame, pingMessage, subscribeMessage } from "./frames.ts";
import { Seen } from "./seen.ts";

/** Checked bivariantly, so both the DOM's and `ws`'s richer event types fit the handlers below. */
type Handler<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

/** The part of a WebSocket the watcher uses: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  /** Set to "arraybuffer" so a binary frame can be read at once (a browser's default is a Blob). */
  binaryType?: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onerror: Handler<unknown> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The server refused to watch this task (`NOT_FOUND`, `UNAUTHORIZED`), or reported a problem. */
export class WatchError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly taskId?: string,
  ) {
    super(message);
    this.name = "WatchError";
  }
}

/**
 * The socket could not be opened: refused at the upgrade (a bad token is an HTTP 401
 * there) or unreachable, `attempts` times in a row. Callers may fall back to HTTP
 * polling from `cursor`, the last eventId yielded.
 */
export class ConnectError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
    readonly cursor: string | undefined,
    /** The HTTP status of a refused upgrade, when the WebSocket implementation tells it (`ws` does). */
    readonly status?: number,
  ) {
    super(message);
    this.name = "ConnectError";
  }
}

export interface WatchOptions {
  /** The WebSocket API, e.g. `wss://abc.execute-api.eu-west-1.amazonaws.com/prod`. */
  wsUrl: string;
  token: string;
  taskId: string;
  /**
   * Resume after this eventId. Without `seen`, events at or before it count as already
   * had (as with `GET /events?after=`).
   */
  after?: string;
  /** Ids already yielded, shared with another follower (e.g. an HTTP poller taking over). */
  seen?: Seen;
  /** Defaults to `globalThis.WebSocket` (browsers, Node 22+); on Node 20 pass `ws`'s. */
  WebSocketImpl?: WebSocketConstructor;
  /** How far behind a writer's clock may be (DESIGN §4); ids further behind the cursor are forgotten. */
  skewMs?: number;
  /** Before API Gateway's 10-minute idle limit. A connection silent for a whole interval is replaced. */
  pingIntervalMs?: number;
  /**
   * How long the server may stay silent between subscribing and `subscribed` (the
   * replay may be long, but it keeps coming) before the subscribe is tried again.
   */
  subscribeTimeoutMs?: number;
  /** Reconnect delays: full jitter over `initialMs * 2^(attempt-1)`, capped at `maxMs`. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Failed opens in a row, before the first open, that end the watch with a `ConnectError`. */
  connectAttempts?: number;
  /** The same once connected at least once (default: keep trying). */
  reconnectAttempts?: number;
  /** Aborting ends the watch: `events()` rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Error frames that do not end the watch (rate limits, server errors). */
  onError?: (error: WatchError) => void;
  /** The connection was lost or could not be opened; the next try follows in `delayMs`. */
  onReconnect?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

export interface TaskWatcher {
  /**
   * The task's events, each exactly once, in eventId order within each delivery (the
   * replay on subscribing, then live frames as they come); ends after the terminal
   * `task.status` event. Throws `WatchError` (task not visible), `ConnectError` (socket
   * refused or unreachable), or the abort reason. Iterate it once.
   */
  events(): AsyncGenerator<TaskEvent.Info, void>;
  /** The largest eventId yielded so far (or `after`): where a follow-up reader resumes. */
  readonly cursor: string | undefined;
  /** Stops watching: closes the socket and ends `events()`. */
  close(): void;
}

/**
 * Follows one task's events over the WebSocket API (protocol v1, DESIGN §8):
 * subscribes, reconnects with backoff and resubscribes from its cursor, pings, and
 * dedups what the server replays over the skew window.
 *
 * @example
 * const watcher = watchTask({ wsUrl, token, taskId, WebSocketImpl: WebSocket });
 * for await (const event of watcher.events()) render(event);
 */
export function watchTask(options: WatchOptions): TaskWatcher {
  return new Watcher(options);
}

/**
 * The delay before reconnect `attempt` (1-based): "full jitter", a uniform pick below
 * the capped exponential, so clients dropped together do not come back together.
 */
export function backoffDelay(
  attempt: number,
  backoff: { initialMs?: number; maxMs?: number } = {},
  random: () => number = Math.random,
): number {
  const { initialMs = 250, maxMs = 10_000 } = backoff;
  return Math.floor(random() * Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1)));
}

const OPEN = 1;
/** Not worth retrying: the gateway refused the token. */
const REFUSED = new Set([401, 403]);

class Watcher implements TaskWatcher {
  cursor: string | undefined;
  private readonly seen: Seen;
  private readonly WebSocketImpl: WebSocketConstructor | undefined;
  private readonly skewMs: number;
  private socket?: WebSocketLike;
  /** Replayed events wait for `subscribed` so the replay is yielded in eventId order. */
  private replay: TaskEvent.Info[] = [];
  private ready: TaskEvent.Info[] = [];
  private subscribed = false;
  private stopped = false;
  private iterated = false;
  private failure?: { error: unknown };
  private everOpened = false;
  private failedOpens = 0;
  /** Reconnects since the last successful subscribe: drives the backoff. */
  private retries = 0;
  /** A frame arrived since the last ping. */
  private heard = false;
  /** The server answered UNAUTHORIZED since the last successful subscribe. */
  private unauthorized = false;
  private subscribeTimer?: ReturnType<typeof setTimeout>;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private wake?: () => void;

  constructor(private readonly opts: WatchOptions) {
    this.cursor = opts.after;
    this.seen = opts.seen ?? new Seen();
    if (!opts.seen) this.seen.forgetUpTo(opts.after);
    this.WebSocketImpl = opts.WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.skewMs = opts.skewMs ?? 5_000;
  }

  async *events(): AsyncGenerator<TaskEvent.Info, void> {
    if (this.iterated) throw new Error("A watcher's events() can be iterated only once");
    this.iterated = true;
    const { signal } = this.opts;
    signal?.throwIfAborted();
    const onAbort = () => this.fail(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      this.connect();
      for (;;) {
        signal?.throwIfAborted();
        if (this.ready.length === 0) {
          if (this.failure) throw this.failure.error;
          if (this.stopped) return;
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          continue;
        }
        let ended = false;
        for (const event of this.ready.splice(0).sort(byEventId)) {
          if (this.seen.has(event.eventId)) continue;
          signal?.throwIfAborted();
          this.seen.add(event.eventId);
          if (!this.cursor || event.eventId > this.cursor) {
            this.cursor = event.eventId;
            // The server replays only ids above the rewound cursor: older ones need not be remembered.
            this.seen.forgetUpTo(rewind(this.cursor, this.skewMs));
          }
          ended ||= isEnd(event);
          yield event;
        }
        // The rest of the delivery that brought the end was yielded too: it is already here.
        if (ended) return;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.stop();
    }
  }

  close() {
    this.stop();
    this.ready = [];
  }

  private connect() {
    this.retryTimer = undefined;
    if (this.stopped) return;
    const { wsUrl, token, taskId } = this.opts;
    let socket: WebSocketLike;
    try {
      if (!this.WebSocketImpl) throw new Error("no WebSocket implementation (pass WebSocketImpl)");
      const url = new URL(wsUrl);
      url.searchParams.set("token", token);
      socket = new this.WebSocketImpl(url.toString());
      socket.binaryType = "arraybuffer";
    } catch (error) {
      // A malformed URL or a missing implementation will not get better by retrying.
      this.fail(new ConnectError(`Cannot connect to ${wsUrl}: ${describe(error)}`, 1, this.cursor));
      return;
    }
    this.socket = socket;
    let opened = false;
    let problem: string | undefined;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.everOpened = true;
      this.failedOpens = 0;
      this.heard = true;
      this.send(subscribeMessage(taskId, this.cursor));
      this.awaitSubscribed();
      this.pingTimer = setInterval(() => this.ping(), this.opts.pingIntervalMs ?? 5 * 60_000);
    };
    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(text(event.data));
    };
    socket.onerror = (event) => {
      problem = describe(event);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.lost(opened, problem ?? `closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`);
    };
  }

  private receive(text: string) {
    this.heard = true;
    if (!this.subscribed) this.awaitSubscribed();
    const frame = parseServerFrame(text);
    const { taskId } = this.opts;
    switch (frame?.type) {
      case "event": {
        if (frame.taskId !== taskId || frame.event.taskId !== taskId) return;
        if (this.seen.has(frame.event.eventId)) return;
        if (!this.subscribed) {
          this.replay.push(frame.event);
          return;
        }
        this.ready.push(frame.event);
        this.notify();
        return;
      }
      case "subscribed":
        if (frame.taskId !== taskId) return;
        this.subscribed = true;
        this.retries = 0;
        this.unauthorized = false;
        clearTimeout(this.subscribeTimer);
        this.ready.push(...this.replay.splice(0));
        this.notify();
        return;
      case "error":
        this.refused(new WatchError(frame.code, frame.message, frame.taskId));
        return;
    }
  }

  /**
   * NOT_FOUND for our task ends the watch. UNAUTHORIZED may be a connection record the
   * server lost ("reconnect"): a fresh connection authenticates again, and only a second
   * refusal in a row ends the watch. Any other refusal of a pending subscribe is retried.
   */
  private refused(error: WatchError) {
    if (error.taskId !== this.opts.taskId) {
      this.opts.onError?.(error);
      return;
    }
    if (error.code === "NOT_FOUND" || (error.code === "UNAUTHORIZED" && this.unauthorized)) {
      this.fail(error);
      return;
    }
    if (error.code === "UNAUTHORIZED") {
      this.unauthorized = true;
      this.lost(true, `${error.code}: ${error.message}`);
      return;
    }
    this.opts.onError?.(error);
    if (!this.subscribed) this.lost(true, `${error.code}: ${error.message}`);
  }

  /** (Re)starts the wait for `subscribed`; every frame of the replay restarts it. */
  private awaitSubscribed() {
    clearTimeout(this.subscribeTimer);
    this.subscribeTimer = setTimeout(
      () => this.lost(true, "no answer to subscribe"),
      this.opts.subscribeTimeoutMs ?? 30_000,
    );
  }

  /** Keeps the connection from idling out; one that stayed silent since the last ping is dead. */
  private ping() {
    if (!this.heard) {
      this.lost(true, "no answer to ping");
      return;
    }
    this.heard = false;
    this.send(pingMessage());
  }

  private lost(opened: boolean, reason: string) {
    this.detach();
    if (this.stopped) return;
    if (!opened) {
      this.failedOpens++;
      const status = Number(/Unexpected server response: (\d{3})/.exec(reason)?.[1]) || undefined;
      const limit = this.everOpened
        ? (this.opts.reconnectAttempts ?? Number.POSITIVE_INFINITY)
        : (this.opts.connectAttempts ?? 3);
      if ((status && REFUSED.has(status)) || this.failedOpens >= limit) {
        const tries = this.failedOpens === 1 ? "" : ` (${this.failedOpens} attempts)`;
        this.fail(
          new ConnectError(
            `Cannot connect to ${this.opts.wsUrl}: ${reason}${tries}`,
            this.failedOpens,
            this.cursor,
            status,
          ),
        );
        return;
      }
    }
    const attempt = ++this.retries;
    const delayMs = backoffDelay(attempt, this.opts.backoff);
    this.opts.onReconnect?.({ attempt, delayMs, reason });
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  /**
   * Lets go of the current socket. What arrived before its `subscribed` is dropped, not
   * yielded: live frames interleave with the replay, so it may hold a newer event without the
   * older ones still to be replayed, and yielding it would move the cursor past them for good
   * (the resubscribe replays only from the cursor). The resubscribe sends it all again.
   */
  private detach() {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    clearTimeout(this.subscribeTimer);
    this.subscribeTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    this.subscribed = false;
    this.replay = [];
    if (!socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    // `ws` throws an error event that has no listener; a dropped socket may still emit one.
    socket.onerror = () => {};
    if (socket.readyState <= OPEN) socket.close(1000);
  }

  private send(message: Parameters<typeof encodeMessage>[0]) {
    if (this.socket?.readyState === OPEN) this.socket.send(encodeMessage(message));
  }

  private fail(error: unknown) {
    this.failure ??= { error };
    this.stop();
  }

  private stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.detach();
    this.notify();
  }

  private notify() {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

const byEventId = (a: TaskEvent.Info, b: TaskEvent.Info) =>
  a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;

const isEnd = (event: TaskEvent.Info) =>
  event.type === "task.status" && isTerminalStatus((event.data as { to: string }).to);

/** Frames are JSON text; a server may still send it in a binary frame. */
function text(data: unknown): string {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(new Uint8Array(data));
  if (ArrayBuffer.isView(data))
    return new TextDecoder().decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return "";
}

/** What went wrong, from an Error, `ws`'s error event (`message`), or a browser's bare Event. */
function describe(error: unknown): string {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === "string" && message ? message : "connection error";
}
