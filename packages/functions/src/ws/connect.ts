import { VisibleError, WIRE } from "@conveyor/core/error";
import { logger } from "@conveyor/core/log";
import { Connections } from "@conveyor/core/realtime/connections";
import type { APIGatewayProxyResultV2 } from "aws-lambda";
import { useCore } from "../config.ts";
import type { WebSocketEvent } from "./event.ts";

/** `$connect`: a bad or missing `?token=` refuses the upgrade with 401 (no socket is opened). */
export const handler = async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
  const { connectionId } = event.requestContext;
  try {
    await Connections.connect(useCore(), connectionId, event.queryStringParameters?.token);
    return { statusCode: 200 };
  } catch (error) {
    // Refused as HTTP answers the same error would be (a bad token is 401).
    if (error instanceof VisibleError) {
      const { status, code } = WIRE[error.kind];
      return { statusCode: status, body: `${code}: ${error.message}` };
    }
    // Never log the token: the query string is left out on purpose.
    logger.error("connect failed", { connectionId, error: String(error) });
    return { statusCode: 500 };
  }
};
