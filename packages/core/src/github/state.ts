import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import type { Core } from "../core.ts";
import { isConditionFailed } from "../dynamo.ts";

/**
 * What the Task item's `github` attribute holds: where the comment is, what was last
 * written to it, and who is writing it now. Every change is a compare-and-set on `seq`,
 * so two writers (the stream subscriber and the reconciler) never both believe they
 * wrote last. It is written alone, never bumping the task's `rev`.
 */
export const CommentState = v.object({
  commentId: v.optional(v.number()),
  /** The task `rev` of the last render written (or found identical). */
  renderedRev: v.optional(v.number(), 0),
  /** The newest event that render saw. */
  renderedEventId: v.optional(v.string()),
  renderedAt: v.optional(v.number()),
  bodyHash: v.optional(v.string()),
  significantHash: v.optional(v.string()),
  /** A permanent GitHub refusal (no access, gone PR): retried only now and then, and at the end. */
  failure: v.optional(v.object({ status: v.number(), message: v.string(), at: v.number() })),
  seq: v.optional(v.number(), 0),
  /** A writer holds the comment until leaseUntil (epoch ms). */
  lease: v.optional(v.string()),
  leaseUntil: v.optional(v.number()),
});
export type CommentState = v.InferOutput<typeof CommentState>;

/** The stored state; anything unreadable counts as none (the comment is then found by its marker). */
export function parseState(raw: unknown): CommentState {
  const parsed = v.safeParse(CommentState, raw ?? {});
  return parsed.success ? parsed.output : { renderedRev: 0, seq: 0 };
}

/**
 * Replaces the state if nobody changed it since `previous` was read; false otherwise.
 * The key comes from the entity, so no key string is built by hand.
 */
export async function compareAndSet(
  core: Core,
  taskId: string,
  previous: CommentState,
  next: Omit<CommentState, "seq">,
): Promise<boolean> {
  const { Key, TableName } = core.store.task.get({ taskId }).params() as {
    Key: Record<string, unknown>;
    TableName: string;
  };
  const pk = Object.keys(Key)[0]!;
  try {
    await core.store.client.send(
      new UpdateCommand({
        TableName,
        Key,
        UpdateExpression: "SET #github = :next",
        ConditionExpression:
          previous.seq === 0
            ? "attribute_exists(#pk) AND (attribute_not_exists(#github) OR attribute_not_exists(#github.#seq) OR #github.#seq = :seq)"
            : "attribute_exists(#pk) AND #github.#seq = :seq",
        ExpressionAttributeNames: { "#github": "github", "#seq": "seq", "#pk": pk },
        ExpressionAttributeValues: {
          ":next": { ...next, seq: previous.seq + 1 },
          ":seq": previous.seq,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}
