import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ApiTokenEntity } from "./auth/auth.entity.ts";
import type { Config } from "./config.ts";
import { TaskEventEntity } from "./event/event.entity.ts";
import { IdempotencyEntity } from "./idempotency/idempotency.entity.ts";
import { NudgeEntity } from "./nudge/nudge.entity.ts";
import { QuotaEntity } from "./quota/quota.entity.ts";
import { ConnectionEntity, SubscriptionEntity } from "./realtime/realtime.entity.ts";
import { TaskEntity } from "./task/task.entity.ts";

/** The DynamoDB client and every entity, bound to the configured tables. Built once per Config. */
export type Store = ReturnType<typeof createStore>;

export function dynamoClient(config: Config) {
  return new DynamoDBClient({
    region: config.region,
    endpoint: config.endpoints.dynamodb,
    credentials: config.credentials,
    maxAttempts: 4,
  });
}

export function createStore(config: Config) {
  const raw = dynamoClient(config);
  // Numbers come back as numbers, never strings; undefined fields are dropped, not rejected.
  const client = DynamoDBDocumentClient.from(raw, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
  const { tasks, events, nudges, connections } = config.tables;
  return {
    raw,
    client,
    task: TaskEntity(client, tasks),
    quota: QuotaEntity(client, tasks),
    idempotency: IdempotencyEntity(client, tasks),
    apiToken: ApiTokenEntity(client, tasks),
    event: TaskEventEntity(client, events),
    nudge: NudgeEntity(client, nudges),
    connection: ConnectionEntity(client, connections),
    subscription: SubscriptionEntity(client, connections),
  };
}

/** A rejected transaction: each item's cancellation code, in the order the items were written. */
export class TransactionCanceled extends Error {
  constructor(readonly codes: string[]) {
    super(`Transaction canceled: ${codes.join(", ")}`);
    this.name = "TransactionCanceled";
  }
  /** True when item `index` failed its condition (rather than a conflict or nothing). */
  failed(index: number) {
    return this.codes[index] === "ConditionalCheckFailed";
  }
  get retryable() {
    return this.codes.some((code) => code === "TransactionConflict" || code === "ThrottlingError");
  }
}

/**
 * ElectroDB returns `{ canceled: true }` instead of throwing; turn that into one
 * typed error, and retry the transaction conflicts DynamoDB asks callers to retry.
 */
export async function commit(tx: { go: () => Promise<{ canceled: boolean; data: unknown }> }) {
  for (let attempt = 0; ; attempt++) {
    const result = await tx.go();
    if (!result.canceled) return;
    const codes = (result.data as { code?: string }[]).map((item) => item.code ?? "None");
    const error = new TransactionCanceled(codes);
    if (!error.retryable || attempt >= 4) throw error;
    await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
  }
}

/** A single-item write whose condition did not hold (ElectroDB wraps the SDK's error in `cause`). */
export function isConditionFailed(error: unknown): boolean {
  for (let e = error as { name?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.name === "ConditionalCheckFailedException") return true;
    if (e.cause === e) break;
  }
  return false;
}
