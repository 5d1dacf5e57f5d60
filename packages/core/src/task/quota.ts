import type { Core } from "../core.ts";
import { isConditionFailed, pages } from "../dynamo.ts";
import { logger } from "../log.ts";
import { store } from "../store.ts";
import { ACTIVE_STATUSES, type TaskStatus } from "./status.ts";

/**
 * A user's concurrency slots (`active` tasks hold one, `queued` wait for one). Every change
 * to them rides in the same transaction as the task change that causes it (submit.ts,
 * lifecycle.ts); this file holds what checks them afterwards.
 */

/** Every user's quota item, page by page, for the reconciler's look at leaked slots. */
export async function* quotas(
  core: Core,
): AsyncGenerator<{ tenantId: string; userId: string; active: number; queued: number }> {
  for await (const page of pages((cursor) => store(core).quota.query.byUser({}).go({ cursor, limit: 100 }))) {
    for (const q of page)
      yield { tenantId: q.tenantId, userId: q.userId, active: q.active ?? 0, queued: q.queued ?? 0 };
  }
}

/**
 * Recounts a user's slots from their tasks and fixes the quota item if it drifted.
 * Every change to a user's slots writes the quota item in the same transaction, so:
 * read the quota, let the status index settle, count, and write only if the quota is
 * still what was read. Then nothing changed in between and the count is current.
 */
export async function repairQuota(
  core: Core,
  tenantId: string,
  userId: string,
  seen: { active: number; queued: number },
): Promise<boolean> {
  const settleMs = core.config.limits.indexSettleMs;
  const countOf = async (status: TaskStatus) =>
    (
      await store(core)
        .task.query.byUserStatus({ tenantId, userId, status })
        .go({ pages: "all", attributes: ["taskId"] })
    ).data.length;
  const recount = async () => {
    let active = 0;
    for (const status of ACTIVE_STATUSES) active += await countOf(status);
    return { active, queued: await countOf("QUEUED") };
  };
  const quota = await store(core).quota.get({ tenantId, userId }).go({ consistent: true });
  const was = { active: quota.data?.active ?? 0, queued: quota.data?.queued ?? 0 };
  // What this run already read agrees: nothing to look into (one read per user).
  if (seen.active === was.active && seen.queued === was.queued) return false;
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const counted = await recount();
  if (counted.active === was.active && counted.queued === was.queued) return false;
  try {
    await store(core)
      .quota.update({ tenantId, userId })
      .set(counted)
      .where((a, op) =>
        quota.data
          ? `${op.eq(a.active, was.active)} AND ${op.eq(a.queued, was.queued)}`
          : op.notExists(a.active),
      )
      .go({ response: "none" });
  } catch (error) {
    if (isConditionFailed(error)) return false; // it moved: the next run looks again
    throw error;
  }
  logger.warn("quota drift repaired", { tenantId, userId, was, now: counted });
  return true;
}
