import type { Core } from "@conveyor/core/core";
import { ConflictError } from "@conveyor/core/error";
import { type Log, taskLogger } from "@conveyor/core/log";
import { Nudge } from "@conveyor/core/nudge";
import { Task } from "@conveyor/core/task";
import { type Approvals, Bell, createApprovals } from "./approvals.ts";
import { Interrupts } from "./interrupts.ts";
import { createProgress, type Progress, releaseBreaker } from "./progress.ts";

/** What a brain gets for one task. */
export interface AgentContext {
  task: Task.Info;
  progress: Progress;
  /** Aborted when the task is cancelled: stop at the next boundary (throw `AgentCancelled`). */
  signal: AbortSignal;
  /** The nudge inbox: call at a turn boundary; each pending nudge is taken exactly once. */
  nudges: { take(): Promise<Nudge.Info[]> };
  /**
   * Human approval gates: `await ctx.approvals.request({ action, detail })` resolves with the
   * decision (`deny` at the deadline); rejects with AgentCancelled if the task is cancelled meanwhile.
   */
  approvals: Approvals;
  /** Rung when an interrupt-mode nudge arrives: cut the current step short and take the inbox. */
  interrupts: Interrupts;
  /** This task's logger: every line carries its taskId. */
  log: Log;
}

export interface AgentResult {
  summary: string;
  prUrl?: string;
}

/** A brain's run, from the task to its result. Throw `AgentFailure` to fail with a reason. */
export type Brain = (ctx: AgentContext) => Promise<AgentResult>;

export type FailureReason =
  | "agent_error"
  | "max_turns"
  | "max_budget"
  /** The model kept refusing (rate limits, overload) after bounded retries. */
  | "model_unavailable"
  /** The task's repository could not be cloned. */
  | "repo_unavailable";

export class AgentFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
    this.name = "AgentFailure";
  }
}

/** Thrown by a brain that stops because its task was cancelled. */
export class AgentCancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "AgentCancelled";
  }
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Backoff cap for the terminal write; it is retried until recorded. */
  maxTerminalWaitMs?: number;
  /** Rung when the control plane pushes an approval decision (the agent server's `{kind: "approval"}`). */
  bell?: Bell;
  /** Rung when the control plane pushes an interrupt-mode nudge. */
  interrupts?: Interrupts;
}

/**
 * Runs one task: wins STARTING -> RUNNING (the single guard against a second run),
 * heartbeats while the brain works, then records the terminal status, retrying until it sticks.
 * Returns false when another instance owns the task.
 */
export async function runTask(
  core: Core,
  taskId: string,
  brain: Brain,
  opts: RunOptions = {},
): Promise<boolean> {
  // A logger per task: one process runs several tasks at once.
  const log = taskLogger(taskId);
  let task: Task.Info;
  try {
    task = await Task.transition(core, taskId, {
      from: ["STARTING"],
      to: "RUNNING",
      reason: "agent_started",
    });
  } catch (error) {
    if (error instanceof ConflictError) {
      log.info("task not ours to run", { reason: error.message });
      return false;
    }
    throw error;
  }

  const controller = new AbortController();
  opts.signal?.addEventListener("abort", () => controller.abort(opts.signal?.reason), { once: true });
  // Heartbeats also bring back a cancel whose push was lost.
  const beat = () =>
    Task.heartbeat(core, taskId)
      .then((state) => {
        if (state !== "running" && !controller.signal.aborted) controller.abort(new Error(state));
      })
      .catch((error) => log.warn("heartbeat failed", { error: String(error) }));
  const heartbeat = setInterval(beat, core.config.limits.heartbeatMs);
  heartbeat.unref();
  await beat();

  const progress = createProgress(core, taskId);
  // Cancellation is checked before each nudge is consumed, against the task itself too.
  const cancelled = async () =>
    controller.signal.aborted || (await Task.get(core, taskId))?.cancelRequestedAt !== undefined;
  const nudges = { take: () => Nudge.take(core, taskId, cancelled) };
  const approvals = createApprovals(core, task, controller.signal, opts.bell ?? new Bell(), log);
  try {
    const interrupts = opts.interrupts ?? new Interrupts();
    const result = await brain({
      task,
      progress,
      signal: controller.signal,
      nudges,
      approvals,
      interrupts,
      log,
    });
    await finish(core, taskId, { to: "COMPLETED", reason: "completed", result }, log, opts.maxTerminalWaitMs);
  } catch (error) {
    if (error instanceof AgentCancelled) {
      await finish(core, taskId, { to: "CANCELLED", reason: "cancelled" }, log, opts.maxTerminalWaitMs);
      return true;
    }
    const failure =
      error instanceof AgentFailure
        ? error
        : new AgentFailure("agent_error", String((error as Error)?.message ?? error));
    if (!(error instanceof AgentFailure)) log.error("brain threw", { error: String(error) });
    await progress.error(failure.message, true);
    await finish(
      core,
      taskId,
      { to: "FAILED", reason: failure.reason, error: { code: failure.reason, message: failure.message } },
      log,
      opts.maxTerminalWaitMs,
    );
  } finally {
    clearInterval(heartbeat);
    releaseBreaker(taskId);
  }
  return true;
}

/** The terminal write is retried until recorded; a task already ended by someone else is left as it is. */
async function finish(core: Core, taskId: string, input: Task.TransitionInput, log: Log, maxWaitMs = 5_000) {
  for (let attempt = 0; ; attempt++) {
    try {
      await Task.transition(core, taskId, { ...input, from: ["RUNNING", "AWAITING_APPROVAL"] });
      return;
    } catch (error) {
      if (error instanceof ConflictError) {
        log.info("task already ended elsewhere", { reason: error.message });
        return;
      }
      const wait = Math.min(maxWaitMs, 100 * 2 ** attempt);
      log.warn("terminal write failed, retrying", { attempt, waitMs: wait, error: String(error) });
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
