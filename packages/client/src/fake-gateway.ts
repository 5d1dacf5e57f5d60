import type { AddressInfo } from "node:net";
import type { TaskEvent } from "@conveyor/core/event";
import { ClientMessage, type ServerFrame } from "@conveyor/core/realtime/protocol";
import { floorId, idTime, rewind } from "@conveyor/core/util/ulid";
import * as v from "valibot";
import { type WebSocket, WebSocketServer } from "ws";

/**
 * A stand-in for the WebSocket API speaking protocol v1 (DESIGN §8) on 127.0.0.1, for
 * tests of the client and the CLI: a token checked at the upgrade (401 otherwise),
 * replay after the cursor rewound by the skew window, `subscribed`, live pushes, pings.
 * Tests change the world with `commit` / `push` and break it with `refuse`,
 * `dropConnections` and `onMessage`. Not for production: no Node-free guarantee here.
 *
 * @example
 * const gateway = await FakeGateway.start();
 * gateway.addTask(taskId);
 * gateway.commit(FakeGateway.event(taskId, FakeGateway.id(T0, 1), "agent.turn", { turn: 1, text: "hi" }));
 * // ... watchTask({ wsUrl: gateway.url, token: gateway.token, taskId, WebSocketImpl: WebSocket })
 * await gateway.close();
 */
export class FakeGateway {
  readonly token = "cvy_test";
  /** Stored events of each visible task, in eventId order; other tasks are NOT_FOUND. */
  readonly tasks = new Map<string, TaskEvent.Info[]>();
  /** Every message received, with the 1-based number of the connection it came on. */
  readonly messages: { connection: number; message: unknown }[] = [];
  /** Upgrade requests seen, refused or not. */
  attempts = 0;
  /** Connections opened. */
  connections = 0;
  /** Refuse this many upgrades from now on, whatever the token, with `refuseStatus`. */
  refuse = 0;
  refuseStatus = 401;
  answerPings = true;
  skewMs = 5_000;
  /** Sees each message first; answering `true` skips the gateway's own answer. */
  onMessage?: (message: unknown, socket: WebSocket) => boolean | undefined;
  /** Sees each new connection (e.g. to drop it at once). */
  onConnection?: (socket: WebSocket, connection: number) => void;

  private readonly subscriptions = new Map<WebSocket, Set<string>>();

  private constructor(private readonly server: WebSocketServer) {
    server.on("connection", (socket) => this.accept(socket));
  }

  static async start(): Promise<FakeGateway> {
    let gateway: FakeGateway | undefined;
    const server = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      verifyClient: (info, done) => gateway!.verify(info.req.url ?? "", done),
    });
    gateway = new FakeGateway(server);
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    return gateway;
  }

  /** The ULID for `ms` with a chosen tail, so tests can order ids by hand. */
  static id(ms: number, seq = 0): string {
    return `${floorId(ms).slice(0, 10)}${String(seq).padStart(16, "0")}`;
  }

  static event(taskId: string, eventId: string, type: TaskEvent.Info["type"], data: unknown = {}) {
    return { taskId, eventId, type, at: new Date(idTime(eventId)).toISOString(), data } as TaskEvent.Info;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/test`;
  }

  /** The `subscribe` messages received, oldest first. */
  get subscribes(): { connection: number; taskId: string; after?: string }[] {
    return this.messages.flatMap(({ connection, message }) => {
      const m = message as { action?: string; taskId: string; after?: string };
      return m.action === "subscribe" ? [{ connection, taskId: m.taskId, after: m.after }] : [];
    });
  }

  addTask(taskId: string) {
    if (!this.tasks.has(taskId)) this.tasks.set(taskId, []);
  }

  /** Stores an event (wherever its id sorts) and pushes it to the task's subscribers. */
  commit(event: TaskEvent.Info) {
    const events = this.tasks.get(event.taskId) ?? [];
    events.push(event);
    events.sort((a, b) => (a.eventId < b.eventId ? -1 : 1));
    this.tasks.set(event.taskId, events);
    this.push(event);
  }

  /** Pushes an event to the task's subscribers without storing it (a duplicate delivery, say). */
  push(event: TaskEvent.Info) {
    for (const [socket, tasks] of this.subscriptions) {
      if (tasks.has(event.taskId)) send(socket, { type: "event", taskId: event.taskId, event });
    }
  }

  /** Sends any frame to every open connection. */
  broadcast(frame: ServerFrame | string) {
    for (const socket of this.server.clients) send(socket, frame);
  }

  /** Cuts every connection without a closing handshake, as a lost network does. */
  dropConnections() {
    for (const socket of this.server.clients) socket.terminate();
    this.subscriptions.clear();
  }

  async close() {
    this.dropConnections();
    await new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  private verify(path: string, done: (ok: boolean, status?: number, reason?: string) => void) {
    this.attempts++;
    const token = new URL(path, "http://gateway").searchParams.get("token");
    if (this.refuse > 0) {
      this.refuse--;
      done(false, this.refuseStatus);
      return;
    }
    if (token !== this.token) {
      done(false, 401, "Unauthorized");
      return;
    }
    done(true);
  }

  private accept(socket: WebSocket) {
    const connection = ++this.connections;
    this.subscriptions.set(socket, new Set());
    socket.on("close", () => this.subscriptions.delete(socket));
    socket.on("message", (data) => {
      let message: unknown;
      try {
        message = JSON.parse(data.toString());
      } catch {
        message = data.toString();
      }
      this.messages.push({ connection, message });
      if (this.onMessage?.(message, socket)) return;
      this.answer(socket, message);
    });
    this.onConnection?.(socket, connection);
  }

  private answer(socket: WebSocket, raw: unknown) {
    const parsed = v.safeParse(ClientMessage, raw);
    if (!parsed.success) {
      send(socket, { type: "error", code: "VALIDATION_ERROR", message: parsed.issues[0].message });
      return;
    }
    const message = parsed.output;
    switch (message.action) {
      case "ping":
        if (this.answerPings) send(socket, { type: "pong" });
        return;
      case "unsubscribe":
        this.subscriptions.get(socket)?.delete(message.taskId);
        send(socket, { type: "unsubscribed", taskId: message.taskId });
        return;
      case "subscribe": {
        const { taskId, after } = message;
        const stored = this.tasks.get(taskId);
        if (!stored) {
          send(socket, { type: "error", code: "NOT_FOUND", message: `task ${taskId} not found`, taskId });
          return;
        }
        // Subscribed before replaying, as the server is, so nothing committed meanwhile is missed.
        this.subscriptions.get(socket)?.add(taskId);
        const from = rewind(after, this.skewMs);
        const replay = stored.filter((event) => !from || event.eventId > from);
        for (const event of replay) send(socket, { type: "event", taskId, event });
        send(socket, { type: "subscribed", taskId, cursor: replay.at(-1)?.eventId ?? after ?? null });
        return;
      }
    }
  }
}

function send(socket: WebSocket, frame: ServerFrame | string) {
  if (socket.readyState === socket.OPEN)
    socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
}
