import * as v from "valibot";
import type { Core } from "../core.ts";
import { commit, queryAll, TransactionCanceled, transaction } from "../dynamo.ts";
import { TaskEvent } from "../event/index.ts";
import { logger } from "../log.ts";
import { get as getTask } from "../task/info.ts";
import { Mode } from "./input.ts";

/**
 * A nudge as stored, and what the Nudges stream subscriber does with a new one (`receive`),
 * apart from the rest of steering (index.ts): it writes the `nudge` entity's item
 * (nudge.entity.ts) with plain commands, so that handler loads no ElectroDB;
 * test/items.test.ts holds the two writes to the same item.
 */
export const Info = v.object({
  taskId: v.string(),
  nudgeId: v.string(),
  message: v.string(),
  // Nudges stored before modes existed were all queued.
  mode: v.optional(Mode, "queue"),
  status: v.picklist(["pending", "consumed", "expired"]),
  createdAt: v.number(),
  consumedAt: v.optional(v.number()),
  receivedAt: v.optional(v.number()),
});
export type Info = v.InferOutput<typeof Info>;

export function serialize(item: unknown): Info {
  return v.parse(Info, item);
}

/** A task's pending nudges, oldest first (the entity's `byStatus` index, gsi1). */
export async function pending(core: Core, taskId: string): Promise<Info[]> {
  const items = await queryAll(
    core.db,
    {
      TableName: core.config.tables.nudges,
      IndexName: "gsi1",
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :sk)",
      ExpressionAttributeNames: { "#pk": "gsi1pk", "#sk": "gsi1sk" },
      ExpressionAttributeValues: {
        ":pk": "$conveyor#status_pending",
        ":sk": `$nudge_1#taskid_${taskId}#nudgeid_`.toLowerCase(),
      },
    },
    "nudge",
  );
  return items.map(serialize).sort((a, b) => (a.nudgeId < b.nudgeId ? -1 : 1));
}

/**
 * A new nudge, from the Nudges stream: recorded once with `nudge.received` (a redelivered
 * insert is a "duplicate"), then pushed to its agent if the task is running (an invoke on
 * any other session would boot a fresh instance). A lost push is fine: the agent also checks
 * its inbox every turn.
 */
export async function receive(core: Core, nudge: Info): Promise<"duplicate" | "stored" | "pushed"> {
  const received = TaskEvent.build(core, nudge.taskId, "nudge.received", {
    nudgeId: nudge.nudgeId,
    message: nudge.message,
    mode: nudge.mode,
  });
  try {
    await commit(
      transaction(core.db, [
        {
          Update: {
            TableName: core.config.tables.nudges,
            Key: { pk: nudge.taskId, sk: nudge.nudgeId },
            UpdateExpression: "SET #receivedAt = :now",
            ConditionExpression:
              "attribute_exists(#pk) AND attribute_exists(#sk) AND attribute_not_exists(#receivedAt)",
            ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk", "#receivedAt": "receivedAt" },
            ExpressionAttributeValues: { ":now": core.now() },
          },
        },
        { Put: { TableName: core.config.tables.events, Item: TaskEvent.item(received) } },
      ]),
    );
  } catch (error) {
    if (error instanceof TransactionCanceled && error.failed(0)) return "duplicate";
    throw error;
  }
  const task = await getTask(core, nudge.taskId);
  if (task?.status !== "RUNNING") return "stored";
  try {
    await core.runtime.invoke(task.runtimeSessionId, {
      kind: "nudge",
      taskId: task.taskId,
      nudgeId: nudge.nudgeId,
      mode: nudge.mode,
    });
    return "pushed";
  } catch (error) {
    logger.warn("nudge push failed; the agent's inbox still has it", {
      taskId: task.taskId,
      error: String(error),
    });
    return "stored";
  }
}
