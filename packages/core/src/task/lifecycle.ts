import { createWriteTransaction } from "electrodb";
import { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import { type AfterCommit, commit, TransactionCanceled } from "../dynamo.ts";
import { ConflictError, notFound } from "../error.ts";
import { type EventData, TaskEvent } from "../event/index.ts";
import { logger } from "../log.ts";
import { entitiesOf, store } from "../store.ts";
import { enqueue, fromId, get, type Info } from "./info.ts";
import { holdsSlot, isTerminalStatus as isTerminal, type TaskStatus } from "./status.ts";

/** Allowed transitions and the reasons each may carry (DESIGN §12.3). */
const TRANSITIONS: Record<TaskStatus, Partial<Record<TaskStatus, readonly string[]>>> = {
  QUEUED: { SUBMITTED: ["promoted"], FAILED: ["queue_expired"], CANCELLED: ["cancelled", "cancel_forced"] },
  SUBMITTED: {
    STARTING: ["claimed"],
    FAILED: ["dispatch_failed"],
    CANCELLED: ["cancelled", "cancel_forced"],
  },
  STARTING: {
    RUNNING: ["agent_started"],
    FAILED: ["dispatch_failed"],
    CANCELLED: ["cancelled", "cancel_forced"],
  },
  RUNNING: {
    AWAITING_APPROVAL: ["approval_requested"],
    COMPLETED: ["completed"],
    FAILED: [
      "agent_error",
      "max_turns",
      "max_budget",
      "model_unavailable",
      "repo_unavailable",
      "heartbeat_lost",
    ],
    TIMED_OUT: ["wall_clock"],
    CANCELLED: ["cancelled", "cancel_forced"],
  },
  AWAITING_APPROVAL: {
    RUNNING: ["approval_decided"],
    FAILED: ["heartbeat_lost", "agent_error"],
    TIMED_OUT: ["wall_clock"],
    CANCELLED: ["cancelled", "cancel_forced"],
  },
  COMPLETED: {},
  FAILED: {},
  TIMED_OUT: {},
  CANCELLED: {},
};

export interface TransitionInput {
  to: TaskStatus;
  reason: string;
  /** Only from these statuses; defaults to every status the transition table allows. */
  from?: TaskStatus[];
  error?: { code: string; message: string };
  result?: { summary: string; prUrl?: string };
  cancelRequestedAt?: number;
}

/**
 * Moves a task along the lifecycle: a conditional write on (status, version)
 * with its `task.status` event, in one transaction; a terminal status releases
 * the user's slot in the same transaction, and its follow-ups run once it has
 * committed (see `followUps`). Losing a race is a ConflictError; retrying a
 * terminal transition that already committed returns the task.
 */
export async function transition(core: Core, taskId: string, input: TransitionInput): Promise<Info> {
  for (let attempt = 0; ; attempt++) {
    const task = await get(core, taskId);
    if (!task) throw notFound("task", taskId);
    // A terminal transition retried after its first attempt committed (reply lost) is a success.
    if (task.status === input.to && isTerminal(input.to)) return task;
    const allowed = TRANSITIONS[task.status][input.to];
    if (!allowed || (input.from && !input.from.includes(task.status))) {
      throw new ConflictError(
        "task.invalid_transition",
        `Task is ${task.status}; cannot move to ${input.to}`,
        {
          reason: isTerminal(task.status) ? "task.terminal" : "task.invalid_transition",
          status: task.status,
        },
      );
    }
    try {
      await commitTransition(core, task, input);
    } catch (error) {
      if (error instanceof TransactionCanceled && attempt < 5) continue; // re-read and decide again
      throw error;
    }
    return (await get(core, taskId))!;
  }
}

/**
 * What a committed transition owes, handed to `commit` with the write itself, so every path
 * that moves a task (transition, promotion) runs it and none can forget it. An ended task's
 * pending nudges expire through `core.taskEnded` (wired in core.ts: steering depends on Task,
 * never the reverse) and its user's next queued task is promoted; a promoted task is enqueued.
 * All idempotent: the reconciler runs them again as a backstop.
 */
function followUps(core: Core, task: Info, to: TaskStatus): AfterCommit[] {
  if (isTerminal(to)) {
    return [() => core.taskEnded(core, task.taskId), () => promoteNext(core, task.tenantId, task.userId)];
  }
  if (task.status === "QUEUED" && to === "SUBMITTED") return [() => enqueue(core, task.taskId)];
  return [];
}

/** What a transaction's callback gets for the Task and Events entities. */
type StatusWriters = Parameters<
  Parameters<
    typeof createWriteTransaction<Pick<ReturnType<typeof entitiesOf>, "task" | "event">, unknown, []>
  >[1]
>[0];

/**
 * The two writes of a transition, for a transaction that may carry more (its slot, an
 * approval): the task on (status, version), and on no cancel request when asked, and its
 * `task.status` event. Checked against TRANSITIONS, so no module moves a task the lifecycle
 * does not allow. Only transitions that neither end the task nor leave the queue may be
 * written outside `transition` (those owe slot writes and follow-ups).
 */
export function statusWrites(
  core: Core,
  task: Info,
  input: TransitionInput & { unlessCancelRequested?: boolean },
) {
  if (!TRANSITIONS[task.status][input.to]?.includes(input.reason))
    throw new Error(`Reason ${input.reason} not allowed for ${task.status}->${input.to}`);
  const now = core.now();
  const data: EventData<"task.status"> = {
    from: task.status,
    to: input.to,
    reason: input.reason,
    ...(input.result?.prUrl ? { prUrl: input.result.prUrl } : {}),
  };
  const event = TaskEvent.build(core, task.taskId, "task.status", data);
  return ({ task: t, event: e }: StatusWriters) => [
    t
      .patch({ taskId: task.taskId })
      .set({
        status: input.to,
        version: task.version + 1,
        rev: task.rev + 1,
        updatedAt: now,
        ...(isTerminal(input.to) ? { finishedAt: now } : {}),
        ...(input.error ? { error: input.error } : {}),
        ...(input.result ? { result: input.result } : {}),
        ...(input.cancelRequestedAt ? { cancelRequestedAt: input.cancelRequestedAt } : {}),
      })
      .composite({ tenantId: task.tenantId, userId: task.userId })
      .where((a, op) =>
        [
          op.eq(a.status, task.status),
          op.eq(a.version, task.version),
          ...(input.unlessCancelRequested ? [op.notExists(a.cancelRequestedAt)] : []),
        ].join(" AND "),
      )
      .commit(),
    e.put(event).commit(),
  ];
}

async function commitTransition(core: Core, task: Info, input: TransitionInput) {
  const releases = isTerminal(input.to) && holdsSlot(task.status);
  const leavesQueue = task.status === "QUEUED";
  const limits = core.config.limits;
  const moves = statusWrites(core, task, input);
  await commit(
    createWriteTransaction(entitiesOf(core), ({ task: t, quota: q, event: e }) => [
      ...moves({ task: t, event: e }),
      ...(releases
        ? [q.patch({ tenantId: task.tenantId, userId: task.userId }).subtract({ active: 1 }).commit()]
        : []),
      ...(leavesQueue && input.to === "SUBMITTED"
        ? [
            q
              .patch({ tenantId: task.tenantId, userId: task.userId })
              .add({ active: 1 })
              .subtract({ queued: 1 })
              .where((a, op) => op.lt(a.active, limits.activePerUser))
              .commit(),
          ]
        : leavesQueue
          ? [q.patch({ tenantId: task.tenantId, userId: task.userId }).subtract({ queued: 1 }).commit()]
          : []),
    ]),
    followUps(core, task, input.to),
  );
}

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
