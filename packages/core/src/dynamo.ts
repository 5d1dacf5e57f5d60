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
  // Numbers come back as numbers, never strings; undefined fields are dropped, not rejected.
  const client = DynamoDBDocumentClient.from(dynamoClient(config), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
  const { tasks, events, nudges, connections } = config.tables;
  return {
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

/** Work a write owes once it has committed, such as enqueueing the task it admitted. */
export type AfterCommit = () => Promise<unknown>;

/**
 * Commits a transaction, then runs its follow-ups, in order. Follow-ups travel with the
 * write (as `afterTx` effects travel with a SQL transaction), so a module never reaches
 * into another mid-transaction and no caller of a use case has to remember them; they
 * never run for a write that failed. Each must be idempotent: a crash between the commit
 * and them leaves them to the reconciler.
 *
 * ElectroDB returns `{ canceled: true }` instead of throwing; that becomes one typed
 * error, and the transaction conflicts DynamoDB asks callers to retry are retried.
 */
export async function commit(
  tx: { go: () => Promise<{ canceled: boolean; data: unknown }> },
  after: AfterCommit[] = [],
) {
  for (let attempt = 0; ; attempt++) {
    const result = await tx.go();
    if (!result.canceled) {
      for (const effect of after) await effect();
      return;
    }
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

/**
 * Every page of a query, fetched as iterated. `go` runs the query from a cursor;
 * `for await (const page of pages((cursor) => query.go({ cursor, limit: 100 })))`.
 */
export async function* pages<T>(
  go: (cursor: string | null) => Promise<{ data: T[]; cursor: string | null }>,
): AsyncGenerator<T[]> {
  let cursor: string | null = null;
  do {
    const page: { data: T[]; cursor: string | null } = await go(cursor);
    yield page.data;
    cursor = page.cursor;
  } while (cursor);
}
