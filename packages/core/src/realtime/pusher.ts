import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import type { Config } from "../config.ts";

/** What happened to one frame. `dropped`: the client's buffer stayed full; it resumes with `after`. */
export type PushResult = "sent" | "gone" | "dropped";

/** The realtime port: API Gateway's @connections API in AWS and in the local gateway emulator. */
export interface RealtimePusher {
  post(connectionId: string, data: string): Promise<PushResult>;
  disconnect(connectionId: string): Promise<void>;
}

const status = (error: unknown) =>
  (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const isGone = (error: unknown) => (error as Error)?.name === "GoneException" || status(error) === 410;

export function apiGatewayPusher(
  config: Config,
  opts: { throttleRetries?: number; throttleDelayMs?: number } = {},
): RealtimePusher {
  let client: ApiGatewayManagementApiClient | undefined;
  const use = () => {
    if (!config.endpoints.realtime) throw new Error("No realtime management endpoint configured");
    client ??= new ApiGatewayManagementApiClient({
      region: config.region,
      endpoint: config.endpoints.realtime,
      credentials: config.credentials,
      // 429s are retried here, briefly and on purpose; other errors fail the record.
      maxAttempts: 1,
    });
    return client;
  };
  const retries = opts.throttleRetries ?? 2;
  const delay = opts.throttleDelayMs ?? 50;
  return {
    async post(connectionId, data) {
      for (let attempt = 0; ; attempt++) {
        try {
          await use().send(
            new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(data) }),
          );
          return "sent";
        } catch (error) {
          if (isGone(error)) return "gone";
          // 429: the client is not reading fast enough. Retry briefly, then drop this frame.
          if (status(error) === 429 || (error as Error)?.name === "LimitExceededException") {
            if (attempt >= retries) return "dropped";
            await new Promise((resolve) => setTimeout(resolve, delay * 2 ** attempt));
            continue;
          }
          throw error;
        }
      }
    },
    async disconnect(connectionId) {
      try {
        await use().send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    },
  };
}
