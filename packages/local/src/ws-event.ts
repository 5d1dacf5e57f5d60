import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** API Gateway's WebSocket message payload limit, for client messages and PostToConnection alike. */
export const MESSAGE_LIMIT = 128 * 1024;

export interface WsRequestContext {
  routeKey: string;
  eventType: "CONNECT" | "MESSAGE" | "DISCONNECT";
  connectionId: string;
  connectedAt: number;
  requestTime: string;
  requestTimeEpoch: number;
  requestId: string;
  extendedRequestId: string;
  messageDirection: "IN";
  domainName: string;
  stage: string;
  apiId: string;
  identity: { sourceIp: string; userAgent?: string };
  /** MESSAGE events only. */
  messageId?: string;
  /** DISCONNECT events only. */
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

/** What API Gateway hands a WebSocket route's Lambda (proxy integration). */
export interface WsEvent {
  requestContext: WsRequestContext;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  /** CONNECT only; null when the URL has none. */
  queryStringParameters?: Record<string, string> | null;
  multiValueQueryStringParameters?: Record<string, string[]> | null;
  body?: string;
  isBase64Encoded: boolean;
}

export type WsHandler = (event: WsEvent) => Promise<unknown>;

/** Who a connection is, as every event of it reports. */
export interface WsPeer {
  id: string;
  connectedAt: number;
  sourceIp: string;
  userAgent?: string;
}

/** The `requestContext` API Gateway builds for one event of a connection. */
export function wsContext(
  conn: WsPeer,
  routeKey: string,
  eventType: WsRequestContext["eventType"],
  api: { stage: string; domainName: string },
): WsRequestContext {
  const now = Date.now();
  const requestId = newId();
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: clfTime(now),
    messageDirection: "IN",
    stage: api.stage,
    connectedAt: conn.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: conn.sourceIp, ...(conn.userAgent ? { userAgent: conn.userAgent } : {}) },
    requestId,
    domainName: api.domainName,
    connectionId: conn.id,
    apiId: "local",
  };
}

/** API Gateway's ids look like `K0R3ZcFHIAMCJRA=`: 15 URL-safe characters and a pad. */
export function newId() {
  return `${randomBytes(11).toString("base64url")}=`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `requestTime` in API Gateway's format: 09/Apr/2020:18:03:43 +0000. */
function clfTime(ms: number) {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** The handshake's headers as sent (case kept), plus what API Gateway's edge adds. */
export function headersOf(req: IncomingMessage, sourceIp: string, port: number) {
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), req.rawHeaders[i + 1]!];
  }
  multiValueHeaders["X-Forwarded-For"] ??= [sourceIp];
  multiValueHeaders["X-Forwarded-Port"] ??= [String(port)];
  multiValueHeaders["X-Forwarded-Proto"] ??= ["http"];
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([k, v]) => [k, v.join(",")]));
  return { headers, multiValueHeaders };
}

/** The reason API Gateway reports when the client's close frame gave none. */
export function closeReason(code: number) {
  if (code === 1005) return "Client-side close frame status not set";
  if (code === 1006) return "Connection was closed abnormally";
  return "";
}
