import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import type { Config } from "./config.ts";
import { logger } from "./log.ts";

export function dynamoClient(config: Config) {
  return new DynamoDBClient({
    region: config.region,
    endpoint: config.endpoints.dynamodb,
    credentials: config.credentials,
    maxAttempts: 4,
  });
}

/**
 * The document client every read and write goes through, ElectroDB's entities (store.ts) and
 * the plain commands of the items no handler needs ElectroDB for (tokens, connections).
 */
export function documentClient(config: Config) {
  // Numbers come back as numbers, never strings; undefined fields are dropped, not rejected.
  return DynamoDBDocumentClient.from(dynamoClient(config), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}

/**
 * Every item of one entity a plain Query finds, page by page. Only that entity's items are
 * kept (by ElectroDB's `__edb_e__` marker), as the entity's own query keeps them.
 */
export async function queryAll(
  db: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, "ExclusiveStartKey">,
  entity: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []).filter((item) => item.__edb_e__ === entity));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
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
      // The write stands whatever a follow-up does: a failed one is logged and left to the
      // reconciler, never reported as a failure of what already committed.
      for (const effect of after) {
        await effect().catch((error) =>
          logger.warn("follow-up after commit failed; the reconciler redoes it", { error: String(error) }),
        );
      }
      return;
    }
    const codes = (result.data as { code?: string }[]).map((item) => item.code ?? "None");
    const error = new TransactionCanceled(codes);
    if (!error.retryable || attempt >= 4) throw error;
    await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
  }
}

export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
/** What an ElectroDB entity's `.params<T>()` gives for a transaction's put or update. */
export type TransactPut = NonNullable<TransactItem["Put"]>;
export type TransactUpdate = NonNullable<TransactItem["Update"]>;

/**
 * The names and values a plain command's expressions use: `#name` stands for the attribute
 * `name`, and of `values` only those the expressions mention are sent (DynamoDB refuses
 * unused ones).
 */
export function expressionAttributes(expressions: string[], values: Record<string, unknown>) {
  const text = expressions.join(" ");
  const used = new Set(text.match(/:\w+/g));
  return {
    ExpressionAttributeNames: Object.fromEntries((text.match(/#\w+/g) ?? []).map((n) => [n, n.slice(1)])),
    ExpressionAttributeValues: Object.fromEntries(Object.entries(values).filter(([k]) => used.has(k))),
  };
}

/**
 * A transaction of plain items, in the shape `commit` takes (ElectroDB's): a cancellation
 * answers `{ canceled: true }` with each item's reason code instead of throwing.
 */
export function transaction(db: DynamoDBDocumentClient, items: TransactWriteCommandInput["TransactItems"]) {
  return {
    async go(): Promise<{ canceled: boolean; data: { code: string }[] }> {
      try {
        await db.send(new TransactWriteCommand({ TransactItems: items }));
        return { canceled: false, data: [] };
      } catch (error) {
        const reasons = (error as { name?: string; CancellationReasons?: { Code?: string }[] })
          .CancellationReasons;
        if ((error as { name?: string }).name !== "TransactionCanceledException" || !reasons) throw error;
        return { canceled: true, data: reasons.map((r) => ({ code: r.Code ?? "None" })) };
      }
    },
  };
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
