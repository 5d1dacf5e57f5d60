import { Connections } from "@conveyor/core/realtime/connections";
import type { APIGatewayProxyResultV2 } from "aws-lambda";
import { useCore } from "../config.ts";
import type { WebSocketEvent } from "./event.ts";

/** `$disconnect`: the connection and its subscriptions go (the TTL sweeps any this misses). */
export const handler = async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
  await Connections.disconnect(useCore(), event.requestContext.connectionId);
  return { statusCode: 200 };
};
