import { type TableName, tables } from "../packages/core/src/tables.ts";

/**
 * The four tables, from the same definitions core's repositories and the local stack use
 * (`packages/core/src/tables.ts`: keys, indexes, streams, TTL). Production tables also refuse
 * deletion; with the app's `retain` removal they outlive even a forced `sst remove`.
 */
function table(name: TableName) {
  const { fields, primaryIndex, ...rest } = tables[name];
  return new sst.aws.Dynamo(name, {
    fields: { ...fields },
    primaryIndex: { ...primaryIndex },
    ...rest,
    deletionProtection: $app.stage === "production",
  });
}

export const tasks = table("Tasks");
/** NEW_IMAGE stream: the fan-out and the GitHub status comment read it (infra/streams.ts). */
export const events = table("Events");
/** NEW_AND_OLD_IMAGES stream: new nudges are pushed to their agents (infra/streams.ts). */
export const nudges = table("Nudges");
export const connections = table("Connections");

/** By link name, for `handler()` (infra/function.ts). */
export const storage = { Tasks: tasks, Events: events, Nudges: nudges, Connections: connections };
