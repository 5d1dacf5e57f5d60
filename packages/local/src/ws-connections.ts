import type { IncomingMessage, ServerResponse } from "node:http";
import type { WebSocket } from "ws";
import { MESSAGE_LIMIT, type WsPeer } from "./ws-event.ts";

/** An open connection of the gateway. */
export interface Connection extends WsPeer {
  socket: WebSocket;
  lastActiveAt: number;
  /** Handler invocations of this connection run one at a time, in arrival order. */
  queue: Promise<void>;
  /** Set when this side decides to close: what the DISCONNECT event reports. */
  closing?: { code: number; reason: string };
  timers: NodeJS.Timeout[];
}

export interface ConnectionsApiOptions {
  stage: string;
  /** The live connection, or undefined when it is gone or closing (410). */
  live: (connectionId: string) => Connection | undefined;
  /** Closes from the gateway's side (DELETE). */
  close: (conn: Connection, code: number, reason: string) => void;
  /** Answer PostToConnection 429 for this connection, as a full client buffer does. */
  throttle?: (connectionId: string) => boolean;
}

/**
 * API Gateway's `@connections` management API, as `@aws-sdk/client-apigatewaymanagementapi`
 * calls it: `POST /{stage}/@connections/{id}` sends (PostToConnection), `GET` describes,
 * `DELETE` closes; a connection that is gone answers 410 GoneException.
 */
export function connectionsApi(opts: ConnectionsApiOptions) {
  const { stage } = opts;
  return async (req: IncomingMessage, res: ServerResponse) => {
    const fail = (status: number, type: string, message: string) => {
      res.writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type });
      res.end(JSON.stringify({ message }));
    };
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === `/${stage}` || url.pathname === `/${stage}/`) {
      res.writeHead(426, { "content-type": "application/json", upgrade: "websocket" });
      return res.end(JSON.stringify({ message: "Upgrade Required" }));
    }
    const match = /^\/([^/]+)\/(?:@|%40)connections\/([^/]+)$/.exec(url.pathname);
    if (!match || decodeURIComponent(match[1]!) !== stage)
      return fail(403, "ForbiddenException", "Forbidden");
    // The real endpoint wants SigV4; the SDK always signs, so a bare request here is a caller bug.
    if (!req.headers.authorization?.startsWith("AWS4-HMAC-SHA256")) {
      return fail(403, "ForbiddenException", "Missing Authentication Token");
    }
    const id = decodeURIComponent(match[2]!);
    const body = await readBody(req);
    const gone = () => fail(410, "GoneException", `Connection ${id} is gone`);

    if (req.method === "POST") {
      if (body.length > MESSAGE_LIMIT) {
        return fail(413, "PayloadTooLargeException", `Data is over ${MESSAGE_LIMIT} bytes`);
      }
      const conn = opts.live(id);
      if (!conn) return gone();
      if (opts.throttle?.(id)) return fail(429, "LimitExceededException", "Too many requests");
      await new Promise<void>((resolve) => conn.socket.send(body, { binary: false }, () => resolve()));
      res.writeHead(200, { "content-type": "application/json" });
      return res.end();
    }
    if (req.method === "GET") {
      const conn = opts.live(id);
      if (!conn) return gone();
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(
        JSON.stringify({
          connectedAt: new Date(conn.connectedAt).toISOString(),
          identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent ?? "" },
          lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
        }),
      );
    }
    if (req.method === "DELETE") {
      const conn = opts.live(id);
      if (!conn) return gone();
      opts.close(conn, 1000, "");
      res.writeHead(204);
      return res.end();
    }
    return fail(403, "ForbiddenException", "Forbidden");
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
