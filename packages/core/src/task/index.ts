import * as v from "valibot";
import { Actor } from "../actor.ts";
import { DEFAULT_SETTINGS } from "../approval/rules.ts";
import type { Core } from "../core.ts";
import { isConditionFailed, pages } from "../dynamo.ts";
import { VisibleError } from "../error.ts";
import { store } from "../store.ts";
import { ULID_PATTERN } from "../util/ulid.ts";
import * as commentState from "./comment-state.ts";
import * as info from "./info.ts";
import * as lifecycle from "./lifecycle.ts";
import * as quota from "./quota.ts";
import { holdsSlot as isActive, isTerminalStatus, TaskStatus } from "./status.ts";
import * as submission from "./submit.ts";
import * as moves from "./transition.ts";

export { TaskStatus } from "./status.ts";

/**
 * The Task domain, one namespace split by use case: info.ts (the shape and finders every
 * use case reads), submit.ts, transition.ts, lifecycle.ts (promotion, cancel) and quota.ts
 * (checking the slots). Callers write `Task.submit`, `Task.transition`, whatever file holds it.
 */
export namespace Task {
  export const isTerminal = (status: TaskStatus) => isTerminalStatus(status);
  /** Statuses that hold one of the user's concurrency slots. */
  export const holdsSlot = isActive;

  export const Info = info.Info;
  /** A task as the domain sees it (times in epoch ms). */
  export type Info = info.Info;
  export type Source = Info["source"];
  export const TaskId = info.TaskId;
  export const serialize = info.serialize;
  /** A task by id, read consistently, without an ownership check (system use). */
  export const get = info.get;
  /** A task the acting user may see; someone else's task is NOT_FOUND. */
  export const fromId = info.fromId;

  /** The body of `POST /v1/tasks`. Unknown keys are refused. */
  export const SubmitInput = submission.SubmitInput;
  export type SubmitInput = submission.SubmitInput;
  export const IdempotencyKey = submission.IdempotencyKey;
  /**
   * Submits a task for the acting user: one transaction puts the task, takes a slot (or a
   * queue place), records the Idempotency-Key and appends `task.submitted`; then the task
   * is enqueued. A repeated key with the same body returns the original task, `replayed`.
   */
  export const submit = submission.submit;

  export type TransitionInput = moves.TransitionInput;
  /** Moves a task along the lifecycle (conditional on status and version), then runs its follow-ups. */
  export const transition = moves.transition;
  /** A transition's task and event writes, for a caller's own transaction (live statuses only). */
  export const statusWrites = moves.statusWrites;
  /** Promotes the user's oldest QUEUED tasks while they have free slots. Idempotent. */
  export const promoteNext = lifecycle.promoteNext;
  /** Cancels the acting user's task: at once before it runs, through the agent once it does. */
  export const cancel = lifecycle.cancel;
  /** StopRuntimeSession, best effort: the session may already be gone. */
  export const stopSession = lifecycle.stopSession;

  /** Every user's quota item, page by page (the reconciler's look at leaked slots). */
  export const quotas = quota.quotas;
  /** Recounts a user's slots from their tasks and fixes the quota item if it drifted. */
  export const repairQuota = quota.repairQuota;

  /** The wire shape (DESIGN §12.5): ISO times, no tenant internals. */
  export function present(task: Info, queuePosition?: number) {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    return {
      taskId: task.taskId,
      status: task.status,
      repo: task.repo,
      prNumber: task.prNumber,
      issueNumber: task.issueNumber,
      description: task.description,
      options: task.options,
      // Always served: the default when none was stored (tasks from before approvals existed).
      approvals: task.approvals ?? DEFAULT_SETTINGS,
      maxTurns: task.maxTurns,
      maxBudgetUsd: task.maxBudgetUsd,
      source: task.source,
      turns: task.turns,
      costUsd: task.costUsd,
      result: task.result,
      error: task.error,
      queuePosition,
      version: task.version,
      rev: task.rev,
      createdAt: iso(task.createdAt)!,
      updatedAt: iso(task.updatedAt)!,
      finishedAt: iso(task.finishedAt),
    };
  }
  /** 1-based place among the user's QUEUED tasks, oldest first. */
  export async function queuePosition(core: Core, task: Info): Promise<number | undefined> {
    if (task.status !== "QUEUED") return undefined;
    const ahead = await store(core)
      .task.query.byUserStatus({ tenantId: task.tenantId, userId: task.userId, status: "QUEUED" })
      .lt({ taskId: task.taskId })
      .go({ pages: "all", attributes: ["taskId"] });
    return ahead.data.length + 1;
  }

  export const ListInput = v.object({
    status: v.optional(TaskStatus),
    // A query string gives text, a caller in code gives a number: both are fine.
    limit: v.optional(
      v.pipe(
        v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.toNumber())]),
        v.integer(),
        v.minValue(1),
        v.maxValue(100),
      ),
      20,
    ),
    cursor: v.optional(v.string()),
  });

  /** The acting user's tasks, newest first, with an opaque cursor bound to the caller. */
  export async function fromUser(core: Core, raw: unknown) {
    const input = v.parse(ListInput, raw);
    const { tenantId, userId } = Actor.user();
    const before = input.cursor
      ? Cursor.decode(input.cursor, `${tenantId}/${userId}/${input.status ?? ""}`)
      : undefined;
    const query = input.status
      ? store(core).task.query.byUserStatus({ tenantId, userId, status: input.status })
      : store(core).task.query.byUser({ tenantId, userId });
    const limit = input.limit;
    // One extra row says whether another page exists.
    const result = await (before ? query.lt({ taskId: before }) : query).go({
      order: "desc",
      limit: limit + 1,
      count: limit + 1,
    });
    const tasks = result.data.slice(0, limit).map(serialize);
    const last = tasks.at(-1);
    return {
      tasks,
      nextCursor:
        result.data.length > limit && last
          ? Cursor.encode(last.taskId, `${tenantId}/${userId}/${input.status ?? ""}`)
          : undefined,
    };
  }

  /** Tasks of one status, page by page (the status index holds only that status). */
  export async function* byStatus(core: Core, status: TaskStatus): AsyncGenerator<Info> {
    const query = store(core).task.query.byStatus({ status });
    for await (const page of pages((cursor) => query.go({ cursor, limit: 100 }))) yield* page.map(serialize);
  }

  /**
   * Records liveness of a running agent. Answers whether the task still runs and whether
   * a cancel was requested (the agent's backstop when the cancel push was lost).
   */
  export async function heartbeat(
    core: Core,
    taskId: string,
  ): Promise<"running" | "cancel_requested" | "gone"> {
    try {
      const result = await store(core)
        .task.patch({ taskId })
        .set({ heartbeatAt: core.now() })
        .where((a, op) => `${op.eq(a.status, "RUNNING")} OR ${op.eq(a.status, "AWAITING_APPROVAL")}`)
        .go({ response: "all_new" });
      return result.data?.cancelRequestedAt ? "cancel_requested" : "running";
    } catch (error) {
      if (isConditionFailed(error)) return "gone";
      throw error;
    }
  }

  /** Bumps `rev` for a change that lives outside the task item (a new nudge), so renders follow. */
  export async function touch(core: Core, taskId: string) {
    await store(core).task.patch({ taskId }).add({ rev: 1 }).go({ response: "none" });
  }

  /** Updates the running counters a status surface shows (turns, cost), bumping `rev`. */
  export async function recordProgress(
    core: Core,
    taskId: string,
    progress: { turns?: number; costUsd?: number },
  ) {
    await store(core)
      .task.patch({ taskId })
      .set({ updatedAt: core.now(), ...(progress.turns !== undefined ? { turns: progress.turns } : {}) })
      .add({ rev: 1, ...(progress.costUsd ? { costUsd: progress.costUsd } : {}) })
      .go({ response: "none" });
  }

  /** The task and its status comment's state (github/state.ts), in one consistent read. */
  export const withCommentState = commentState.withCommentState;
  /** Replaces the status comment's state if its `seq` is unchanged; false when someone changed it first. */
  export const swapCommentState = commentState.swapCommentState;
}

/** List cursors: the last taskId seen plus a check binding it to the caller and filter. */
namespace Cursor {
  export function encode(taskId: string, owner: string) {
    return Buffer.from(`${taskId}.${submission.hash(`${owner}/${taskId}`).slice(0, 16)}`).toString(
      "base64url",
    );
  }
  export function decode(cursor: string, owner: string): string {
    const [taskId, check] = Buffer.from(cursor, "base64url").toString().split(".");
    if (
      !taskId ||
      !check ||
      !ULID_PATTERN.test(taskId) ||
      submission.hash(`${owner}/${taskId}`).slice(0, 16) !== check
    ) {
      throw new VisibleError("input", "cursor.invalid", "Invalid cursor");
    }
    return taskId;
  }
}
