/**
 * The parts of API Gateway's WebSocket Lambda event these handlers read. (`aws-lambda`'s
 * `APIGatewayProxyWebsocketEventV2` leaves out `queryStringParameters`, which `$connect` gets.)
 */
export interface WebSocketEvent {
  requestContext: { connectionId: string; routeKey: string; eventType: "CONNECT" | "MESSAGE" | "DISCONNECT" };
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}
