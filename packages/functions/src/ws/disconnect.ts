import { Realtime } from "@conveyor/core/realtime";
import type { APIGatewayProxyResultV2 } from "aws-lambda";
import { useCore } from "../config.ts";
import type { WebSocketEvent } from "./event.ts";

/** `$disconnect`: the connection and its subscriptions go (the TTL sweeps any this misses). */
export const handler = async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
  await Realtime.disconnect(useCore(), event.requestContext.connectionId);
  return { statusCode: 200 };
};
