import {
  BedrockAgentCoreClient,
  InvokeAgentRuntimeCommand,
  StopRuntimeSessionCommand,
} from "@aws-sdk/client-bedrock-agentcore";
import type { Config } from "../config.ts";
import { type AgentRuntime, RuntimeError } from "./port.ts";

export { type AgentRuntime, RuntimeError, type RuntimePayload, sessionIdFor } from "./port.ts";

/** 4xx other than 409/429 is permanent; 409, 429, 5xx and network errors are transient. */
export function classify(error: unknown): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const name = (error as Error)?.name ?? "Error";
  const message = `${name}: ${(error as Error)?.message ?? String(error)}`;
  const permanent = status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429;
  return new RuntimeError(message, permanent, status);
}

export function agentCoreRuntime(config: Config): AgentRuntime {
  const client = new BedrockAgentCoreClient({
    region: config.region,
    endpoint: config.endpoints.agentcore,
    credentials: config.credentials,
    // Retries are the queue's job: it redelivers with visibility backoff.
    maxAttempts: 1,
  });
  return {
    async invoke(sessionId, payload) {
      try {
        const response = await client.send(
          new InvokeAgentRuntimeCommand({
            agentRuntimeArn: config.runtimeArn,
            runtimeSessionId: sessionId,
            contentType: "application/json",
            accept: "application/json",
            payload: new TextEncoder().encode(JSON.stringify(payload)),
          }),
        );
        // Drain the body so the connection is released.
        await response.response?.transformToString();
      } catch (error) {
        throw classify(error);
      }
    },
    async stop(sessionId) {
      try {
        await client.send(
          new StopRuntimeSessionCommand({ agentRuntimeArn: config.runtimeArn, runtimeSessionId: sessionId }),
        );
      } catch (error) {
        const classified = classify(error);
        // A session that is already gone is stopped.
        if (classified.status === 404) return;
        throw classified;
      }
    },
  };
}
