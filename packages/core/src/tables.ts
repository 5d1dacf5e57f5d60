/**
 * The four tables, written once. Side-effect free: `infra/storage.ts` passes these
 * straight to `sst.aws.Dynamo`, and the local stack turns them into CreateTable calls,
 * so both create identical tables.
 */
export interface TableDefinition {
  fields: Record<string, "string" | "number">;
  primaryIndex: { hashKey: string; rangeKey?: string };
  globalIndexes?: Record<string, { hashKey: string; rangeKey?: string }>;
  stream?: "keys-only" | "new-image" | "old-image" | "new-and-old-images";
  /** Name of the numeric epoch-seconds attribute DynamoDB expires items by. */
  ttl?: string;
}

export const tables = {
  Tasks: {
    fields: {
      pk: "string",
      sk: "string",
      gsi1pk: "string",
      gsi1sk: "string",
      gsi2pk: "string",
      gsi2sk: "string",
      gsi3pk: "string",
      gsi3sk: "string",
      gsi4pk: "string",
      gsi4sk: "string",
    },
    primaryIndex: { hashKey: "pk", rangeKey: "sk" },
    globalIndexes: {
      // by user, newest first
      gsi1: { hashKey: "gsi1pk", rangeKey: "gsi1sk" },
      // by status, for the reconciler
      gsi2: { hashKey: "gsi2pk", rangeKey: "gsi2sk" },
      // by repo + PR
      gsi3: { hashKey: "gsi3pk", rangeKey: "gsi3sk" },
      // by user + status: list filters and QUEUED promotion oldest-first
      gsi4: { hashKey: "gsi4pk", rangeKey: "gsi4sk" },
    },
    ttl: "expiresAt",
  },
  Events: {
    fields: { pk: "string", sk: "string" },
    primaryIndex: { hashKey: "pk", rangeKey: "sk" },
    stream: "new-image",
    ttl: "expiresAt",
  },
  Nudges: {
    fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
    primaryIndex: { hashKey: "pk", rangeKey: "sk" },
    // by status: the reconciler finds pending nudges without reading the rest
    globalIndexes: { gsi1: { hashKey: "gsi1pk", rangeKey: "gsi1sk" } },
    stream: "new-and-old-images",
    ttl: "expiresAt",
  },
  Connections: {
    fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
    primaryIndex: { hashKey: "pk", rangeKey: "sk" },
    globalIndexes: { gsi1: { hashKey: "gsi1pk", rangeKey: "gsi1sk" } },
    ttl: "expiresAt",
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof tables;

/**
 * How each stream consumer reads its table's stream, written once for infra's event
 * source mappings and the local stream poller. Retries are bounded so one poison record
 * holds its shard back for a while, not forever; bisecting narrows a failing batch to it.
 */
export const streamSubscriptions = {
  /** Events -> WebSocket watchers. */
  EventsFanout: {
    table: "Events",
    handler: "stream/fanout",
    filters: [{ eventName: ["INSERT"] }],
    startingPosition: "TRIM_HORIZON",
    batchSize: 100,
    maximumBatchingWindowInSeconds: 0,
    maximumRetryAttempts: 10,
    bisectBatchOnFunctionError: true,
    maximumRecordAgeSeconds: 3_600,
  },
  /** New nudges -> `nudge.received` and a push to the running agent. */
  NudgesPush: {
    table: "Nudges",
    handler: "stream/nudge",
    filters: [{ eventName: ["INSERT"] }],
    startingPosition: "TRIM_HORIZON",
    batchSize: 25,
    maximumBatchingWindowInSeconds: 0,
    maximumRetryAttempts: 10,
    bisectBatchOnFunctionError: true,
    maximumRecordAgeSeconds: 3_600,
  },
  /**
   * Events -> the GitHub status comment, a second reader of the same stream (DynamoDB allows
   * two per shard) so waiting out a GitHub rate limit never delays watchers. The batching
   * window coalesces: a task's events of the last 3 s become one render of its latest
   * snapshot. A failure is GitHub's, not a poison record's, so batches are not bisected;
   * retries are few and what they give up on, the reconciler re-renders (renderedRev < rev).
   */
  EventsGithub: {
    table: "Events",
    handler: "stream/github",
    filters: [{ eventName: ["INSERT"] }],
    startingPosition: "TRIM_HORIZON",
    batchSize: 1_000,
    maximumBatchingWindowInSeconds: 3,
    maximumRetryAttempts: 5,
    bisectBatchOnFunctionError: false,
    maximumRecordAgeSeconds: 3_600,
  },
} as const;
