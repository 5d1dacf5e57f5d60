import { createWriteTransaction } from "electrodb";
import { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import { commit, TransactionCanceled } from "../dynamo.ts";
import { ConflictError } from "../error.ts";
import { TaskEvent } from "../event/index.ts";
import { logger } from "../log.ts";
import { entitiesOf, store } from "../store.ts";
import { fromId, get, type Info } from "./info.ts";
import { isTerminalStatus as isTerminal } from "./status.ts";
import { commitTransition, transition } from "./transition.ts";

/**
 * What moves a task beyond one transition (transition.ts): promoting a user's queued tasks,
 * which queries them, and cancelling, which the API alone does.
 */

/**
 * Promotes the user's oldest QUEUED tasks while they have free slots. Idempotent:
 * run after every terminal commit and after a queued submission, and by the reconciler.
 */
export async function promoteNext(core: Core, tenantId: string, userId: string): Promise<string[]> {
  const promoted: string[] = [];
  for (let guard = 0; guard < core.config.limits.activePerUser + 5; guard++) {
    const quota = await store(core).quota.get({ tenantId, userId }).go({ consistent: true });
    if (!quota.data || quota.data.active >= core.config.limits.activePerUser || quota.data.queued <= 0) break;
    const next = await store(core)
      .task.query.byUserStatus({ tenantId, userId, status: "QUEUED" })
      .go({ order: "asc", limit: 1, count: 1 });
    const head = next.data[0];
    if (!head) break;
    const task = await get(core, head.taskId);
    if (task?.status !== "QUEUED") continue; // index lag: look again
    try {
      await commitTransition(core, task, { to: "SUBMITTED", reason: "promoted" });
    } catch (error) {
      if (error instanceof TransactionCanceled) continue; // someone else promoted it, or the slot went
      throw error;
    }
    promoted.push(task.taskId);
  }
  return promoted;
}

/**
 * Cancels the acting user's task (DESIGN §5.6). Not yet running: CANCELLED at once
 * (STARTING also stops the session, an invoke may be in flight). Running: the request
 * is recorded with `cancel.requested` and pushed; the agent stops at its next boundary,
 * the reconciler forces it after the grace period. Repeating is harmless; a finished
 * task is a conflict carrying its status.
 */
export async function cancel(core: Core, taskId: string): Promise<Info> {
  const actor = Actor.use();
  for (let attempt = 0; attempt < 5; attempt++) {
    const task = await fromId(core, taskId);
    if (isTerminal(task.status)) {
      throw new ConflictError("task.terminal", `Task is already ${task.status}`, {
        reason: "task.terminal",
        status: task.status,
      });
    }
    try {
      if (task.status === "QUEUED" || task.status === "SUBMITTED" || task.status === "STARTING") {
        const cancelled = await transition(core, taskId, {
          from: [task.status],
          to: "CANCELLED",
          reason: "cancelled",
        });
        if (task.status === "STARTING") await stopSession(core, task);
        return cancelled;
      }
      if (task.cancelRequestedAt) return task;
      await requestCancel(core, task, actor.type === "user" ? actor.userId : actor.name);
      await core.runtime.invoke(task.runtimeSessionId, { kind: "cancel", taskId }).catch((error) =>
        logger.warn("cancel push failed; the agent's heartbeat will see it", {
          taskId,
          error: String(error),
        }),
      );
      return (await get(core, taskId))!;
    } catch (error) {
      if (error instanceof ConflictError || error instanceof TransactionCanceled) continue; // it moved: look again
      throw error;
    }
  }
  throw new ConflictError("task.busy", "The task keeps changing; retry the cancel");
}

async function requestCancel(core: Core, task: Info, by: string) {
  const now = core.now();
  await commit(
    createWriteTransaction(entitiesOf(core), ({ task: t, event: e }) => [
      t
        .patch({ taskId: task.taskId })
        .set({ cancelRequestedAt: now, updatedAt: now })
        .add({ rev: 1 })
        .where((a, op) => `${op.eq(a.status, task.status)} AND ${op.notExists(a.cancelRequestedAt)}`)
        .commit(),
      e.put(TaskEvent.build(core, task.taskId, "cancel.requested", { by })).commit(),
    ]),
  );
}

/** StopRuntimeSession, best effort: the session may already be gone. */
export async function stopSession(core: Core, task: Info) {
  try {
    await core.runtime.stop(task.runtimeSessionId);
  } catch (error) {
    logger.warn("StopRuntimeSession failed", { taskId: task.taskId, error: String(error) });
  }
}
