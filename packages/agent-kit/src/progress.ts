import type { Core } from "@conveyor/core/core";
import { VisibleError } from "@conveyor/core/error";
import { type EventData, type EventType, TaskEvent } from "@conveyor/core/event";
import { taskLogger } from "@conveyor/core/log";
import { Task } from "@conveyor/core/task";
import { newId } from "@conveyor/core/util/ulid";

/**
 * Stops hammering a failing table: after `threshold` transient failures in a row
 * it opens for `cooldownMs` and writes are dropped (counted) until then.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  dropped = 0;

  constructor(
    private readonly threshold = 5,
    private readonly cooldownMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  get open() {
    return this.now() < this.openUntil;
  }
  success() {
    this.failures = 0;
  }
  failure() {
    if (++this.failures >= this.threshold) {
      this.openUntil = this.now() + this.cooldownMs;
      this.failures = 0;
    }
  }
}

// One breaker per task for the whole process, shared by every writer of that task.
const breakers = new Map<string, CircuitBreaker>();
export const breakerFor = (taskId: string) => {
  let breaker = breakers.get(taskId);
  if (!breaker) {
    breaker = new CircuitBreaker();
    breakers.set(taskId, breaker);
  }
  return breaker;
};
export const releaseBreaker = (taskId: string) => breakers.delete(taskId);

/** An error that writing again will not fix: invalid data, an oversized item, missing permissions. */
export function isPermanent(error: unknown): boolean {
  if (error instanceof VisibleError) return true;
  // ElectroDB wraps the SDK's error: classify the original.
  const cause = (error as { cause?: unknown })?.cause;
  if (cause && cause !== error) return isPermanent(cause);
  const name = (error as Error)?.name ?? "";
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (
    ["ValidationException", "AccessDeniedException", "ResourceNotFoundException", "ValiError"].includes(name)
  ) {
    return true;
  }
  return (
    status !== undefined &&
    status >= 400 &&
    status < 500 &&
    !/Throttl|ProvisionedThroughput|RequestLimit|TransactionConflict/.test(name)
  );
}

export type Progress = ReturnType<typeof createProgress>;

/**
 * `ctx.progress`: the agent's event writers. They fail open: a failed write is
 * logged and the run goes on. Permanent errors drop that one event; transient
 * ones count toward the task's circuit breaker.
 */
export function createProgress(core: Core, taskId: string) {
  const log = taskLogger(taskId);
  const breaker = breakerFor(taskId);
  let turns = 0;

  async function write<T extends EventType>(type: T, data: EventData<T>): Promise<boolean> {
    if (breaker.open) {
      breaker.dropped++;
      return false;
    }
    try {
      await TaskEvent.append(core, taskId, type, data);
      breaker.success();
      return true;
    } catch (error) {
      if (isPermanent(error)) {
        log.warn("event dropped (permanent error)", { type, error: String(error) });
      } else {
        breaker.failure();
        log.warn("event write failed", { type, error: String(error), open: breaker.open });
      }
      return false;
    }
  }

  async function counters(update: { turns?: number; costUsd?: number }) {
    try {
      await Task.recordProgress(core, taskId, update);
    } catch (error) {
      log.warn("progress counters not updated", { error: String(error) });
    }
  }

  return {
    get turns() {
      return turns;
    },
    breaker,
    async turn(turn: number, text: string) {
      turns = turn;
      await Promise.all([write("agent.turn", { turn, text }), counters({ turns: turn })]);
    },
    /** Records a tool call and returns its id for the matching result. */
    async toolCall(name: string, input: unknown): Promise<string> {
      const toolCallId = `call_${newId()}`;
      await write("agent.tool_call", { toolCallId, name, input });
      return toolCallId;
    },
    async toolResult(toolCallId: string, output: string, isError = false) {
      await write("agent.tool_result", { toolCallId, isError, output });
    },
    async milestone(name: string, detail?: string, url?: string) {
      await write("agent.milestone", { name, detail, url });
    },
    async cost(costUsd: number, inputTokens: number, outputTokens: number) {
      await Promise.all([write("agent.cost", { costUsd, inputTokens, outputTokens }), counters({ costUsd })]);
    },
    async error(message: string, fatal: boolean) {
      await write("agent.error", { message, fatal });
    },
  };
}
