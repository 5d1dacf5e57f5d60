import { createServer, type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { claimPort } from "./ports.ts";
import { type Connection, connectionsApi } from "./ws-connections.ts";
import {
  closeReason,
  headersOf,
  MESSAGE_LIMIT,
  newId,
  type WsEvent,
  type WsHandler,
  type WsPeer,
  type WsRequestContext,
  wsContext,
} from "./ws-event.ts";

export interface WsGatewayOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default "local". */
  stage?: string;
  /** The same handlers as the routes in AWS; other keys are custom routes chosen by `body.action`. */
  handlers: {
    /** A 2xx `{ statusCode }` accepts; any other answer refuses the upgrade with that status (502 if none). */
    connect: (event: WsEvent) => Promise<unknown>;
    disconnect: WsHandler;
    default: WsHandler;
    [routeKey: string]: WsHandler;
  };
  /** Closes a connection no client message arrived on for this long. Default 10 min, as API Gateway. */
  idleTimeoutMs?: number;
  /** Closes every connection this old. Default 2 h, as API Gateway. */
  maxConnectionMs?: number;
  /** Test hook: answer PostToConnection 429 (LimitExceededException) for this connection, as a full client buffer does. */
  throttle?: (connectionId: string) => boolean;
  log?: (entry: Record<string, unknown>) => void;
}

const RESERVED_ROUTES = new Set(["connect", "disconnect", "default"]);

/**
 * An API Gateway WebSocket API, emulated on one port: the upgrade runs `$connect` (a non-2xx
 * answer refuses it with that HTTP status), messages are routed on `$request.body.action`,
 * closes (by either side, idle or too old) run `$disconnect` once, and
 * `/{stage}/@connections/{id}` serves the management API that
 * `@aws-sdk/client-apigatewaymanagementapi` calls (endpoint = `managementEndpoint`).
 * Frames of over 32 KB are not refused (ws has no per-frame hook); messages over 128 KB are (1009).
 *
 * @example
 * const gateway = await startWsGateway({ port: 0, handlers: { connect, disconnect, default: message } });
 * const ws = new WebSocket(`${gateway.url}?token=...`);
 * await gateway.stop();
 */
export async function startWsGateway(opts: WsGatewayOptions) {
  const stage = opts.stage ?? "local";
  const log = opts.log ?? (() => undefined);
  const idleTimeoutMs = opts.idleTimeoutMs ?? 10 * 60_000;
  const maxConnectionMs = opts.maxConnectionMs ?? 2 * 60 * 60_000;
  const connections = new Map<string, Connection>();
  /** Everything in flight: upgrades awaiting `$connect`, and each connection's handler queue. */
  const pending = new Set<Promise<unknown>>();
  const protocols = new WeakMap<IncomingMessage, string>();
  let stopping = false;

  const port = await claimPort(opts.port, "the WebSocket gateway");
  const domainName = `127.0.0.1:${port}`;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MESSAGE_LIMIT,
    // API Gateway answers with the subprotocol the $connect integration chose, or none.
    handleProtocols: (_offered, req) => protocols.get(req) ?? false,
  });

  const context = (conn: WsPeer, routeKey: string, eventType: WsRequestContext["eventType"]) =>
    wsContext(conn, routeKey, eventType, { stage, domainName });

  function track<T>(promise: Promise<T>) {
    pending.add(promise);
    promise.finally(() => pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    // A client that goes away mid-handshake must not crash the process.
    socket.on("error", () => undefined);
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== `/${stage}` && url.pathname !== `/${stage}/`) {
      return refuse(socket, 403, JSON.stringify({ message: "Forbidden" }));
    }
    if (
      req.method !== "GET" ||
      req.headers.upgrade?.toLowerCase() !== "websocket" ||
      !req.headers["sec-websocket-key"] ||
      req.headers["sec-websocket-version"] !== "13"
    ) {
      return refuse(socket, 400, JSON.stringify({ message: "Bad Request" }));
    }
    if (stopping) return refuse(socket, 503, JSON.stringify({ message: "Service Unavailable" }));

    const sourceIp = req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "127.0.0.1";
    const userAgent = req.headers["user-agent"];
    const conn = { id: newId(), connectedAt: Date.now(), sourceIp, userAgent };
    const { headers, multiValueHeaders } = headersOf(req, sourceIp, port);
    const query = [...url.searchParams.keys()];
    const event: WsEvent = {
      headers,
      multiValueHeaders,
      queryStringParameters:
        query.length > 0
          ? Object.fromEntries(query.map((k) => [k, url.searchParams.getAll(k).at(-1)!]))
          : null,
      multiValueQueryStringParameters:
        query.length > 0 ? Object.fromEntries(query.map((k) => [k, url.searchParams.getAll(k)])) : null,
      requestContext: context(conn, "$connect", "CONNECT"),
      isBase64Encoded: false,
    };

    let status: number;
    let body: string | undefined;
    let answerHeaders: Record<string, unknown> = {};
    try {
      const result = (await opts.handlers.connect(event)) as
        | { statusCode?: unknown; body?: unknown; headers?: Record<string, unknown> }
        | undefined;
      // A proxy integration that answers without a statusCode is a malformed response: 502.
      status = typeof result?.statusCode === "number" ? result.statusCode : 502;
      body = typeof result?.body === "string" ? result.body : undefined;
      answerHeaders = result?.headers ?? {};
      if (status === 502) log({ level: "error", msg: "$connect answered without a statusCode" });
    } catch (error) {
      log({ level: "error", msg: "$connect handler threw", connectionId: conn.id, error: String(error) });
      status = 500;
      body = JSON.stringify({ message: "Internal server error" });
    }
    const accepted = status >= 200 && status < 300;
    if (!accepted) return refuse(socket, status, body ?? JSON.stringify({ message: STATUS_CODES[status] }));
    // A client that left while $connect ran leaves a socket ws would drop without a word.
    const left = socket.destroyed || !socket.readable || !socket.writable;
    if (stopping || left) {
      // The handler already recorded the connection: let $disconnect clean it up.
      if (!left) refuse(socket, 503, JSON.stringify({ message: "Service Unavailable" }));
      else socket.destroy();
      await invokeDisconnect(conn, { code: 1006, reason: "Connection was closed abnormally" });
      return;
    }
    const protocol = Object.entries(answerHeaders).find(
      ([k]) => k.toLowerCase() === "sec-websocket-protocol",
    );
    if (protocol) protocols.set(req, String(protocol[1]));
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, conn));
  }

  function accept(socket: WebSocket, info: WsPeer) {
    const conn: Connection = {
      ...info,
      socket,
      lastActiveAt: Date.now(),
      queue: Promise.resolve(),
      timers: [],
    };
    connections.set(conn.id, conn);
    const idle = setTimeout(() => close(conn, 1001, "Going away"), idleTimeoutMs);
    conn.timers.push(
      idle,
      setTimeout(() => close(conn, 1001, "Going away"), maxConnectionMs),
    );
    log({ level: "debug", msg: "ws connected", connectionId: conn.id });

    socket.on("message", (data: RawData, isBinary: boolean) => {
      conn.lastActiveAt = Date.now();
      idle.refresh();
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      enqueue(conn, () => onMessage(conn, bytes, isBinary));
    });
    socket.on("error", (error: Error & { code?: string }) => {
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH")
        conn.closing ??= { code: 1009, reason: "Message too big" };
      log({ level: "warn", msg: "ws connection error", connectionId: conn.id, error: String(error) });
    });
    socket.on("close", (code: number, reason: Buffer) => {
      for (const timer of conn.timers) clearTimeout(timer);
      connections.delete(conn.id);
      const how = conn.closing ?? { code, reason: reason.toString() || closeReason(code) };
      enqueue(conn, () => invokeDisconnect(conn, how));
    });
  }

  function enqueue(conn: Connection, task: () => Promise<void>) {
    conn.queue = track(conn.queue.then(task, task));
  }

  async function onMessage(conn: Connection, bytes: Buffer, isBinary: boolean) {
    const body = isBinary ? bytes.toString("base64") : bytes.toString("utf8");
    const routeKey = isBinary ? "$default" : selectRoute(body);
    const handler = routeKey === "$default" ? opts.handlers.default : opts.handlers[routeKey]!;
    const event: WsEvent = {
      requestContext: { ...context(conn, routeKey, "MESSAGE"), messageId: newId() },
      body,
      isBase64Encoded: isBinary,
    };
    try {
      await handler(event);
    } catch (error) {
      log({
        level: "error",
        msg: "ws route handler threw",
        routeKey,
        connectionId: conn.id,
        error: String(error),
      });
      // API Gateway tells the client when an integration fails.
      if (conn.socket.readyState === conn.socket.OPEN) {
        conn.socket.send(
          JSON.stringify({
            message: "Internal server error",
            connectionId: conn.id,
            requestId: event.requestContext.requestId,
          }),
        );
      }
    }
  }

  /** `$request.body.action`, stringified; non-JSON bodies and unknown actions go to `$default`. */
  function selectRoute(body: string) {
    let action: unknown;
    try {
      action = (JSON.parse(body) as { action?: unknown } | null)?.action;
    } catch {
      return "$default";
    }
    if (action === undefined || action === null) return "$default";
    const key = typeof action === "string" ? action : JSON.stringify(action);
    return !RESERVED_ROUTES.has(key) && Object.hasOwn(opts.handlers, key) ? key : "$default";
  }

  async function invokeDisconnect(conn: WsPeer, how: { code: number; reason: string }) {
    const event: WsEvent = {
      headers: { Host: domainName, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": "" },
      multiValueHeaders: {
        Host: [domainName],
        "x-api-key": [""],
        "X-Forwarded-For": [""],
        "x-restapi": [""],
      },
      requestContext: {
        ...context(conn, "$disconnect", "DISCONNECT"),
        disconnectStatusCode: how.code,
        disconnectReason: how.reason,
      },
      isBase64Encoded: false,
    };
    log({ level: "debug", msg: "ws disconnected", connectionId: conn.id, code: how.code });
    try {
      await opts.handlers.disconnect(event);
    } catch (error) {
      log({ level: "error", msg: "$disconnect handler threw", connectionId: conn.id, error: String(error) });
    }
  }

  /** Closes from this side; the close handshake's end runs `$disconnect`. */
  function close(conn: Connection, code: number, reason: string) {
    if (conn.closing) return;
    conn.closing = { code, reason };
    conn.socket.close(code, reason);
    // A client that never answers the close frame is cut off, as API Gateway would.
    const cut = setTimeout(() => conn.socket.terminate(), 1_000);
    cut.unref();
    conn.timers.push(cut);
  }

  /** The live connection, or undefined when it is gone or closing (410 for the management API). */
  function live(id: string) {
    const conn = connections.get(id);
    return conn && !conn.closing && conn.socket.readyState === conn.socket.OPEN ? conn : undefined;
  }

  const management = connectionsApi({ stage, live, close, throttle: opts.throttle });
  const server = createServer((req, res) => {
    management(req, res).catch((error) => {
      log({ level: "error", msg: "ws management API failed", error: String(error) });
      if (!res.headersSent) {
        res.writeHead(500, {
          "content-type": "application/json",
          "x-amzn-errortype": "InternalServerErrorException",
        });
      }
      res.end();
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(
      onUpgrade(req, socket, head).catch((error) => {
        log({ level: "error", msg: "ws upgrade failed", error: String(error) });
        socket.destroy();
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });

  return {
    /** Where clients connect, e.g. `${url}?token=...`. */
    url: `ws://${domainName}/${stage}`,
    /** The endpoint to give `ApiGatewayManagementApiClient`. */
    managementEndpoint: `http://${domainName}/${stage}`,
    /** Ids of the open connections. */
    connections: () => [...connections.keys()],
    /** Closes every connection (running `$disconnect` for each) and the port. */
    async stop() {
      stopping = true;
      for (const conn of connections.values()) close(conn, 1001, "Going away");
      // Clients get a moment to answer the close frame; the rest are cut off. Either way each
      // socket's close event queues its $disconnect, which is awaited below.
      const deadline = Date.now() + 2_000;
      while (connections.size > 0) {
        if (Date.now() > deadline) for (const conn of connections.values()) conn.socket.terminate();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      while (pending.size > 0) await Promise.allSettled([...pending]);
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export type WsGateway = Awaited<ReturnType<typeof startWsGateway>>;

/** Refuses an upgrade with a plain HTTP answer, as API Gateway does when `$connect` says no. */
function refuse(socket: Duplex, status: number, body: string) {
  if (socket.destroyed) return;
  const bytes = Buffer.from(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${bytes.length}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}
