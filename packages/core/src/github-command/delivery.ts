import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Core } from "../core.ts";

/**
 * How long a delivery id is remembered. GitHub lets a delivery be redelivered for 3 days;
 * commands older than that are refused by their comment's age (handle.ts), so a replay after
 * the id is forgotten does nothing either.
 */
export const DELIVERY_TTL_S = 8 * 24 * 3600;

const deliveryKey = (deliveryId: string) => ({
  pk: `$conveyor#githubdelivery_${deliveryId.toLowerCase()}`,
  sk: "$githubdelivery_1",
});

/**
 * Records a delivery once (a conditional put): true for the first claim, false for a
 * redelivery or a concurrent duplicate. The table's TTL forgets it after DELIVERY_TTL_S.
 */
export async function claim(core: Core, deliveryId: string, event: string): Promise<boolean> {
  try {
    await core.db.send(
      new PutCommand({
        TableName: core.config.tables.tasks,
        Item: {
          ...deliveryKey(deliveryId),
          deliveryId,
          event,
          receivedAt: core.now(),
          expiresAt: Math.floor(core.now() / 1_000) + DELIVERY_TTL_S,
          __edb_e__: "githubdelivery",
          __edb_v__: "1",
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === "ConditionalCheckFailedException") return false;
    throw error;
  }
}

/** Forgets a delivery whose handling failed, so GitHub's redelivery (or a manual one) tries again. */
export async function release(core: Core, deliveryId: string): Promise<void> {
  await core.db.send(
    new DeleteCommand({ TableName: core.config.tables.tasks, Key: deliveryKey(deliveryId) }),
  );
}
