import type { Core } from "../core.ts";
import {
  type AfterCommit,
  commit,
  expressionAttributes,
  type TransactItem,
  TransactionCanceled,
  transaction,
} from "../dynamo.ts";
import { ConflictError, notFound } from "../error.ts";
import { type EventData, TaskEvent } from "../event/index.ts";
import { enqueue, get, type Info, taskKey } from "./info.ts";
import { slotWrite } from "./slots.ts";
import { holdsSlot, isTerminalStatus as isTerminal, type TaskStatus } from "./status.ts";

/**
 * Moving a task along its lifecycle, in plain TransactWrites on exactly the items the `task`
 * and `quota` entities write (task.entity.ts, slots.ts): the dispatcher claims and
 * fails tasks with it, and so loads no ElectroDB. What queries (promoting the next queued
 * task) is loaded on the first terminal commit. test/items.test.ts holds each write to the
 * entity's item.
 */

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
 * The two writes of a transition, for a transaction that may carry more (its slot, an
 * approval): the task on (status, version), and on no cancel request when asked, then its
 * `task.status` event. Checked against TRANSITIONS, so no module moves a task the lifecycle
 * does not allow. Only transitions that neither end the task nor leave the queue may be
 * written outside `transition` (those owe slot writes and follow-ups).
 */
export function statusWrites(
  core: Core,
  task: Info,
  input: TransitionInput & { unlessCancelRequested?: boolean },
): [TransactItem, TransactItem] {
  if (!TRANSITIONS[task.status][input.to]?.includes(input.reason))
    throw new Error(`Reason ${input.reason} not allowed for ${task.status}->${input.to}`);
  const now = core.now();
  const data: EventData<"task.status"> = {
    from: task.status,
    to: input.to,
    reason: input.reason,
    ...(input.result?.prUrl ? { prUrl: input.result.prUrl } : {}),
  };
  const set: Record<string, unknown> = {
    status: input.to,
    version: task.version + 1,
    rev: task.rev + 1,
    updatedAt: now,
    ...(isTerminal(input.to) ? { finishedAt: now } : {}),
    ...(input.error ? { error: input.error } : {}),
    ...(input.result ? { result: input.result } : {}),
    ...(input.cancelRequestedAt ? { cancelRequestedAt: input.cancelRequestedAt } : {}),
    // The status indexes' partition keys follow the status, as the entity's patch rewrites them.
    gsi2pk: `$conveyor#status_${input.to}`.toLowerCase(),
    gsi4pk: `$conveyor#tenantid_${task.tenantId}#userid_${task.userId}#status_${input.to}`.toLowerCase(),
    taskId: task.taskId,
    ...TASK_MARKERS,
  };
  const conditions = [
    "attribute_exists(#pk) AND attribute_exists(#sk)",
    "#tenantId = :tenantId AND #userId = :userId",
    "#status = :was AND #version = :version",
    ...(input.unlessCancelRequested ? ["attribute_not_exists(#cancelRequestedAt)"] : []),
  ].join(" AND ");
  const update = `SET ${Object.keys(set)
    .map((field) => `#${field} = :${field}_u`)
    .join(", ")}`;
  return [
    {
      Update: {
        TableName: core.config.tables.tasks,
        Key: taskKey(task.taskId),
        UpdateExpression: update,
        ConditionExpression: conditions,
        ...expressionAttributes([update, conditions], {
          ...Object.fromEntries(Object.entries(set).map(([field, value]) => [`:${field}_u`, value])),
          ":tenantId": task.tenantId,
          ":userId": task.userId,
          ":was": task.status,
          ":version": task.version,
        }),
      },
    },
    TaskEvent.put(core, TaskEvent.build(core, task.taskId, "task.status", data)),
  ];
}

/** ElectroDB's markers of the entity (and model version) an item belongs to. */
const TASK_MARKERS = { __edb_e__: "task", __edb_v__: "1" } as const;

/** Commits a transition with what it owes the user's slots; its follow-ups run after. */
export async function commitTransition(core: Core, task: Info, input: TransitionInput) {
  const leavesQueue = task.status === "QUEUED";
  await commit(
    transaction(core.db, [
      ...statusWrites(core, task, input),
      ...(isTerminal(input.to) && holdsSlot(task.status) ? [slotWrite(core, task, "release")] : []),
      ...(leavesQueue ? [slotWrite(core, task, input.to === "SUBMITTED" ? "promote" : "leaveQueue")] : []),
    ]),
    followUps(core, task, input.to),
  );
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
    return [
      () => core.taskEnded(core, task.taskId),
      // Promoting queries the user's queued tasks: loaded here, so claiming a task loads no query code.
      async () => (await import("./lifecycle.ts")).promoteNext(core, task.tenantId, task.userId),
    ];
  }
  if (task.status === "QUEUED" && to === "SUBMITTED") return [() => enqueue(core, task.taskId)];
  return [];
}
