import { createHash } from "node:crypto";
import { createWriteTransaction } from "electrodb";
import * as v from "valibot";
import { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import { commit, isConditionFailed, TransactionCanceled } from "../dynamo.ts";
import { ConflictError, notFound, VisibleError } from "../error.ts";
import { type EventData, isTerminalStatus, TaskEvent, TaskStatus } from "../event/index.ts";
import { Nudge } from "../nudge/index.ts";
import { sessionIdFor } from "../runtime/index.ts";
import { newId, ULID_PATTERN } from "../util/ulid.ts";

export { TaskStatus } from "../event/index.ts";

const ACTIVE = ["SUBMITTED", "STARTING", "RUNNING", "AWAITING_APPROVAL"] as const satisfies TaskStatus[];

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

const Repo = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, "must be owner/name"),
);
const OptionValue = v.union([v.pipe(v.string(), v.maxLength(256)), v.number(), v.boolean()]);

export namespace Task {
  export const isTerminal = (status: TaskStatus) => isTerminalStatus(status);
  /** Statuses that hold one of the user's concurrency slots. */
  export const holdsSlot = (status: TaskStatus) => (ACTIVE as readonly string[]).includes(status);

  export const Info = v.object({
    taskId: v.string(),
    tenantId: v.string(),
    userId: v.string(),
    status: TaskStatus,
    version: v.number(),
    rev: v.number(),
    repo: v.string(),
    prNumber: v.optional(v.number()),
    issueNumber: v.optional(v.number()),
    description: v.string(),
    maxTurns: v.number(),
    maxBudgetUsd: v.number(),
    options: v.optional(v.record(v.string(), OptionValue), {}),
    source: v.picklist(["api", "cli", "webhook", "github"]),
    runtimeSessionId: v.string(),
    heartbeatAt: v.optional(v.number()),
    cancelRequestedAt: v.optional(v.number()),
    turns: v.number(),
    costUsd: v.number(),
    result: v.optional(v.object({ summary: v.string(), prUrl: v.optional(v.string()) })),
    error: v.optional(v.object({ code: v.string(), message: v.string() })),
    github: v.optional(v.object({ commentId: v.optional(v.number()), renderedRev: v.number() })),
    createdAt: v.number(),
    updatedAt: v.number(),
    finishedAt: v.optional(v.number()),
  });
  /** A task as the domain sees it (times in epoch ms). */
  export type Info = v.InferOutput<typeof Info>;
  export type Source = Info["source"];

  /** The body of `POST /v1/tasks`. Unknown keys are refused. */
  export const SubmitInput = v.strictObject({
    repo: Repo,
    description: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(10_000)),
    prNumber: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    issueNumber: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    maxTurns: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(500)), 100),
    maxBudgetUsd: v.optional(v.pipe(v.number(), v.minValue(0.01), v.maxValue(100)), 10),
    options: v.optional(
      v.pipe(
        v.record(v.pipe(v.string(), v.minLength(1), v.maxLength(64)), OptionValue),
        v.check((o) => Object.keys(o).length <= 20, "at most 20 options"),
      ),
      {},
    ),
  });
  export type SubmitInput = v.InferInput<typeof SubmitInput>;

  export const IdempotencyKey = v.pipe(
    v.string(),
    v.minLength(1),
    v.maxLength(255),
    v.regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
  );

  export const TaskId = v.pipe(v.string(), v.regex(ULID_PATTERN, "must be a task id"));

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
  export type Wire = ReturnType<typeof present>;

  /**
   * Submits a task for the acting user: one transaction puts the task, takes a
   * slot (or a queue place), records the Idempotency-Key and appends
   * `task.submitted`; then the task is enqueued. A repeated key with the same
   * body returns the original task with `replayed: true`.
   */
  export async function submit(
    core: Core,
    raw: unknown,
    opts: { idempotencyKey?: string; source?: Source } = {},
  ): Promise<{ task: Info; replayed: boolean }> {
    const input = v.parse(SubmitInput, raw);
    const { tenantId, userId } = Actor.user();
    const key = opts.idempotencyKey === undefined ? undefined : v.parse(IdempotencyKey, opts.idempotencyKey);
    const bodyHash = hash(canonical(input));
    const limits = core.config.limits;

    // Try to admit first: the transaction's quota condition decides, so the common
    // case costs no read. Only when it fails do we read the quota and queue.
    let admit = true;
    let queued = 0;
    for (let attempt = 0; attempt < 6; attempt++) {
      if (key) {
        const replay = await findReplay(core, tenantId, userId, key, bodyHash);
        if (replay) return { task: replay, replayed: true };
      }
      if (!admit) {
        const quota = await core.store.quota.get({ tenantId, userId }).go({ consistent: true });
        queued = quota.data?.queued ?? 0;
        // Admit only when nobody is waiting, so queued tasks keep their turn.
        admit = (quota.data?.active ?? 0) < limits.activePerUser && queued === 0;
        if (!admit && queued >= limits.queuedPerUser) {
          throw new VisibleError(
            "quota",
            "quota.queued_limit",
            `You have ${queued} queued tasks, the most allowed; wait for some to finish`,
            { reason: "quota.queued_limit", queued, limit: limits.queuedPerUser },
          );
        }
      }
      const now = core.now();
      const taskId = newId(now);
      const status: TaskStatus = admit ? "SUBMITTED" : "QUEUED";
      const task: Info = {
        taskId,
        tenantId,
        userId,
        status,
        version: 1,
        rev: 1,
        repo: input.repo,
        prNumber: input.prNumber,
        issueNumber: input.issueNumber,
        description: input.description,
        maxTurns: input.maxTurns,
        maxBudgetUsd: input.maxBudgetUsd,
        options: input.options,
        source: opts.source ?? "api",
        runtimeSessionId: sessionIdFor(taskId),
        turns: 0,
        costUsd: 0,
        createdAt: now,
        updatedAt: now,
      };
      const event = TaskEvent.build(core, taskId, "task.submitted", {
        status,
        queuePosition: admit ? undefined : queued + 1,
      });
      const target = input.prNumber
        ? `${input.repo}#pr-${input.prNumber}`
        : input.issueNumber
          ? `${input.repo}#issue-${input.issueNumber}`
          : input.repo;
      try {
        await commit(
          createWriteTransaction(entitiesOf(core), ({ task: t, quota: q, idempotency: i, event: e }) => [
            t.create({ ...task, target }).commit(),
            admit
              ? q
                  .update({ tenantId, userId })
                  .add({ active: 1 })
                  .where(
                    (a, op) =>
                      `(${op.notExists(a.active)} OR ${op.lt(a.active, limits.activePerUser)}) AND (${op.notExists(a.queued)} OR ${op.eq(a.queued, 0)})`,
                  )
                  .commit()
              : q
                  .update({ tenantId, userId })
                  .add({ queued: 1 })
                  .where((a, op) => `${op.notExists(a.queued)} OR ${op.lt(a.queued, limits.queuedPerUser)}`)
                  .commit(),
            ...(key
              ? [
                  i
                    .put({
                      tenantId,
                      userId,
                      key,
                      taskId,
                      bodyHash,
                      expiresAt: Math.floor(now / 1000) + limits.idempotencyTtlSeconds,
                    })
                    .where(
                      (a, op) => `${op.notExists(a.taskId)} OR ${op.lt(a.expiresAt, Math.floor(now / 1000))}`,
                    )
                    .commit(),
                ]
              : []),
            e.put(event).commit(),
          ]),
        );
      } catch (error) {
        if (!(error instanceof TransactionCanceled)) throw error;
        // No free slot (or someone is queued): read the quota and queue. The same key raced in: replay.
        if (error.failed(1)) admit = false;
        if (error.failed(1) || error.failed(2)) continue;
        throw error;
      }
      if (admit) await enqueue(core, taskId);
      else await promoteNext(core, tenantId, userId);
      return { task, replayed: false };
    }
    throw new ConflictError("task.busy", "Too many concurrent submissions; retry");
  }

  async function findReplay(core: Core, tenantId: string, userId: string, key: string, bodyHash: string) {
    const record = await core.store.idempotency.get({ tenantId, userId, key }).go({ consistent: true });
    if (!record.data || record.data.expiresAt < Math.floor(core.now() / 1000)) return undefined;
    if (record.data.bodyHash !== bodyHash) {
      throw new ConflictError(
        "idempotency.mismatch",
        "This Idempotency-Key was used with a different request body",
        {
          reason: "idempotency.mismatch",
        },
      );
    }
    const task = await get(core, record.data.taskId);
    if (!task) return undefined;
    // Harmless: the dispatcher ignores messages for tasks already claimed.
    if (task.status === "SUBMITTED") await enqueue(core, task.taskId);
    return task;
  }

  /** SendMessage; if it still fails the task stays SUBMITTED and the reconciler re-enqueues it. */
  async function enqueue(core: Core, taskId: string) {
    try {
      await core.queue.send(taskId);
    } catch (error) {
      console.error(
        JSON.stringify({ msg: "enqueue failed, left for the reconciler", taskId, error: String(error) }),
      );
    }
  }

  /** A task by id, read consistently, without an ownership check (system use). */
  export async function get(core: Core, taskId: string): Promise<Info | undefined> {
    const result = await core.store.task.get({ taskId }).go({ consistent: true });
    return result.data ? serialize(result.data) : undefined;
  }

  /** A task the acting user may see; someone else's task is NOT_FOUND. */
  export async function fromId(core: Core, taskId: string): Promise<Info> {
    const task = v.is(TaskId, taskId) ? await get(core, taskId) : undefined;
    if (!task || !visible(task)) throw notFound("task", taskId);
    return task;
  }

  function visible(task: Info) {
    const actor = Actor.use();
    if (actor.type === "system") return true;
    return actor.tenantId === task.tenantId && actor.userId === task.userId;
  }

  /** 1-based place among the user's QUEUED tasks, oldest first. */
  export async function queuePosition(core: Core, task: Info): Promise<number | undefined> {
    if (task.status !== "QUEUED") return undefined;
    const ahead = await core.store.task.query
      .byUserStatus({ tenantId: task.tenantId, userId: task.userId, status: "QUEUED" })
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
      ? core.store.task.query.byUserStatus({ tenantId, userId, status: input.status })
      : core.store.task.query.byUser({ tenantId, userId });
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
   * the user's slot in the same transaction and then promotes their next queued
   * task. Losing a race is a ConflictError; retrying a terminal transition that
   * already committed returns the task.
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
      if (!allowed.includes(input.reason))
        throw new Error(`Reason ${input.reason} not allowed for ${task.status}->${input.to}`);
      try {
        await commitTransition(core, task, input);
      } catch (error) {
        if (error instanceof TransactionCanceled && attempt < 5) continue; // re-read and decide again
        throw error;
      }
      const next = (await get(core, taskId))!;
      if (isTerminal(input.to)) {
        // Both idempotent; the reconciler runs them again as a backstop.
        await Nudge.expireAll(core, taskId);
        await promoteNext(core, task.tenantId, task.userId);
      }
      return next;
    }
  }

  async function commitTransition(core: Core, task: Info, input: TransitionInput) {
    const now = core.now();
    const terminal = isTerminal(input.to);
    const data: EventData<"task.status"> = { from: task.status, to: input.to, reason: input.reason };
    const event = TaskEvent.build(core, task.taskId, "task.status", data);
    const releases = terminal && holdsSlot(task.status);
    const leavesQueue = task.status === "QUEUED";
    const limits = core.config.limits;
    await commit(
      createWriteTransaction(entitiesOf(core), ({ task: t, quota: q, event: e }) => [
        t
          .patch({ taskId: task.taskId })
          .set({
            status: input.to,
            version: task.version + 1,
            rev: task.rev + 1,
            updatedAt: now,
            ...(terminal ? { finishedAt: now } : {}),
            ...(input.error ? { error: input.error } : {}),
            ...(input.result ? { result: input.result } : {}),
            ...(input.cancelRequestedAt ? { cancelRequestedAt: input.cancelRequestedAt } : {}),
          })
          .composite({ tenantId: task.tenantId, userId: task.userId })
          .where((a, op) => `${op.eq(a.status, task.status)} AND ${op.eq(a.version, task.version)}`)
          .commit(),
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
        e.put(event).commit(),
      ]),
    );
  }

  /**
   * Promotes the user's oldest QUEUED tasks while they have free slots. Idempotent:
   * called after every terminal commit, and later by stream and reconciler backstops.
   */
  export async function promoteNext(core: Core, tenantId: string, userId: string): Promise<string[]> {
    const promoted: string[] = [];
    for (let guard = 0; guard < core.config.limits.activePerUser + 5; guard++) {
      const quota = await core.store.quota.get({ tenantId, userId }).go({ consistent: true });
      if (!quota.data || quota.data.active >= core.config.limits.activePerUser || quota.data.queued <= 0)
        break;
      const next = await core.store.task.query
        .byUserStatus({ tenantId, userId, status: "QUEUED" })
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
      await enqueue(core, task.taskId);
    }
    return promoted;
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
      const result = await core.store.task
        .patch({ taskId })
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
    await core.store.task.patch({ taskId }).add({ rev: 1 }).go({ response: "none" });
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
          console.error(
            JSON.stringify({
              level: "warn",
              msg: "cancel push failed; the agent's heartbeat will see it",
              taskId,
              error: String(error),
            }),
          ),
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
      console.error(
        JSON.stringify({
          level: "warn",
          msg: "StopRuntimeSession failed",
          taskId: task.taskId,
          error: String(error),
        }),
      );
    }
  }

  /** Updates the running counters a status surface shows (turns, cost), bumping `rev`. */
  export async function recordProgress(
    core: Core,
    taskId: string,
    progress: { turns?: number; costUsd?: number },
  ) {
    await core.store.task
      .patch({ taskId })
      .set({ updatedAt: core.now(), ...(progress.turns !== undefined ? { turns: progress.turns } : {}) })
      .add({ rev: 1, ...(progress.costUsd ? { costUsd: progress.costUsd } : {}) })
      .go({ response: "none" });
  }

  export function serialize(item: unknown): Info {
    return v.parse(Info, item);
  }
}

function entitiesOf(core: Core) {
  const { task, quota, idempotency, event } = core.store;
  return { task, quota, idempotency, event };
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

const hash = (text: string) => createHash("sha256").update(text).digest("hex");

/** List cursors: the last taskId seen plus a check binding it to the caller and filter. */
namespace Cursor {
  export function encode(taskId: string, owner: string) {
    return Buffer.from(`${taskId}.${hash(`${owner}/${taskId}`).slice(0, 16)}`).toString("base64url");
  }
  export function decode(cursor: string, owner: string): string {
    const [taskId, check] = Buffer.from(cursor, "base64url").toString().split(".");
    if (
      !taskId ||
      !check ||
      !ULID_PATTERN.test(taskId) ||
      hash(`${owner}/${taskId}`).slice(0, 16) !== check
    ) {
      throw new VisibleError("input", "cursor.invalid", "Invalid cursor");
    }
    return taskId;
  }
}
