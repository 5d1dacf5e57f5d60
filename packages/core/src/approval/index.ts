import * as v from "valibot";
import { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import {
  commit,
  TransactionCanceled,
  type TransactPut,
  type TransactUpdate,
  transaction,
} from "../dynamo.ts";
import { ConflictError, notFound } from "../error.ts";
import { TaskEvent } from "../event/index.ts";
import { store } from "../store.ts";
import { Task } from "../task/index.ts";
import { newId } from "../util/ulid.ts";
import * as info from "./info.ts";
import * as input from "./input.ts";
import * as list from "./list.ts";
import { DEFAULT_TIMEOUT_S, TimeoutS } from "./rules.ts";
import { wake } from "./wake.ts";

export { APPROVAL_MODES, type ApprovalMode, ApprovalSettings, asks, RULE_IDS, type RuleId } from "./rules.ts";

/**
 * Human approval gates (DESIGN §3: RUNNING <-> AWAITING_APPROVAL). The agent asks; the task
 * moves to AWAITING_APPROVAL with `approval.requested` in one transaction. A person decides
 * (or the deadline does, always `deny` with `by: "timeout"`); the decision, `approval.decided`
 * and the move back to RUNNING are one transaction, and the agent is pushed once it commits.
 * An approval is decided exactly once: the transaction's condition is `status = pending`.
 */
export namespace Approval {
  export const Info = info.Info;
  export type Info = info.Info;
  export type Decision = { decision: "approve" | "deny"; by: string; comment?: string };

  /** What the agent asks (`detail` is the exact command, or the tool and its target). */
  export const RequestInput = v.object({
    action: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
    // A long command is kept whole up to a bound no item nears DynamoDB's limit with.
    detail: v.pipe(
      v.string(),
      v.minLength(1),
      v.transform((text) => (text.length > 4_000 ? `${text.slice(0, 4_000)}…` : text)),
    ),
    timeoutS: v.optional(TimeoutS),
  });
  export type RequestInput = v.InferInput<typeof RequestInput>;

  /** The body of `POST /v1/tasks/{id}/approvals/{approvalId}`. */
  export const DecideInput = input.DecideInput;

  /** The wire shape (APPROVALS.md): ISO times, `deadline` served as `expiresAt`. */
  export const present = info.present;

  /** One approval by its task and id, read consistently (system use). */
  export async function get(core: Core, taskId: string, approvalId: string): Promise<Info | undefined> {
    const result = await store(core).approval.get({ taskId, approvalId }).go({ consistent: true });
    return result.data ? info.serialize(result.data) : undefined;
  }

  /**
   * The agent asks: a pending approval, `approval.requested` and RUNNING -> AWAITING_APPROVAL
   * (with its `task.status`), in one transaction that also requires no cancel was requested.
   * A task that is not RUNNING, or whose cancel was requested, is a ConflictError.
   */
  export async function request(core: Core, taskId: string, raw: RequestInput): Promise<Info> {
    const input = v.parse(RequestInput, raw);
    for (let attempt = 0; attempt < 5; attempt++) {
      const task = await Task.get(core, taskId);
      if (!task) throw notFound("task", taskId);
      if (task.status !== "RUNNING" || task.cancelRequestedAt) {
        throw new ConflictError(
          "task.not_running",
          task.cancelRequestedAt ? "The task's cancel was requested" : `Task is ${task.status}`,
          {
            reason: task.cancelRequestedAt ? "task.cancel_requested" : "task.not_running",
            status: task.status,
          },
        );
      }
      const now = core.now();
      const timeoutS = input.timeoutS ?? task.approvals?.timeoutS ?? DEFAULT_TIMEOUT_S;
      const approval: Info = {
        ...asking(task, input, now),
        status: "pending",
        deadline: now + timeoutS * 1000,
      };
      const asked = requestedEvent(core, approval);
      const moves = Task.statusWrites(core, task, {
        to: "AWAITING_APPROVAL",
        reason: "approval_requested",
        unlessCancelRequested: true,
      });
      try {
        await commit(
          transaction(core.db, [
            { Put: store(core).approval.create(approval).params<TransactPut>() },
            TaskEvent.put(core, asked),
            ...moves, // index 2: the task, on (status, version) and no cancel
          ]),
        );
        return approval;
      } catch (error) {
        if (error instanceof TransactionCanceled && error.failed(2)) continue; // the task moved: look again
        throw error;
      }
    }
    throw new ConflictError("task.busy", "The task keeps changing; ask again");
  }

  /**
   * A gate the task's settings let through (mode `auto`, or a rule in `allow`): recorded as
   * asked and approved `by: "policy"` at once, without pausing the task.
   */
  export async function record(core: Core, taskId: string, raw: RequestInput): Promise<Info> {
    const input = v.parse(RequestInput, raw);
    const task = await Task.get(core, taskId);
    if (!task) throw notFound("task", taskId);
    const now = core.now();
    const approval: Info = {
      ...asking(task, input, now),
      status: "approved",
      deadline: now,
      decision: "approve",
      by: "policy",
      decidedAt: now,
    };
    const events = [
      requestedEvent(core, approval),
      TaskEvent.build(core, taskId, "approval.decided", {
        approvalId: approval.approvalId,
        decision: "approve",
        by: "policy",
      }),
    ];
    await commit(
      transaction(core.db, [
        { Put: store(core).approval.create(approval).params<TransactPut>() },
        ...events.map((event) => TaskEvent.put(core, event)),
      ]),
    );
    return approval;
  }

  /**
   * A person decides on their task's approval. Decided before (by anyone, or the deadline):
   * 409 with the first decision. Past its deadline, or its task ended: it is denied
   * `by: "timeout"` (or `"cancelled"`) and the answer is 409 `approval.expired`.
   */
  export async function decide(core: Core, taskId: string, approvalId: string, raw: unknown): Promise<Info> {
    const input = v.parse(DecideInput, raw);
    const actor = Actor.user();
    const task = await Task.fromId(core, taskId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const approval = await get(core, taskId, approvalId);
      if (!approval) throw notFound("approval", approvalId);
      if (approval.status !== "pending") throw decidedAlready(approval);
      const status = (await Task.get(core, taskId))?.status ?? task.status;
      const late = core.now() >= approval.deadline || Task.isTerminal(status);
      const decision: Decision = late
        ? expiredDecision(status)
        : { decision: input.decision, by: actor.userId, comment: input.comment };
      const settled = await settle(core, approval, decision);
      if (!settled) continue; // someone decided first: answer with theirs
      await wake(core, settled);
      if (late) throw decidedAlready(settled.approval);
      return settled.approval;
    }
    throw new ConflictError("approval.busy", "The approval keeps changing; retry");
  }

  /**
   * The waiting agent's own deadline: denies a pending approval `by: "timeout"` once its
   * deadline has passed. No push: the agent that calls it is the one waiting. Idempotent.
   */
  export async function lapse(core: Core, approval: Info): Promise<Info | undefined> {
    if (approval.status !== "pending" || core.now() < approval.deadline) return undefined;
    return (await settle(core, approval, { decision: "deny", by: "timeout" }))?.approval;
  }

  /** The reconciler's `lapse` for an agent that may not be watching: the agent is told. Idempotent. */
  export async function expire(core: Core, approval: Info): Promise<Info | undefined> {
    if (approval.status !== "pending" || core.now() < approval.deadline) return undefined;
    const settled = await settle(core, approval, { decision: "deny", by: "timeout" });
    if (settled) await wake(core, settled);
    return settled?.approval;
  }

  /** Settles whatever is still pending once the task has ended (denied, never left pending). Idempotent. */
  export async function settleAll(core: Core, taskId: string): Promise<number> {
    const task = await Task.get(core, taskId);
    let settled = 0;
    for (const approval of await list.pendingOf(core, taskId)) {
      if (await settle(core, approval, expiredDecision(task?.status ?? "FAILED"))) settled++;
    }
    return settled;
  }

  /** The acting user's task's approvals, oldest first. Someone else's task is NOT_FOUND. */
  export async function fromTask(core: Core, taskId: string): Promise<Info[]> {
    await Task.fromId(core, taskId);
    return list.ofTask(core, taskId);
  }

  /** A task's pending approvals (system use; at most one while it waits). */
  export const pending = list.pendingOf;

  export const ListInput = list.ListInput;
  /** The acting user's approvals across their tasks, newest first, paged by an opaque cursor. */
  export const fromUser = list.fromUser;
  /** Every pending approval, by page (the reconciler's look at deadlines). */
  export const allPending = list.allPending;

  /**
   * Pending -> decided with `approval.decided`; a task waiting on it goes back to RUNNING (with
   * its `task.status`) in the same transaction. `resumed` is that task, for `wake` to push once
   * committed. Undefined when it was decided first by someone else.
   */
  async function settle(
    core: Core,
    approval: Info,
    decision: Decision,
  ): Promise<{ approval: Info; resumed?: Task.Info } | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const task = await Task.get(core, approval.taskId);
      const waiting = task?.status === "AWAITING_APPROVAL";
      const now = core.now();
      const decided = TaskEvent.build(core, approval.taskId, "approval.decided", {
        approvalId: approval.approvalId,
        ...decision,
      });
      const moves =
        waiting && task
          ? Task.statusWrites(core, task, { to: "RUNNING", reason: "approval_decided" })
          : undefined;
      try {
        await commit(
          transaction(core.db, [
            {
              Update: store(core)
                .approval.patch({ taskId: approval.taskId, approvalId: approval.approvalId })
                .set({
                  status: decision.decision === "approve" ? "approved" : "denied",
                  decision: decision.decision,
                  by: decision.by,
                  decidedAt: now,
                  ...(decision.comment ? { comment: decision.comment } : {}),
                })
                .composite({ tenantId: approval.tenantId, userId: approval.userId })
                .where((attr, op) => op.eq(attr.status, "pending"))
                .params<TransactUpdate>(),
            },
            TaskEvent.put(core, decided),
            ...(moves ?? []), // index 2: the task, on (status, version)
          ]),
        );
      } catch (error) {
        if (error instanceof TransactionCanceled && error.failed(0)) return undefined;
        if (error instanceof TransactionCanceled && error.failed(2)) continue; // the task moved: look again
        throw error;
      }
      const settled = (await get(core, approval.taskId, approval.approvalId))!;
      return { approval: settled, ...(waiting && task ? { resumed: task } : {}) };
    }
    throw new ConflictError("approval.busy", "The task keeps changing; retry");
  }

  export const serialize = info.serialize;
}

/** What every approval starts from: who asks, about what, and when. */
function asking(task: Task.Info, input: { action: string; detail: string }, now: number) {
  const { taskId, tenantId, userId } = task;
  return {
    approvalId: newId(now),
    taskId,
    tenantId,
    userId,
    action: input.action,
    detail: input.detail,
    createdAt: now,
  };
}

/** `approval.requested` for an approval: its question and when it expires. */
const requestedEvent = (core: Core, approval: Approval.Info) =>
  TaskEvent.build(core, approval.taskId, "approval.requested", {
    approvalId: approval.approvalId,
    action: approval.action,
    detail: approval.detail,
    expiresAt: new Date(approval.deadline).toISOString(),
  });

/** How an approval nobody answered in time is settled: denied, never approved. */
function expiredDecision(status: string): Approval.Decision {
  return { decision: "deny", by: status === "CANCELLED" ? "cancelled" : "timeout" };
}

function decidedAlready(approval: Approval.Info) {
  const expired = approval.by === "timeout" || approval.by === "cancelled";
  return new ConflictError(
    expired ? "approval.expired" : "approval.decided",
    expired
      ? `Approval ${approval.approvalId} expired (denied by ${approval.by})`
      : `Approval ${approval.approvalId} was already decided: ${approval.decision} by ${approval.by}`,
    { approval: Approval.present(approval) },
  );
}
