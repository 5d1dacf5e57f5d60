import { GetCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import { Actor } from "../actor.ts";
import { ApprovalSettings } from "../approval/rules.ts";
import type { Core } from "../core.ts";
import { notFound } from "../error.ts";
import { logger } from "../log.ts";
import { ULID_PATTERN } from "../util/ulid.ts";
import { TaskStatus } from "./status.ts";

/**
 * What every use case of the Task domain reads: the domain shape and the consistent
 * finders. `Task` (index.ts) re-exports these; the use-case files import them from here.
 */
export const OptionValue = v.union([v.pipe(v.string(), v.maxLength(256)), v.number(), v.boolean()]);

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
  /** What the agent may do without asking; absent (stored before approvals existed) reads as the default. */
  approvals: v.optional(ApprovalSettings),
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

export const TaskId = v.pipe(v.string(), v.regex(ULID_PATTERN, "must be a task id"));

export function serialize(item: unknown): Info {
  return v.parse(Info, item);
}

/**
 * A task item's key, as the `task` entity (task.entity.ts) writes it: ElectroDB lower-cases
 * its key templates. Reads by id are plain GetItems, so a handler that only reads tasks (the
 * WebSocket `$default`) loads no ElectroDB; test/items.test.ts holds the two to the same key.
 */
export const taskKey = (taskId: string) => ({
  pk: `$conveyor#taskid_${taskId}`.toLowerCase(),
  sk: "$task_1",
});

/** A task's item as stored (keys and all), read consistently; undefined if there is none. */
export async function item(core: Core, taskId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await core.db.send(
    new GetCommand({ TableName: core.config.tables.tasks, Key: taskKey(taskId), ConsistentRead: true }),
  );
  return Item;
}

/** A task by id, read consistently, without an ownership check (system use). */
export async function get(core: Core, taskId: string): Promise<Info | undefined> {
  const stored = await item(core, taskId);
  // The schema keeps the task's attributes and drops the keys and ElectroDB's markers.
  return stored ? serialize(stored) : undefined;
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

/** SendMessage; if it still fails the task stays SUBMITTED and the reconciler re-enqueues it. */
export async function enqueue(core: Core, taskId: string) {
  try {
    await core.queue.send(taskId);
  } catch (error) {
    logger.warn("enqueue failed, left for the reconciler", { taskId, error: String(error) });
  }
}
