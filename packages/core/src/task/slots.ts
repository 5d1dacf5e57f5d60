import type { Core } from "../core.ts";
import { expressionAttributes, type TransactItem } from "../dynamo.ts";
import type { Info } from "./info.ts";

/**
 * Every write to a user's slots (the `quota` item, quota.entity.ts: `active` tasks hold a
 * slot, `queued` ones wait for one), each riding in the transaction of the task change that
 * causes it: submit takes a slot or a queue place, a terminal transition releases one, leaving
 * the queue gives up the place (and takes a slot when promoted). Plain updates on exactly the
 * entity's item, its `byUser` index keys included, so the reconciler's scan of every quota
 * finds each user who ever submitted; test/items.test.ts holds them to the entity's item.
 */
export type SlotChange = "take" | "wait" | "release" | "promote" | "leaveQueue";

export function slotWrite(
  core: Core,
  owner: Pick<Info, "tenantId" | "userId">,
  change: SlotChange,
): TransactItem {
  const exists = "attribute_exists(#pk) AND attribute_exists(#sk)";
  const down = (field: string) => `#${field} = (if_not_exists(#${field}, :zero) - :one)`;
  const { set, add, condition } = {
    // Submit upserts the item: a first task creates it.
    take: {
      set: [],
      add: "#active :one",
      condition:
        "(attribute_not_exists(#active) OR #active < :activeLimit) AND (attribute_not_exists(#queued) OR #queued = :zero)",
    },
    wait: {
      set: [],
      add: "#queued :one",
      condition: "attribute_not_exists(#queued) OR #queued < :queuedLimit",
    },
    release: { set: [down("active")], add: undefined, condition: exists },
    promote: {
      set: [down("queued")],
      add: "#active :one",
      condition: `${exists} AND #active < :activeLimit`,
    },
    leaveQueue: { set: [down("queued")], add: undefined, condition: exists },
  }[change];
  const expression = [
    `SET ${[
      ...set,
      "#tenantId = :tenantId, #userId = :userId, #gsi2pk = :gsi2pk, #gsi2sk = :gsi2sk",
      "#__edb_e__ = :entity, #__edb_v__ = :entityVersion",
    ].join(", ")}`,
    ...(add ? [`ADD ${add}`] : []),
  ].join(" ");
  return {
    Update: {
      TableName: core.config.tables.tasks,
      Key: quotaKey(owner.tenantId, owner.userId),
      UpdateExpression: expression,
      ConditionExpression: condition,
      ...expressionAttributes([expression, condition], {
        ":zero": 0,
        ":one": 1,
        ":activeLimit": core.config.limits.activePerUser,
        ":queuedLimit": core.config.limits.queuedPerUser,
        ":tenantId": owner.tenantId,
        ":userId": owner.userId,
        // Every user's quota in one partition of the status index (the entity's `byUser`).
        ":gsi2pk": "$conveyor",
        ":gsi2sk": `$quota_1#tenantid_${owner.tenantId}#userid_${owner.userId}`.toLowerCase(),
        ":entity": "quota",
        ":entityVersion": "1",
      }),
    },
  };
}

/** A user's quota item's key, as the quota entity writes it (ElectroDB lower-cases its templates). */
export const quotaKey = (tenantId: string, userId: string) => ({
  pk: `$conveyor#tenantid_${tenantId}#userid_${userId}`.toLowerCase(),
  sk: "$quota_1",
});
