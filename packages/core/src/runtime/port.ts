/**
 * The agent runtime port, apart from its AgentCore adapter (index.ts) so the domain can name
 * sessions and runtime errors without loading the AgentCore client.
 */

/** What the control plane sends to an agent session. */
export type RuntimePayload = {
  kind: "start" | "nudge" | "cancel" | "approval";
  taskId: string;
  [key: string]: unknown;
};

/** The agent runtime port: AgentCore in AWS, the emulator locally (same client, other endpoint). */
export interface AgentRuntime {
  invoke(sessionId: string, payload: RuntimePayload): Promise<void>;
  stop(sessionId: string): Promise<void>;
}

/** A runtime call that failed. `permanent` ones will fail again however often they are retried. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "RuntimeError";
  }
}

/** Deterministic per task, so a redelivered dispatch reaches the same session. AgentCore needs >= 33 chars. */
export const sessionIdFor = (taskId: string) => `conveyor-task-${taskId}`;
