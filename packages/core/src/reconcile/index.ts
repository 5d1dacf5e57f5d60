import { Actor } from "../actor.ts";
import { Approval } from "../approval/index.ts";
import type { Core } from "../core.ts";
import { ConflictError } from "../error.ts";
import { logger } from "../log.ts";
import { Nudge } from "../nudge/index.ts";
import { Task } from "../task/index.ts";

/** What one run found and did, by check. */
export interface ReconcileReport {
  checked: Record<string, number>;
  fixed: Record<string, number>;
  failed: Record<string, number>;
  ms: number;
}

/** A check that plugs in from elsewhere (the GitHub comment re-render). */
export type ReconcileHook = (core: Core) => Promise<{ checked: number; fixed: number; failed: number }>;

/**
 * Self-healing (DESIGN §5.7), run by a cron. Reads only live tasks, by status index and
 * page by page, so its cost follows the number of unfinished tasks, never the table size.
 * Every fix is a conditional transition or an idempotent use-case: a second run right
 * after, or two at once, changes nothing more.
 */
export namespace Reconciler {
  export async function run(core: Core, hooks: Record<string, ReconcileHook> = {}): Promise<ReconcileReport> {
    const started = core.now();
    const report: ReconcileReport = { checked: {}, fixed: {}, failed: {}, ms: 0 };
    const count = (kind: keyof Omit<ReconcileReport, "ms">, check: string, n = 1) => {
      report[kind][check] = (report[kind][check] ?? 0) + n;
    };
    /** Runs one fix; a lost race (someone else fixed it) is not a failure. */
    const attempt = async (check: string, fix: () => Promise<unknown>) => {
      try {
        const changed = await fix();
        if (changed !== false) count("fixed", check);
      } catch (error) {
        if (error instanceof ConflictError) return;
        count("failed", check);
        logger.warn("reconcile fix failed", { check, error: String(error) });
      }
    };

    await Actor.provide({ type: "system", name: "reconciler" }, async () => {
      const now = core.now();
      const limits = core.config.limits;
      // Per user, the slots their live tasks hold as this run read them: a cheap first look at drift.
      const users = new Map<string, { tenantId: string; userId: string; active: number; queued: number }>();
      const note = (task: Task.Info) => {
        const key = `${task.tenantId}/${task.userId}`;
        const user = users.get(key) ?? { tenantId: task.tenantId, userId: task.userId, active: 0, queued: 0 };
        if (task.status === "QUEUED") user.queued++;
        else if (Task.holdsSlot(task.status)) user.active++;
        users.set(key, user);
      };

      for await (const task of Task.byStatus(core, "QUEUED")) {
        count("checked", "queued");
        note(task);
        if (now - task.createdAt > limits.queueExpiryMs) {
          await attempt("queue_expired", () =>
            Task.transition(core, task.taskId, {
              from: ["QUEUED"],
              to: "FAILED",
              reason: "queue_expired",
              error: { code: "queue_expired", message: "Waited in the queue longer than allowed" },
            }),
          );
        }
      }

      for (const status of ["SUBMITTED", "STARTING"] as const) {
        for await (const task of Task.byStatus(core, status)) {
          count("checked", "stranded");
          note(task);
          const age = now - task.updatedAt;
          if (age > limits.strandedFailMs) {
            await attempt("stranded_failed", async () => {
              await Task.transition(core, task.taskId, {
                from: [status],
                to: "FAILED",
                reason: "dispatch_failed",
                error: {
                  code: "dispatch_failed",
                  message: `No agent started within ${Math.round(age / 1000)} s`,
                },
              });
              if (status === "STARTING") await Task.stopSession(core, task);
            });
          } else if (age > limits.strandedRetryMs) {
            // The dispatcher claims SUBMITTED and re-invokes STARTING: sending again is harmless.
            await attempt("stranded_requeued", () => core.queue.send(task.taskId));
          }
        }
      }

      for (const status of ["RUNNING", "AWAITING_APPROVAL"] as const) {
        for await (const task of Task.byStatus(core, status)) {
          count("checked", "running");
          note(task);
          if (task.cancelRequestedAt && now - task.cancelRequestedAt > limits.cancelGraceMs) {
            await attempt("cancel_forced", async () => {
              await Task.stopSession(core, task);
              await Task.transition(core, task.taskId, {
                from: [status],
                to: "CANCELLED",
                reason: "cancel_forced",
              });
            });
            continue;
          }
          const lastSign = task.heartbeatAt ?? task.updatedAt;
          if (now - lastSign > limits.heartbeatTimeoutMs) {
            await attempt("heartbeat_lost", () =>
              Task.transition(core, task.taskId, {
                from: [status],
                to: "FAILED",
                reason: "heartbeat_lost",
                error: {
                  code: "heartbeat_lost",
                  message: `No heartbeat for ${Math.round((now - lastSign) / 1000)} s`,
                },
              }),
            );
          }
        }
      }

      // Nudges left pending on tasks that have ended.
      for await (const page of Nudge.allPending(core)) {
        for (const taskId of new Set(page.map((n) => n.taskId))) {
          count("checked", "nudges");
          const task = await Task.get(core, taskId);
          if (!task || Task.isTerminal(task.status)) {
            await attempt("nudges_expired", async () => (await Nudge.expireAll(core, taskId)) > 0);
          }
        }
      }

      // Approvals past their deadline (their agent gone or slow) are denied `by: "timeout"`; those
      // of ended tasks are settled. A task waiting on one is not stale: its agent heartbeats meanwhile.
      for await (const page of Approval.allPending(core)) {
        for (const approval of page) {
          count("checked", "approvals");
          const task = await Task.get(core, approval.taskId);
          if (!task || Task.isTerminal(task.status)) {
            await attempt(
              "approvals_settled",
              async () => (await Approval.settleAll(core, approval.taskId)) > 0,
            );
          } else if (now >= approval.deadline) {
            await attempt(
              "approvals_expired",
              async () => (await Approval.expire(core, approval)) !== undefined,
            );
          }
        }
      }

      // Users holding slots with no live task seen (a leaked slot) are checked too.
      for await (const quota of Task.quotas(core)) {
        const key = `${quota.tenantId}/${quota.userId}`;
        if (!users.has(key) && (quota.active > 0 || quota.queued > 0)) {
          users.set(key, { tenantId: quota.tenantId, userId: quota.userId, active: 0, queued: 0 });
        }
      }

      // Quotas of every user seen above: promote behind free slots, repair drift.
      for (const { tenantId, userId, active, queued } of users.values()) {
        count("checked", "quota");
        await attempt("quota_repaired", () => Task.repairQuota(core, tenantId, userId, { active, queued }));
        await attempt("promoted", async () => (await Task.promoteNext(core, tenantId, userId)).length > 0);
      }

      for (const [name, hook] of Object.entries(hooks)) {
        try {
          const result = await hook(core);
          count("checked", name, result.checked);
          count("fixed", name, result.fixed);
          count("failed", name, result.failed);
        } catch (error) {
          count("failed", name);
          logger.warn("reconcile hook failed", { hook: name, error: String(error) });
        }
      }
    });

    report.ms = core.now() - started;
    const fixed = sum(report.fixed);
    const failed = sum(report.failed);
    // Everything it tried failed: that is an outage, not a summary. A run that changed nothing
    // is a debug line, so an idle stack stays quiet.
    const level = failed > 0 && fixed === 0 ? "error" : failed > 0 ? "warn" : fixed > 0 ? "info" : "debug";
    logger[level]("reconcile", { ...report });
    return report;
  }
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
