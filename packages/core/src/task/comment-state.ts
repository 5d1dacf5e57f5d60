import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Core } from "../core.ts";
import { isConditionFailed } from "../dynamo.ts";
import { type Info, item, serialize, taskKey } from "./info.ts";

/**
 * The status comment's state, kept in the task item's `github` attribute (its shape is
 * github/state.ts's): plain commands, so the GitHub subscriber loads no ElectroDB.
 */

/**
 * The task and its `github` attribute as stored (the status comment's state, whose shape
 * github/state.ts owns), in one consistent read.
 */
export async function withCommentState(
  core: Core,
  taskId: string,
): Promise<{ task: Info; commentState: unknown } | undefined> {
  const stored = await item(core, taskId);
  if (!stored) return undefined;
  return { task: serialize(stored), commentState: stored.github };
}

/**
 * Replaces the status comment's state if its `seq` is still `seq` (none stored counts as 0);
 * false when someone changed it first. It is written alone and never bumps `rev`.
 */
export async function swapCommentState(
  core: Core,
  taskId: string,
  seq: number,
  next: Record<string, unknown>,
): Promise<boolean> {
  // A compare-and-set on a nested attribute, which ElectroDB's builder cannot name.
  try {
    await core.db.send(
      new UpdateCommand({
        TableName: core.config.tables.tasks,
        Key: taskKey(taskId),
        UpdateExpression: "SET #github = :next",
        ConditionExpression:
          seq === 0
            ? "attribute_exists(#pk) AND (attribute_not_exists(#github) OR attribute_not_exists(#github.#seq) OR #github.#seq = :seq)"
            : "attribute_exists(#pk) AND #github.#seq = :seq",
        ExpressionAttributeNames: { "#github": "github", "#seq": "seq", "#pk": "pk" },
        ExpressionAttributeValues: { ":next": next, ":seq": seq },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}
