import { Realtime } from "@conveyor/core/realtime";
import type { APIGatewayProxyResultV2 } from "aws-lambda";
import { useCore } from "../config.ts";
import type { WebSocketEvent } from "./event.ts";

/** `$default`: every client message (subscribe, unsubscribe, ping); answers go out as frames. */
export const handler = async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
  const body =
    event.isBase64Encoded && event.body ? Buffer.from(event.body, "base64").toString() : event.body;
  await Realtime.handle(useCore(), event.requestContext.connectionId, body ?? undefined);
  return { statusCode: 200 };
};
