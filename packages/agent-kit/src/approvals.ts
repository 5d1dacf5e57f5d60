import { Approval, asks } from "@conveyor/core/approval";
import type { Core } from "@conveyor/core/core";
import { ConflictError } from "@conveyor/core/error";
import type { Log } from "@conveyor/core/log";
import type { Task } from "@conveyor/core/task";
import { AgentCancelled } from "./run.ts";

/** What a brain asks before a risky step: the rule id (`action`) and the exact command or tool + target. */
export interface ApprovalRequest {
  action: string;
  detail: string;
  /** Seconds to wait for a person; default the task's `approvals.timeoutS` (300). */
  timeoutS?: number;
}

/** `ctx.approvals`: ask and wait for the answer. */
export interface Approvals {
  request(input: ApprovalRequest): Promise<Approval.Decision>;
}

/**
 * Wakes a waiting gate when the control plane pushes `{kind: "approval"}`. It counts rings, so a
 * push that lands between reading the approval and starting to wait is not lost.
 */
export class Bell {
  private rung = 0;
  private waiters = new Set<() => void>();
  get count() {
    return this.rung;
  }
  ring() {
    this.rung++;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }
  /** Resolves on a ring after `mark`, after `ms`, or on abort, whichever is first. */
  wait(mark: number, ms: number, signal: AbortSignal): Promise<void> {
    if (this.rung !== mark || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal.addEventListener("abort", done, { once: true });
      this.waiters.add(done);
    });
  }
}

/**
 * The gates of one task. A gate the task's settings let through (mode `auto`, a rule in `allow`)
 * is recorded as approved `by: "policy"` and never pauses. Otherwise the task waits in
 * AWAITING_APPROVAL until a decision: woken by the push, and re-reading the approval every
 * heartbeat period so a lost push costs at most that. At the deadline the agent itself denies it
 * (`by: "timeout"`). A cancel while waiting rejects with AgentCancelled.
 */
export function createApprovals(
  core: Core,
  task: Task.Info,
  signal: AbortSignal,
  bell: Bell,
  log: Log,
): Approvals {
  return {
    async request(input) {
      if (signal.aborted) throw new AgentCancelled();
      if (!asks(task.approvals, input.action)) {
        await Approval.record(core, task.taskId, input);
        return { decision: "approve", by: "policy" };
      }
      let asked: Approval.Info;
      try {
        asked = await Approval.request(core, task.taskId, input);
      } catch (error) {
        // Cancelled before the question went out: stop, as at any boundary.
        const reason = error instanceof ConflictError ? error.details?.reason : undefined;
        if (signal.aborted || reason === "task.cancel_requested") throw new AgentCancelled();
        throw error;
      }
      log.info("waiting for approval", { approvalId: asked.approvalId, action: input.action });
      for (;;) {
        const mark = bell.count;
        const current = await Approval.get(core, task.taskId, asked.approvalId);
        if (!current) throw new Error(`approval ${asked.approvalId} vanished`);
        if (current.status !== "pending" && current.decision && current.by) {
          return {
            decision: current.decision,
            by: current.by,
            ...(current.comment ? { comment: current.comment } : {}),
          };
        }
        if (signal.aborted) throw new AgentCancelled();
        const left = current.deadline - core.now();
        if (left <= 0) {
          await Approval.lapse(core, current);
          continue;
        }
        await bell.wait(mark, Math.min(core.config.limits.heartbeatMs, left), signal);
      }
    },
  };
}
