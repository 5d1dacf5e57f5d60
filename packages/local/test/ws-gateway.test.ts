import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { WsEvent } from "../src/ws-event.ts";
import { startWsGateway, type WsGatewayOptions } from "../src/ws-gateway.ts";
import { sleep } from "./harness.ts";

async function waitUntil(condition: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(10);
  }
}

/** A client that keeps every frame it receives and how it was closed. */
function client(url: string) {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  const closed = { code: 0, reason: "", done: false };
  ws.on("message", (data) => frames.push(data.toString()));
  ws.on("close", (code, reason) => Object.assign(closed, { code, reason: reason.toString(), done: true }));
  const open = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, frames, closed, open };
}

describe("startWsGateway", () => {
  const stops: (() => Promise<void>)[] = [];
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) {
      // A refused socket is still CONNECTING, and terminating it reports an error.
      ws.on("error", () => undefined);
      ws.terminate();
    }
    for (const stop of stops.splice(0)) await stop();
  });

  /** A gateway whose handlers record every event; `connect` accepts unless told otherwise. */
  async function gateway(
    opts: Partial<WsGatewayOptions> & { connect?: WsGatewayOptions["handlers"]["connect"] } = {},
  ) {
    const events: WsEvent[] = [];
    const record = async (event: WsEvent) => {
      events.push(event);
      return undefined;
    };
    const gw = await startWsGateway({
      port: 0,
      ...opts,
      handlers: {
        connect: async (event) => {
          events.push(event);
          return opts.connect ? opts.connect(event) : { statusCode: 200 };
        },
        disconnect: record,
        default: record,
        ...opts.handlers,
      },
    });
    stops.push(gw.stop);
    const management = new ApiGatewayManagementApiClient({
      endpoint: gw.managementEndpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    stops.push(async () => management.destroy());
    const connect = async (query = "") => {
      const c = client(`${gw.url}${query}`);
      sockets.push(c.ws);
      await c.open;
      return c;
    };
    const of = (type: WsEvent["requestContext"]["eventType"]) =>
      events.filter((e) => e.requestContext.eventType === type);
    return { gw, events, of, management, connect };
  }

  it("refuses the upgrade with the status $connect answered, and opens no connection", async () => {
    const { gw, of } = await gateway({ connect: async () => ({ statusCode: 401, body: "Unauthorized" }) });

    const ws = new WebSocket(`${gw.url}?token=bad`);
    sockets.push(ws);
    const status = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    });

    expect(status).toBe(401);
    expect(gw.connections()).toEqual([]);
    await sleep(50);
    expect(of("DISCONNECT")).toHaveLength(0);
  });

  it("answers 500 to the upgrade when $connect throws", async () => {
    const { gw } = await gateway({
      connect: async () => {
        throw new Error("boom");
      },
    });

    const ws = new WebSocket(gw.url);
    sockets.push(ws);
    const status = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    });

    expect(status).toBe(500);
  });

  it("accepts after a 2xx $connect, with API Gateway's CONNECT event", async () => {
    const { gw, of, connect } = await gateway();

    await connect("?token=abc&x=1&x=2");

    const [event] = of("CONNECT");
    expect(event).toMatchObject({
      requestContext: {
        routeKey: "$connect",
        eventType: "CONNECT",
        stage: "local",
        apiId: "local",
        domainName: gw.url.replace(/^ws:\/\/|\/local$/g, ""),
        messageDirection: "IN",
        identity: { sourceIp: "127.0.0.1" },
      },
      queryStringParameters: { token: "abc", x: "2" },
      multiValueQueryStringParameters: { token: ["abc"], x: ["1", "2"] },
      isBase64Encoded: false,
    });
    const id = event!.requestContext.connectionId;
    expect(id).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    expect(gw.connections()).toEqual([id]);
    expect(event!.headers?.Host).toBe(event!.requestContext.domainName);
    expect(event!.requestContext.requestTime).toMatch(/^\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
  });

  it("gives queryStringParameters null when the URL has none", async () => {
    const { connect, of } = await gateway();
    await connect();
    expect(of("CONNECT")[0]?.queryStringParameters).toBeNull();
  });

  it("routes on body.action, falls back to $default, and handles one connection's messages in order", async () => {
    const handled: string[] = [];
    const slowFirst = async (event: WsEvent) => {
      const body = event.body ?? "";
      // The first message is slow: the second must still wait for it.
      if (body.includes('"n":0')) await sleep(100);
      handled.push(`${event.requestContext.routeKey} ${body}`);
      return undefined;
    };
    const { connect } = await gateway({
      handlers: {
        connect: async () => ({ statusCode: 200 }),
        disconnect: async () => undefined,
        default: slowFirst,
        subscribe: slowFirst,
      },
    });
    const c = await connect();

    c.ws.send(JSON.stringify({ action: "subscribe", n: 0 }));
    c.ws.send(JSON.stringify({ action: "unknown", n: 1 }));
    c.ws.send("not json");
    c.ws.send(JSON.stringify({ action: "connect", n: 3 }));
    c.ws.send(JSON.stringify({ n: 4 }));
    await waitUntil(() => handled.length === 5);

    expect(handled).toEqual([
      'subscribe {"action":"subscribe","n":0}',
      '$default {"action":"unknown","n":1}',
      "$default not json",
      '$default {"action":"connect","n":3}',
      '$default {"n":4}',
    ]);
    // Nothing the handler returns goes back to the client.
    await sleep(50);
    expect(c.frames).toEqual([]);
  });

  it("passes MESSAGE events shaped like API Gateway's", async () => {
    const { connect, of } = await gateway();
    const c = await connect();

    c.ws.send(JSON.stringify({ action: "ping" }));
    await waitUntil(() => of("MESSAGE").length === 1);

    const [message] = of("MESSAGE");
    expect(message).toMatchObject({
      requestContext: {
        routeKey: "$default",
        eventType: "MESSAGE",
        connectionId: of("CONNECT")[0]!.requestContext.connectionId,
        stage: "local",
        apiId: "local",
      },
      body: '{"action":"ping"}',
      isBase64Encoded: false,
    });
    expect(message!.requestContext.messageId).toMatch(/=$/);
    expect(typeof message!.requestContext.requestTimeEpoch).toBe("number");
  });

  it("tells the client when a route handler fails, as API Gateway does", async () => {
    const { connect } = await gateway({
      handlers: {
        connect: async () => ({ statusCode: 200 }),
        disconnect: async () => undefined,
        default: async () => {
          throw new Error("bug");
        },
      },
    });
    const c = await connect();

    c.ws.send("{}");
    await waitUntil(() => c.frames.length === 1);

    expect(JSON.parse(c.frames[0]!)).toMatchObject({ message: "Internal server error" });
  });

  it("serves the management API to ApiGatewayManagementApiClient", async () => {
    const { connect, of, management } = await gateway();
    const c = await connect();
    const id = of("CONNECT")[0]!.requestContext.connectionId;

    await management.send(new PostToConnectionCommand({ ConnectionId: id, Data: '{"type":"pong"}' }));
    await management.send(
      new PostToConnectionCommand({ ConnectionId: id, Data: new TextEncoder().encode("second") }),
    );
    await waitUntil(() => c.frames.length === 2);
    expect(c.frames).toEqual(['{"type":"pong"}', "second"]);

    const info = await management.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
    expect(info.Identity?.SourceIp).toBe("127.0.0.1");

    await management.send(new DeleteConnectionCommand({ ConnectionId: id }));
    await waitUntil(() => c.closed.done && of("DISCONNECT").length === 1);
    expect(of("DISCONNECT")[0]!.requestContext).toMatchObject({
      routeKey: "$disconnect",
      eventType: "DISCONNECT",
      connectionId: id,
    });

    const gone = await management
      .send(new PostToConnectionCommand({ ConnectionId: id, Data: "late" }))
      .catch((error) => error);
    expect(gone.name).toBe("GoneException");
    expect(gone.$metadata.httpStatusCode).toBe(410);
    const getGone = await management.send(new GetConnectionCommand({ ConnectionId: id })).catch((e) => e);
    expect(getGone.name).toBe("GoneException");
    const deleteGone = await management
      .send(new DeleteConnectionCommand({ ConnectionId: id }))
      .catch((e) => e);
    expect(deleteGone.name).toBe("GoneException");
  });

  it("answers PayloadTooLargeException over 128 KB and LimitExceededException when throttled", async () => {
    let throttled = false;
    let throttleCalls = 0;
    const { connect, of, management } = await gateway({
      throttle: () => {
        throttleCalls++;
        return throttled;
      },
    });
    const c = await connect();
    const id = of("CONNECT")[0]!.requestContext.connectionId;

    const big = await management
      .send(new PostToConnectionCommand({ ConnectionId: id, Data: "x".repeat(128 * 1024 + 1) }))
      .catch((e) => e);
    expect(big.name).toBe("PayloadTooLargeException");
    expect(big.$metadata.httpStatusCode).toBe(413);

    throttled = true;
    const limited = await management
      .send(new PostToConnectionCommand({ ConnectionId: id, Data: "x" }))
      .catch((e) => e);
    expect(limited.name).toBe("LimitExceededException");
    // The SDK's standard retry mode treats 429 as throttling: three attempts before it throws.
    expect(throttleCalls).toBe(3);
    expect(c.frames).toEqual([]);
  });

  it("closes a client message over 128 KB with 1009 and reports it to $disconnect", async () => {
    const { connect, of } = await gateway();
    const c = await connect();

    c.ws.send("x".repeat(128 * 1024 + 1));
    await waitUntil(() => c.closed.done && of("DISCONNECT").length === 1);

    expect(c.closed.code).toBe(1009);
    expect(of("DISCONNECT")[0]!.requestContext.disconnectStatusCode).toBe(1009);
  });

  it("runs $disconnect for a client that left while $connect was still running", async () => {
    const { gw, of } = await gateway({
      connect: async () => {
        await sleep(100);
        return { statusCode: 200 };
      },
    });

    const ws = new WebSocket(gw.url);
    sockets.push(ws);
    await waitUntil(() => of("CONNECT").length === 1);
    ws.on("error", () => undefined);
    ws.terminate();
    await waitUntil(() => of("DISCONNECT").length === 1);

    expect(of("DISCONNECT")[0]!.requestContext.disconnectStatusCode).toBe(1006);
    expect(gw.connections()).toEqual([]);
  });

  it("runs $disconnect once when the client closes", async () => {
    const { connect, of, gw } = await gateway();
    const c = await connect();

    c.ws.close(1000, "bye");
    await waitUntil(() => of("DISCONNECT").length === 1);
    await sleep(100);

    expect(of("DISCONNECT")).toHaveLength(1);
    expect(of("DISCONNECT")[0]!.requestContext).toMatchObject({
      disconnectStatusCode: 1000,
      disconnectReason: "bye",
    });
    expect(gw.connections()).toEqual([]);
  });

  it("closes an idle connection and runs $disconnect exactly once; messages keep it alive", async () => {
    const { connect, of } = await gateway({ idleTimeoutMs: 200 });
    const c = await connect();

    for (let i = 0; i < 4; i++) {
      await sleep(100);
      c.ws.send("{}");
    }
    expect(c.closed.done).toBe(false);
    await waitUntil(() => c.closed.done);
    await sleep(300);

    expect(c.closed.code).toBe(1001);
    expect(of("DISCONNECT")).toHaveLength(1);
    expect(of("DISCONNECT")[0]!.requestContext).toMatchObject({
      disconnectStatusCode: 1001,
      disconnectReason: "Going away",
    });
  });

  it("closes a connection at its maximum duration", async () => {
    const { connect, of } = await gateway({ maxConnectionMs: 150 });
    const c = await connect();

    await waitUntil(() => c.closed.done && of("DISCONNECT").length === 1);

    expect(c.closed.code).toBe(1001);
  });

  it("stop() closes every connection, runs their $disconnect and frees the port", async () => {
    const { gw, connect, of } = await gateway();
    const a = await connect();
    const b = await connect();

    await gw.stop();

    expect(a.closed.done && b.closed.done).toBe(true);
    expect(of("DISCONNECT")).toHaveLength(2);
    const late = new WebSocket(gw.url);
    sockets.push(late);
    const error = await new Promise<Error>((resolve) => late.once("error", resolve));
    expect(String(error)).toMatch(/ECONNREFUSED/);
  });
});
