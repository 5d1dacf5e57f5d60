import { createHash } from "node:crypto";
import * as v from "valibot";
import { Actor } from "../actor.ts";
import { AgentOptions } from "../agent/options.ts";
import { ApprovalSettings, DEFAULT_SETTINGS } from "../approval/rules.ts";
import type { Core } from "../core.ts";
import { commit, TransactionCanceled, type TransactPut, transaction } from "../dynamo.ts";
import { ConflictError, VisibleError } from "../error.ts";
import { TaskEvent } from "../event/index.ts";
import { sessionIdFor } from "../runtime/port.ts";
import { store } from "../store.ts";
import { newId } from "../util/ulid.ts";
import { enqueue, get, type Info } from "./info.ts";
import { promoteNext } from "./lifecycle.ts";
import { slotWrite } from "./slots.ts";
import type { TaskStatus } from "./status.ts";

const Repo = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, "must be owner/name"),
);

/** The body of `POST /v1/tasks`. Unknown keys are refused. */
export const SubmitInput = v.strictObject({
  repo: Repo,
  description: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(10_000)),
  prNumber: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  issueNumber: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  maxTurns: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(500)), 100),
  maxBudgetUsd: v.optional(v.pipe(v.number(), v.minValue(0.01), v.maxValue(100)), 10),
  options: v.optional(AgentOptions.Input, {}),
  /** What the agent may do without asking (default: ask before risky actions, 300 s to answer). */
  approvals: v.optional(ApprovalSettings, DEFAULT_SETTINGS),
});
export type SubmitInput = v.InferInput<typeof SubmitInput>;

export const IdempotencyKey = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(255),
  v.regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
);

/**
 * Submits a task for the acting user: one transaction puts the task, takes a
 * slot (or a queue place), records the Idempotency-Key and appends
 * `task.submitted`; then the task is enqueued. A repeated key with the same
 * body returns the original task with `replayed: true`.
 */
export async function submit(
  core: Core,
  raw: unknown,
  opts: { idempotencyKey?: string; source?: Info["source"] } = {},
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
      const quota = await store(core).quota.get({ tenantId, userId }).go({ consistent: true });
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
      approvals: input.approvals,
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
        transaction(core.db, [
          {
            Put: store(core)
              .task.create({ ...task, target })
              .params(),
          },
          slotWrite(core, task, admit ? "take" : "wait"), // index 1: a slot, or a queue place
          ...(key
            ? [
                {
                  Put: store(core)
                    .idempotency.put({
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
                    .params<TransactPut>(),
                },
              ]
            : []),
          TaskEvent.put(core, event),
        ]),
        // Admitted: enqueue it. Queued: a slot may have freed meanwhile, so look again.
        [admit ? () => enqueue(core, taskId) : () => promoteNext(core, tenantId, userId)],
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceled)) throw error;
      // No free slot (or someone is queued): read the quota and queue. The same key raced in: replay.
      if (error.failed(1)) admit = false;
      if (error.failed(1) || error.failed(2)) continue;
      throw error;
    }
    return { task, replayed: false };
  }
  throw new ConflictError("task.busy", "Too many concurrent submissions; retry");
}

async function findReplay(core: Core, tenantId: string, userId: string, key: string, bodyHash: string) {
  const record = await store(core).idempotency.get({ tenantId, userId, key }).go({ consistent: true });
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

export const hash = (text: string) => createHash("sha256").update(text).digest("hex");
