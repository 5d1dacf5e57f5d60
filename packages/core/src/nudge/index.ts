import { createWriteTransaction } from "electrodb";
import * as v from "valibot";
import { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import { commit, pages, TransactionCanceled } from "../dynamo.ts";
import { ConflictError, VisibleError } from "../error.ts";
import { TaskEvent } from "../event/index.ts";
import { store } from "../store.ts";
import { Task } from "../task/index.ts";
import { floorId, newId } from "../util/ulid.ts";
import * as info from "./info.ts";
import * as input from "./input.ts";

/**
 * Steering a running agent. A nudge is stored pending, pushed to the agent's session,
 * taken exactly once at a turn boundary (pending -> consumed, with `nudge.acknowledged`),
 * or expired with `nudge.expired` when its task ends first. None is lost without a word.
 */
export namespace Nudge {
  /**
   * `queue` (the default): the agent takes the nudge at its next turn boundary. `interrupt`: the
   * agent cuts its current turn short to take it now (a lost push falls back to `queue`).
   */
  export const Mode = input.Mode;
  export type Mode = input.Mode;

  export const CreateInput = input.CreateInput;

  export const Info = info.Info;
  export type Info = info.Info;

  export function present(nudge: Info) {
    return {
      nudgeId: nudge.nudgeId,
      taskId: nudge.taskId,
      message: nudge.message,
      mode: nudge.mode,
      status: nudge.status,
      createdAt: new Date(nudge.createdAt).toISOString(),
      consumedAt: nudge.consumedAt === undefined ? undefined : new Date(nudge.consumedAt).toISOString(),
    };
  }

  const entities = (core: Core) => ({
    nudge: store(core).nudge,
    event: store(core).event,
    task: store(core).task,
  });

  /** Stores a pending nudge for the acting user's task: 409 once it has ended, 429 past the limits. */
  export async function create(core: Core, taskId: string, raw: unknown): Promise<Info> {
    const input = v.parse(CreateInput, raw);
    const task = await Task.fromId(core, taskId);
    if (Task.isTerminal(task.status)) {
      throw new ConflictError("task.terminal", `Task is ${task.status}; it takes no more nudges`, {
        reason: "task.terminal",
        status: task.status,
      });
    }
    const now = core.now();
    const { nudgesPerMinute, nudgesPending } = core.config.limits;
    const recent = await store(core)
      .nudge.query.primary({ taskId })
      .gte({ nudgeId: floorId(now - 60_000) })
      .go({ pages: "all", attributes: ["nudgeId"] });
    if (recent.data.length >= nudgesPerMinute) {
      throw new VisibleError(
        "rate_limit",
        "nudge.rate",
        `At most ${nudgesPerMinute} nudges a minute per task`,
        {
          reason: "nudge.rate",
          retryAfterSeconds: 60,
        },
      );
    }
    if ((await pending(core, taskId)).length >= nudgesPending) {
      throw new VisibleError(
        "rate_limit",
        "nudge.pending",
        `At most ${nudgesPending} nudges may wait per task`,
        {
          reason: "nudge.pending",
        },
      );
    }
    const { tenantId, userId } = Actor.user();
    const nudge = {
      taskId,
      nudgeId: newId(now),
      tenantId,
      userId,
      message: input.message,
      mode: input.mode,
      status: "pending" as const,
      createdAt: now,
      expiresAt: Math.floor(now / 1000) + core.config.limits.eventTtlDays * 86_400,
    };
    await store(core).nudge.create(nudge).go({ response: "none" });
    // Pending nudges show on the status comment.
    await Task.touch(core, taskId);
    return serialize(nudge);
  }

  /** A task's pending nudges, oldest first. */
  export const pending = info.pending;

  export const receive = info.receive;

  /**
   * The agent's inbox: takes each pending nudge exactly once (pending -> consumed, with
   * `nudge.acknowledged`). Cancellation is checked before each one, so a cancelled turn
   * never consumes a nudge; those expire with the task instead.
   */
  export async function take(
    core: Core,
    taskId: string,
    cancelled: () => boolean | Promise<boolean>,
  ): Promise<Info[]> {
    const taken: Info[] = [];
    for (const nudge of await pending(core, taskId)) {
      if (await cancelled()) break;
      if (await settle(core, nudge, "consumed"))
        taken.push({ ...nudge, status: "consumed", consumedAt: core.now() });
    }
    return taken;
  }

  /** Expires whatever is still pending once the task has ended. Idempotent. */
  export async function expireAll(core: Core, taskId: string): Promise<number> {
    let expired = 0;
    for (const nudge of await pending(core, taskId)) if (await settle(core, nudge, "expired")) expired++;
    return expired;
  }

  /**
   * Pending -> consumed or expired, with its event, only if still pending. Consuming
   * also requires, in the same transaction, that the task runs and no cancel was
   * requested: a cancelled turn can never take a nudge, whatever the timing.
   */
  async function settle(core: Core, nudge: Info, to: "consumed" | "expired"): Promise<boolean> {
    const type = to === "consumed" ? "nudge.acknowledged" : "nudge.expired";
    try {
      await commit(
        createWriteTransaction(entities(core), ({ nudge: n, event: e, task: t }) => [
          n
            .patch({ taskId: nudge.taskId, nudgeId: nudge.nudgeId })
            .set({ status: to, ...(to === "consumed" ? { consumedAt: core.now() } : {}) })
            .where((a, op) => op.eq(a.status, "pending"))
            .commit(),
          e
            .put(
              TaskEvent.build(core, nudge.taskId, type, {
                nudgeId: nudge.nudgeId,
                message: nudge.message,
                mode: nudge.mode,
              }),
            )
            .commit(),
          ...(to === "consumed"
            ? [
                t
                  .check({ taskId: nudge.taskId })
                  .where((a, op) => `${op.eq(a.status, "RUNNING")} AND ${op.notExists(a.cancelRequestedAt)}`)
                  .commit(),
              ]
            : []),
        ]),
      );
      return true;
    } catch (error) {
      // Someone else settled it, or the task was cancelled or ended: it expires with the task.
      if (error instanceof TransactionCanceled && (error.failed(0) || error.failed(2))) return false;
      throw error;
    }
  }

  /** Every pending nudge, by page, for the reconciler (pending ones are few: this reads no others). */
  export async function* allPending(core: Core): AsyncGenerator<Info[]> {
    const query = store(core).nudge.query.byStatus({ status: "pending" });
    for await (const page of pages((cursor) => query.go({ cursor, limit: 100 }))) yield page.map(serialize);
  }

  export const serialize = info.serialize;
}
