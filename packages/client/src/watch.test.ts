import { createServer } from "node:net";
import type { TaskEvent } from "@conveyor/core/event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { FakeGateway } from "./fake-gateway.ts";
import {
  backoffDelay,
  ConnectError,
  type TaskWatcher,
  WatchError,
  type WatchOptions,
  watchTask,
} from "./watch.ts";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const TASK = FakeGateway.id(T0 - 60_000, 9);
const at = (seconds: number, seq = 1) => FakeGateway.id(T0 + seconds * 1000, seq);
const turn = (eventId: string) => FakeGateway.event(TASK, eventId, "agent.turn", { turn: 1, text: "x" });
const status = (eventId: string, from: string, to: string) =>
  FakeGateway.event(TASK, eventId, "task.status", { from, to });

let gateway: FakeGateway;
const watchers: TaskWatcher[] = [];

beforeEach(async () => {
  gateway = await FakeGateway.start();
  gateway.addTask(TASK);
});

afterEach(async () => {
  for (const watcher of watchers.splice(0)) watcher.close();
  await gateway.close();
});

function watch(opts: Partial<WatchOptions> = {}) {
  const watcher = watchTask({
    wsUrl: gateway.url,
    token: gateway.token,
    taskId: TASK,
    WebSocketImpl: WebSocket,
    backoff: { initialMs: 5, maxMs: 20 },
    ...opts,
  });
  watchers.push(watcher);
  return watcher;
}

/** The next event's id, failing if the watch ended instead. */
async function next(events: AsyncGenerator<TaskEvent.Info, void>): Promise<string> {
  const result = await events.next();
  if (result.done) throw new Error("the watch ended");
  return result.value.eventId;
}

async function rest(events: AsyncGenerator<TaskEvent.Info, void>): Promise<string[]> {
  const ids: string[] = [];
  for await (const event of events) ids.push(event.eventId);
  return ids;
}

const pings = () =>
  gateway.messages.filter(({ message }) => (message as { action?: string }).action === "ping").length;

describe("watchTask", () => {
  it("yields the stored events, then live ones, and ends after the terminal status", async () => {
    gateway.commit(turn(at(1)));
    gateway.commit(turn(at(2)));
    const watcher = watch();
    const events = watcher.events();

    expect([await next(events), await next(events)]).toEqual([at(1), at(2)]);
    gateway.commit(turn(at(3)));
    expect(await next(events)).toBe(at(3));
    gateway.commit(status(at(4), "RUNNING", "COMPLETED"));

    expect(await rest(events)).toEqual([at(4)]);
    expect(watcher.cursor).toBe(at(4));
    expect(gateway.subscribes).toEqual([{ connection: 1, taskId: TASK, after: undefined }]);
  });

  it("sends the token in the query and yields a replay that arrives out of order in eventId order", async () => {
    gateway.onMessage = (message, socket) => {
      if ((message as { action?: string }).action !== "subscribe") return false;
      for (const id of [at(3), at(1), at(2)]) {
        socket.send(JSON.stringify({ type: "event", taskId: TASK, event: turn(id) }));
      }
      socket.send(JSON.stringify({ type: "subscribed", taskId: TASK, cursor: at(3) }));
      socket.send(JSON.stringify({ type: "event", taskId: TASK, event: status(at(4), "RUNNING", "FAILED") }));
      return true;
    };

    const ids = await rest(watch().events());

    expect(ids).toEqual([at(1), at(2), at(3), at(4)]);
  });

  it("yields each id once, a late event with a smaller id included", async () => {
    gateway.commit(turn(at(1)));
    gateway.commit(turn(at(2)));
    const events = watch().events();
    await next(events);
    await next(events);

    gateway.push(turn(at(2)));
    gateway.commit(turn(at(4)));
    expect(await next(events)).toBe(at(4));
    // A writer a second behind commits after the watcher has seen a later id.
    gateway.commit(turn(at(3)));
    expect(await next(events)).toBe(at(3));
    gateway.push(turn(at(3)));
    gateway.push(turn(at(4)));
    gateway.commit(status(at(5), "RUNNING", "COMPLETED"));

    expect(await rest(events)).toEqual([at(5)]);
  });

  it("resumes with after = its cursor when the connection drops, without a gap or a duplicate", async () => {
    gateway.commit(turn(at(1)));
    gateway.commit(turn(at(2)));
    const watcher = watch();
    const events = watcher.events();
    const ids = [await next(events), await next(events)];
    gateway.commit(turn(at(3)));
    ids.push(await next(events));

    gateway.dropConnections();
    gateway.commit(turn(at(4)));
    ids.push(await next(events));
    gateway.commit(status(at(5), "RUNNING", "COMPLETED"));
    ids.push(...(await rest(events)));

    expect(gateway.subscribes.map(({ connection, after }) => ({ connection, after }))).toEqual([
      { connection: 1, after: undefined },
      { connection: 2, after: at(3) },
    ]);
    expect(ids).toEqual([at(1), at(2), at(3), at(4), at(5)]);
  });

  it("replays a subscribe the socket died during again, in full", async () => {
    for (let i = 1; i <= 3; i++) gateway.commit(turn(at(i)));
    gateway.commit(status(at(4), "RUNNING", "COMPLETED"));
    gateway.onMessage = (_message, socket) => {
      if (gateway.connections > 1) return false;
      socket.send(JSON.stringify({ type: "event", taskId: TASK, event: turn(at(1)) }));
      socket.terminate();
      return true;
    };

    const ids = await rest(watch().events());

    expect(ids).toEqual([at(1), at(2), at(3), at(4)]);
    expect(gateway.subscribes.map(({ after }) => after)).toEqual([undefined, undefined]);
  });

  it("loses no older event when a live one arrives before the replay and the socket dies then", async () => {
    for (let i = 1; i <= 3; i++) gateway.commit(turn(at(i)));
    gateway.commit(status(at(100), "RUNNING", "COMPLETED"));
    gateway.onMessage = (_message, socket) => {
      if (gateway.connections > 1) return false;
      // The fan-out got the newest event out before the replay read the older ones.
      socket.send(
        JSON.stringify({ type: "event", taskId: TASK, event: status(at(100), "RUNNING", "COMPLETED") }),
      );
      socket.terminate();
      return true;
    };

    const ids = await rest(watch().events());

    expect(ids).toEqual([at(1), at(2), at(3), at(100)]);
    expect(gateway.subscribes.map(({ after }) => after)).toEqual([undefined, undefined]);
  });

  it("reads frames sent as binary too", async () => {
    gateway.onMessage = (_message, socket) => {
      for (const frame of [
        { type: "event", taskId: TASK, event: status(at(1), "RUNNING", "COMPLETED") },
        { type: "subscribed", taskId: TASK, cursor: at(1) },
      ]) {
        socket.send(Buffer.from(JSON.stringify(frame)), { binary: true });
      }
      return true;
    };

    expect(await rest(watch().events())).toEqual([at(1)]);
  });

  it("resumes strictly after the given cursor", async () => {
    for (let i = 1; i <= 3; i++) gateway.commit(turn(at(i)));
    gateway.commit(status(at(4), "RUNNING", "COMPLETED"));

    const ids = await rest(watch({ after: at(2) }).events());

    expect(ids).toEqual([at(3), at(4)]);
    expect(gateway.subscribes[0]?.after).toBe(at(2));
  });

  it("backs off with jitter while reconnects fail, and starts over after a subscribe", async () => {
    gateway.commit(turn(at(1)));
    gateway.onConnection = (socket, connection) => {
      if (connection <= 3) socket.terminate();
    };
    const retries: { attempt: number; delayMs: number }[] = [];
    const events = watch({
      backoff: { initialMs: 10, maxMs: 25 },
      onReconnect: ({ attempt, delayMs }) => retries.push({ attempt, delayMs }),
    }).events();

    expect(await next(events)).toBe(at(1));
    gateway.dropConnections();
    gateway.commit(status(at(2), "RUNNING", "COMPLETED"));
    expect(await rest(events)).toEqual([at(2)]);

    expect(retries.map((retry) => retry.attempt)).toEqual([1, 2, 3, 1]);
    for (const { attempt, delayMs } of retries) {
      expect(delayMs).toBeGreaterThanOrEqual(0);
      expect(delayMs).toBeLessThan(Math.min(25, 10 * 2 ** (attempt - 1)));
    }
  });

  it("throws ConnectError at once when the upgrade is refused with 401", async () => {
    const events = watch({ token: "cvy_wrong" }).events();

    const error = await events.next().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ status: 401, attempts: 1 });
    expect((error as Error).message).not.toContain("cvy_wrong");
    expect(gateway.attempts).toBe(1);
  });

  it("throws ConnectError after connectAttempts failed opens when nothing listens", async () => {
    const port = await closedPort();
    const retries: number[] = [];
    const events = watch({
      wsUrl: `ws://127.0.0.1:${port}`,
      connectAttempts: 3,
      onReconnect: ({ attempt }) => retries.push(attempt),
    }).events();

    await expect(events.next()).rejects.toMatchObject({ name: "ConnectError", attempts: 3 });
    expect(retries).toEqual([1, 2]);
  });

  it("gives up on reconnecting after reconnectAttempts, with the cursor to resume from", async () => {
    gateway.commit(turn(at(1)));
    const events = watch({ reconnectAttempts: 2 }).events();
    await next(events);

    gateway.refuse = Number.POSITIVE_INFINITY;
    gateway.refuseStatus = 503;
    gateway.dropConnections();

    await expect(events.next()).rejects.toMatchObject({
      name: "ConnectError",
      cursor: at(1),
      status: 503,
      attempts: 2,
    });
  });

  it("ends with WatchError NOT_FOUND for a task it may not see", async () => {
    const events = watch({ taskId: FakeGateway.id(T0, 7) }).events();

    const error = await events.next().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(WatchError);
    expect(error).toMatchObject({ code: "NOT_FOUND" });
  });

  it("connects again once when the server no longer knows the connection (UNAUTHORIZED)", async () => {
    gateway.commit(turn(at(1)));
    gateway.onMessage = (message, socket) => {
      if (gateway.connections > 1 || (message as { action?: string }).action !== "subscribe") return false;
      socket.send(
        JSON.stringify({
          type: "error",
          code: "UNAUTHORIZED",
          message: "Unknown connection: reconnect",
          taskId: TASK,
        }),
      );
      return true;
    };
    const events = watch().events();

    expect(await next(events)).toBe(at(1));
    expect(gateway.connections).toBe(2);
  });

  it("ends with WatchError UNAUTHORIZED when a fresh connection is refused the task too", async () => {
    gateway.onMessage = (_message, socket) => {
      socket.send(JSON.stringify({ type: "error", code: "UNAUTHORIZED", message: "no", taskId: TASK }));
      return true;
    };

    await expect(watch().events().next()).rejects.toMatchObject({ name: "WatchError", code: "UNAUTHORIZED" });
    expect(gateway.connections).toBe(2);
  });

  it("subscribes again when a subscribe is refused for a passing reason or never answered", async () => {
    gateway.commit(turn(at(1)));
    gateway.onMessage = (_message, socket) => {
      if (gateway.connections === 1) {
        socket.send(
          JSON.stringify({ type: "error", code: "RATE_LIMITED", message: "slow down", taskId: TASK }),
        );
        return true;
      }
      // The second subscribe gets no answer at all.
      return gateway.connections === 2;
    };
    const reported: string[] = [];
    const reasons: string[] = [];
    const events = watch({
      subscribeTimeoutMs: 30,
      onError: (error) => reported.push(error.code),
      onReconnect: ({ reason }) => reasons.push(reason),
    }).events();

    expect(await next(events)).toBe(at(1));
    expect(reported).toEqual(["RATE_LIMITED"]);
    expect(reasons).toEqual(["RATE_LIMITED: slow down", "no answer to subscribe"]);
  });

  it("reports other error frames and junk through onError or not at all, and carries on", async () => {
    gateway.commit(turn(at(1)));
    const reported: WatchError[] = [];
    const events = watch({ onError: (error) => reported.push(error) }).events();
    await next(events);

    gateway.broadcast({ type: "error", code: "RATE_LIMITED", message: "slow down", taskId: TASK });
    gateway.broadcast("not json");
    gateway.broadcast(JSON.stringify({ type: "event", taskId: TASK, event: { eventId: "nope" } }));
    gateway.commit(status(at(2), "RUNNING", "COMPLETED"));

    expect(await rest(events)).toEqual([at(2)]);
    expect(reported).toMatchObject([{ code: "RATE_LIMITED", message: "slow down", taskId: TASK }]);
  });

  it("pings on its interval and keeps a connection that answers", async () => {
    const watcher = watch({ pingIntervalMs: 10 });
    const run = rest(watcher.events());

    await vi.waitFor(() => expect(pings()).toBeGreaterThanOrEqual(3), { timeout: 2_000, interval: 5 });
    watcher.close();

    expect(await run).toEqual([]);
    expect(gateway.connections).toBe(1);
  });

  it("replaces a connection that stays silent for a whole ping interval", async () => {
    gateway.answerPings = false;
    const reasons: string[] = [];
    const watcher = watch({ pingIntervalMs: 10, onReconnect: ({ reason }) => reasons.push(reason) });
    const run = rest(watcher.events());

    await vi.waitFor(() => expect(gateway.connections).toBeGreaterThanOrEqual(2), { timeout: 2_000 });
    watcher.close();

    await run;
    expect(reasons[0]).toBe("no answer to ping");
  });

  it("stops with the abort reason when its signal is aborted", async () => {
    gateway.commit(turn(at(1)));
    const controller = new AbortController();
    const events = watch({ signal: controller.signal }).events();
    await next(events);

    const pending = events.next();
    controller.abort();

    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  it("ends events() when closed", async () => {
    const watcher = watch();
    const run = rest(watcher.events());
    await vi.waitFor(() => expect(gateway.subscribes).toHaveLength(1));

    watcher.close();

    expect(await run).toEqual([]);
  });
});

describe("backoffDelay", () => {
  it("picks below the doubled delay, capped", () => {
    const top = () => 0.999_999;
    const backoff = { initialMs: 250, maxMs: 10_000 };

    expect([1, 2, 3, 4, 10].map((attempt) => backoffDelay(attempt, backoff, top))).toEqual([
      249, 499, 999, 1999, 9999,
    ]);
    expect(backoffDelay(3, backoff, () => 0)).toBe(0);
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
