import { setTimeout as delay } from "node:timers/promises";
import type { _Record } from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBRecord } from "aws-lambda";
import { matches } from "./stream-filter.ts";
import { batchInfo, createdAt, toLambdaRecord } from "./stream-record.ts";
import type { StreamPollerOptions, StreamPollerStats } from "./streams-poller.ts";

/** Lambda's backoff between retries is seconds long; locally it is short so tests stay fast. */
export const backoff = (attempt: number) => Math.min(1_000, 100 * 2 ** Math.max(0, attempt - 1));

type DeliveryOptions = Pick<
  StreamPollerOptions,
  "handler" | "region" | "tableName" | "bisectBatchOnFunctionError" | "filters"
> & {
  maxRetries: number;
  /** Negative: records never expire. */
  maxAgeMs: number;
  stats: StreamPollerStats;
  signal: AbortSignal;
  log: (entry: Record<string, unknown>) => void;
};

/**
 * What Lambda does with one page of a shard: shape the records, drop those no filter
 * matches, discard expired ones, invoke the handler, honour its partial batch response
 * (retry from the lowest reported sequence number), bisect, and count retries.
 */
export function streamDelivery(opts: DeliveryOptions) {
  const { signal, stats, log, maxRetries, maxAgeMs } = opts;
  const filters = opts.filters ?? [];
  const sleep = (ms: number) => delay(ms, undefined, { signal }).catch(() => undefined);

  /** Hands one page of a shard to the handler until every record is done with; false if stopped first. */
  async function deliver(shardId: string, streamArn: string, page: _Record[], fetchedAt: number) {
    const records = page.map((r) => toLambdaRecord(r, streamArn, opts.region));
    const matching =
      filters.length === 0 ? records : records.filter((r) => filters.some((f) => matches(f, r)));
    stats.filtered += records.length - matching.length;
    // Batches still to deliver, in order; bisecting splits the head into two.
    const queue: DynamoDBRecord[][] = matching.length > 0 ? [matching] : [];
    let failures = 0;
    while (queue.length > 0) {
      if (signal.aborted) return false;
      let batch = queue[0]!;
      if (maxAgeMs >= 0) {
        const now = Date.now();
        const expired = batch.filter((r) => now - createdAt(r, fetchedAt) > maxAgeMs);
        if (expired.length > 0) {
          discard(shardId, streamArn, expired, "record too old");
          batch = batch.filter((r) => !expired.includes(r));
          queue[0] = batch;
        }
      }
      if (batch.length === 0) {
        queue.shift();
        continue;
      }
      stats.batches++;
      const failure = await invoke(batch);
      if (!failure) {
        stats.records += batch.length;
        queue.shift();
        failures = 0;
        continue;
      }
      // Records before the lowest reported failure are done; the retry starts at it.
      if (failure.at > 0) {
        stats.records += failure.at;
        batch = batch.slice(failure.at);
        queue[0] = batch;
        failures = 0;
      }
      if (signal.aborted) return false;
      if (opts.bisectBatchOnFunctionError && batch.length > 1) {
        // A reported record is split off alone, an error halves the batch; a split is not a counted retry.
        const cut = failure.reported ? 1 : Math.ceil(batch.length / 2);
        queue.splice(0, 1, batch.slice(0, cut), batch.slice(cut));
        failures = 0;
      } else if (maxRetries >= 0 && failures + 1 > maxRetries) {
        // Lambda hands the whole failing batch to the on-failure destination and moves on.
        discard(shardId, streamArn, batch, "retries exhausted");
        queue.shift();
        failures = 0;
        continue;
      } else {
        failures++;
      }
      stats.retries++;
      await sleep(backoff(failures));
    }
    return !signal.aborted;
  }

  /** Undefined on success, else where the retry starts (0 for the whole batch) and whether the handler said so. */
  async function invoke(batch: DynamoDBRecord[]): Promise<{ at: number; reported: boolean } | undefined> {
    const whole = { at: 0, reported: false };
    let response: DynamoDBBatchResponse | undefined;
    try {
      response = await opts.handler({ Records: batch });
    } catch (error) {
      log({ level: "error", msg: "stream handler threw; whole batch retried", error: String(error) });
      return whole;
    }
    const failures: unknown = response?.batchItemFailures;
    if (failures === undefined || failures === null) return undefined;
    if (!Array.isArray(failures)) {
      log({
        level: "error",
        msg: "stream handler answered a malformed batchItemFailures; whole batch retried",
      });
      return whole;
    }
    if (failures.length === 0) return undefined;
    let lowest = batch.length;
    for (const failure of failures) {
      const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      const index =
        typeof id === "string" && id !== "" ? batch.findIndex((r) => r.dynamodb?.SequenceNumber === id) : -1;
      // An empty, missing or unknown identifier fails the whole batch, as Lambda does.
      if (index < 0) {
        log({
          level: "error",
          msg: "stream handler reported an unknown itemIdentifier; whole batch retried",
          id,
        });
        return whole;
      }
      lowest = Math.min(lowest, index);
    }
    return { at: lowest, reported: true };
  }

  /** What an on-failure destination would receive (the batch's coordinates), plus the keys, for the log. */
  function discard(shardId: string, streamArn: string, records: DynamoDBRecord[], reason: string) {
    stats.discarded += records.length;
    log({
      level: "error",
      msg: "stream records discarded",
      reason,
      table: opts.tableName,
      DDBStreamBatchInfo: batchInfo(records, shardId, streamArn),
      records: records.map((r) => ({ sequenceNumber: r.dynamodb?.SequenceNumber, keys: r.dynamodb?.Keys })),
    });
  }

  return deliver;
}
