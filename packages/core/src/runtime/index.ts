import {
  BedrockAgentCoreClient,
  InvokeAgentRuntimeCommand,
  StopRuntimeSessionCommand,
} from "@aws-sdk/client-bedrock-agentcore";
import type { Config } from "../config.ts";
import { UNSET_RUNTIME_ARN } from "./arn.ts";
import { type AgentRuntime, RuntimeError } from "./port.ts";

export { type AgentRuntime, RuntimeError, type RuntimePayload, sessionIdFor } from "./port.ts";
export { UNSET_RUNTIME_ARN };

/** 4xx other than 409/429 is permanent; 409, 429, 5xx and network errors are transient. */
export function classify(error: unknown): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const name = (error as Error)?.name ?? "Error";
  const message = `${name}: ${(error as Error)?.message ?? String(error)}`;
  const permanent = status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429;
  return new RuntimeError(message, permanent, status);
}

/**
 * How a runtime call is retried within one invocation of its caller: throttles (AgentCore
 * takes about 25 invocations a second per endpoint), 5xx and calls that fail while a new
 * session's microVM boots (a few seconds), with exponential backoff and jitter. The whole
 * call, attempts and waits, stays within `budgetMs`, well under the dispatcher's 30 s
 * timeout, so a slow boot is retried here rather than spending one of the SQS message's
 * five receives, and the dispatcher still has time to record the outcome.
 */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  budgetMs: number;
}

export const RUNTIME_RETRY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 2_000,
  budgetMs: 12_000,
};

/**
 * Runs `call` until it succeeds, fails permanently, runs out of attempts, or would outlast
 * the budget. Each attempt gets a signal that aborts it at the budget's end.
 */
export async function withRetries<T>(
  call: (signal: AbortSignal) => Promise<T>,
  policy: RetryPolicy = RUNTIME_RETRY,
): Promise<T> {
  const deadline = Date.now() + policy.budgetMs;
  for (let attempt = 1; ; attempt++) {
    const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
    let failure: RuntimeError;
    try {
      return await call(signal);
    } catch (error) {
      failure = signal.aborted
        ? new RuntimeError(`No answer within the ${policy.budgetMs} ms retry budget`, false)
        : classify(error);
    }
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    const wait = ceiling / 2 + Math.random() * (ceiling / 2);
    if (failure.permanent || attempt >= policy.attempts || Date.now() + wait >= deadline) throw failure;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

export function agentCoreRuntime(config: Config, retry: RetryPolicy = RUNTIME_RETRY): AgentRuntime {
  const client = new BedrockAgentCoreClient({
    region: config.region,
    endpoint: config.endpoints.agentcore,
    credentials: config.credentials,
    // Retries are withRetries' (bounded in time); the queue redelivers what still fails.
    maxAttempts: 1,
  });
  const unset = config.runtimeArn === UNSET_RUNTIME_ARN;
  return {
    async invoke(sessionId, payload) {
      if (unset) {
        throw new RuntimeError(
          "No agent runtime is set for this stage: `sst secret set AgentRuntime <runtime ARN>`, or deploy with CONVEYOR_AGENT_IMAGE",
          true,
        );
      }
      await withRetries(async (abortSignal) => {
        const response = await client.send(
          new InvokeAgentRuntimeCommand({
            agentRuntimeArn: config.runtimeArn,
            runtimeSessionId: sessionId,
            contentType: "application/json",
            accept: "application/json",
            payload: new TextEncoder().encode(JSON.stringify(payload)),
          }),
          { abortSignal },
        );
        // Drain the body so the connection is released.
        await response.response?.transformToString();
      }, retry);
    },
    async stop(sessionId) {
      // No runtime, no session to stop.
      if (unset) return;
      try {
        await withRetries(
          (abortSignal) =>
            client.send(
              new StopRuntimeSessionCommand({
                agentRuntimeArn: config.runtimeArn,
                runtimeSessionId: sessionId,
              }),
              { abortSignal },
            ),
          retry,
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
