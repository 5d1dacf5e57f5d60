import { setTimeout as delay } from "node:timers/promises";
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { backoff, streamDelivery } from "./stream-delivery.ts";
import { validatePattern } from "./stream-filter.ts";

export interface StreamPollerOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The stream ARN is resolved from the table (DescribeTable → LatestStreamArn). */
  tableName: string;
  handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;
  /** Where shards present at start begin; shards found later always start at TRIM_HORIZON. Default TRIM_HORIZON. */
  startingPosition?: "TRIM_HORIZON" | "LATEST";
  /** Records per invocation at most. Default 100. */
  batchSize?: number;
  /**
   * How long to gather records before invoking, unless batchSize is reached first (Lambda's
   * MaximumBatchingWindowInSeconds; fractions allowed here, for tests). Default 0: at once.
   */
  maximumBatchingWindowInSeconds?: number;
  /**
   * Wait before the next GetRecords after an empty one. Default 250 ms: Lambda polls each shard
   * about four times a second, so local latencies predict the cloud's. Only tests go faster.
   */
  pollIntervalMs?: number;
  /** Lambda event filter patterns, ORed; records that match none are skipped (checkpointed, never delivered). */
  filters?: Record<string, unknown>[];
  /** Retries of a failed batch before it is discarded; -1 (default) retries until the record expires. */
  maximumRetryAttempts?: number;
  /** Split a failing batch (at the reported record, else in halves) instead of counting a retry. Default false. */
  bisectBatchOnFunctionError?: boolean;
  /** Records older than this are discarded unread; -1 (default) keeps them. */
  maximumRecordAgeSeconds?: number;
  /** How often DescribeStream looks for new shards (children of a closed shard). Default 1 s. */
  discoverIntervalMs?: number;
  log?: (entry: Record<string, unknown>) => void;
  /** Test hooks: a Streams client (a fake, in unit tests) and the stream ARN, which skips DescribeTable. */
  streams?: DynamoDBStreamsClient;
  streamArn?: string;
}

export interface StreamPollerStats {
  /** Handler invocations. */
  batches: number;
  /** Records the handler processed successfully. */
  records: number;
  /** Invocations that failed and were retried (or bisected). */
  retries: number;
  /** Records dropped after retries ran out or because they were too old. */
  discarded: number;
  /** Records that matched no filter. */
  filtered: number;
}

interface ShardState {
  id: string;
  parentId?: string;
  /** Where to start without a checkpoint. */
  start: "TRIM_HORIZON" | "LATEST";
  /** Sequence number of the last record done with (delivered, filtered or discarded). */
  checkpoint?: string;
  /** Closed and read to its end: its children may start. */
  done: boolean;
  running: boolean;
}

/**
 * A DynamoDB Streams event source mapping, emulated: every shard read in order with one
 * batch in flight per shard, parents finished before their children, real
 * `DynamoDBStreamEvent` records, event filters, Lambda's partial batch response
 * (retry from the lowest reported sequence number), bisect, bounded retries and record age.
 * Checkpoints live in memory, so a restarted poller begins again at `startingPosition`.
 *
 * @example
 * const poller = startStreamPoller({ endpoint, region, credentials, tableName: "Events",
 *   filters: [{ eventName: ["INSERT"] }], handler: (event) => fanout(event) });
 * await poller.stop();
 */
export function startStreamPoller(opts: StreamPollerOptions) {
  const log = opts.log ?? (() => undefined);
  const batchSize = opts.batchSize ?? 100;
  const pollIntervalMs = opts.pollIntervalMs ?? 250;
  const windowMs = (opts.maximumBatchingWindowInSeconds ?? 0) * 1_000;
  for (const pattern of opts.filters ?? []) validatePattern(pattern);
  const streams =
    opts.streams ??
    new DynamoDBStreamsClient({
      endpoint: opts.endpoint,
      region: opts.region,
      credentials: opts.credentials,
    });
  const controller = new AbortController();
  const { signal } = controller;
  const shards = new Map<string, ShardState>();
  const workers = new Set<Promise<void>>();
  const stats: StreamPollerStats = { batches: 0, records: 0, retries: 0, discarded: 0, filtered: 0 };
  let streamArn = opts.streamArn ?? "";
  const sleep = (ms: number) => delay(ms, undefined, { signal }).catch(() => undefined);
  const deliver = streamDelivery({
    ...opts,
    maxRetries: opts.maximumRetryAttempts ?? -1,
    maxAgeMs: (opts.maximumRecordAgeSeconds ?? -1) * 1_000,
    stats,
    signal,
    log,
  });

  async function resolveStreamArn() {
    const client = new DynamoDBClient({
      endpoint: opts.endpoint,
      region: opts.region,
      credentials: opts.credentials,
    });
    try {
      const table = await client.send(new DescribeTableCommand({ TableName: opts.tableName }), {
        abortSignal: signal,
      });
      const arn = table.Table?.LatestStreamArn;
      if (!arn) throw new Error(`Table ${opts.tableName} has no stream`);
      return arn;
    } finally {
      client.destroy();
    }
  }

  /** Adds the shards DescribeStream lists that are new; `initial` applies the starting position. */
  async function discover(initial: boolean) {
    const listed = new Set<string>();
    let exclusiveStartShardId: string | undefined;
    do {
      const page = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
        { abortSignal: signal },
      );
      for (const shard of page.StreamDescription?.Shards ?? []) {
        if (!shard.ShardId) continue;
        listed.add(shard.ShardId);
        if (shards.has(shard.ShardId)) continue;
        const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
        // A shard born after we started holds records nobody has read: always from its start.
        const start = initial ? (opts.startingPosition ?? "TRIM_HORIZON") : "TRIM_HORIZON";
        shards.set(shard.ShardId, {
          id: shard.ShardId,
          parentId: shard.ParentShardId,
          start,
          // At LATEST, a shard already closed has nothing new to give.
          done: start === "LATEST" && closed,
          running: false,
        });
      }
      exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    // Trimmed shards leave DescribeStream; forgetting the finished ones frees their children.
    for (const [id, shard] of shards) if (shard.done && !listed.has(id)) shards.delete(id);
  }

  /** Starts a reader for every shard whose parent (if still known) is finished. */
  function schedule() {
    if (signal.aborted) return;
    for (const shard of shards.values()) {
      if (shard.done || shard.running) continue;
      const parent = shard.parentId ? shards.get(shard.parentId) : undefined;
      if (parent && !parent.done) continue;
      shard.running = true;
      const worker: Promise<void> = readShard(shard)
        .catch(async (error) => {
          log({ level: "error", msg: "stream shard reader failed", shardId: shard.id, error: String(error) });
          // Restarted by schedule() below: not in a tight loop if the failure repeats.
          await sleep(1_000);
        })
        .finally(() => {
          shard.running = false;
          workers.delete(worker);
          if (shard.done) log({ level: "debug", msg: "stream shard finished", shardId: shard.id });
          schedule();
        });
      workers.add(worker);
    }
  }

  async function iterator(shard: ShardState): Promise<string | undefined> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      const input: GetShardIteratorCommandInput = shard.checkpoint
        ? {
            StreamArn: streamArn,
            ShardId: shard.id,
            ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
            SequenceNumber: shard.checkpoint,
          }
        : { StreamArn: streamArn, ShardId: shard.id, ShardIteratorType: shard.start };
      try {
        const answer = await streams.send(new GetShardIteratorCommand(input), { abortSignal: signal });
        if (!answer.ShardIterator) shard.done = true;
        return answer.ShardIterator;
      } catch (error) {
        if (signal.aborted) return undefined;
        const name = (error as Error).name;
        if (name === "TrimmedDataAccessException" && shard.checkpoint) {
          log({ level: "error", msg: "stream checkpoint trimmed; records lost", shardId: shard.id });
          shard.checkpoint = undefined;
          shard.start = "TRIM_HORIZON";
          continue;
        }
        if (name === "ResourceNotFoundException") {
          log({ level: "warn", msg: "stream shard gone", shardId: shard.id });
          shard.done = true;
          return undefined;
        }
        log({ level: "warn", msg: "GetShardIterator failed", shardId: shard.id, error: String(error) });
        await sleep(backoff(attempt));
      }
    }
    return undefined;
  }

  async function readShard(shard: ShardState) {
    let current = await iterator(shard);
    let failures = 0;
    // Records held back for the batching window, and when the first of them was read.
    let gathered: _Record[] = [];
    let firstAt = 0;
    while (current && !signal.aborted) {
      let page: Awaited<ReturnType<typeof getRecords>>;
      try {
        page = await getRecords(current, batchSize - gathered.length);
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        const name = (error as Error).name;
        if (name === "ExpiredIteratorException" || name === "TrimmedDataAccessException") {
          // The new iterator starts at the checkpoint: what was gathered comes again.
          gathered = [];
          current = await iterator(shard);
          continue;
        }
        log({ level: "warn", msg: "GetRecords failed", shardId: shard.id, error: String(error) });
        await sleep(backoff(++failures));
        continue;
      }
      const records = page.Records ?? [];
      if (records.length > 0 && gathered.length === 0) firstAt = Date.now();
      gathered.push(...records);
      // No next iterator: the shard is closed and read to its end.
      const closed = !page.NextShardIterator;
      const due =
        gathered.length > 0 && (closed || gathered.length >= batchSize || Date.now() - firstAt >= windowMs);
      if (due) {
        const finished = await deliver(shard.id, streamArn, gathered, Date.now());
        if (!finished) return;
        shard.checkpoint = gathered.at(-1)?.dynamodb?.SequenceNumber ?? shard.checkpoint;
        gathered = [];
      }
      if (closed) {
        shard.done = true;
        return;
      }
      current = page.NextShardIterator;
      if (gathered.length > 0)
        await sleep(Math.max(0, Math.min(pollIntervalMs, firstAt + windowMs - Date.now())));
      else if (records.length === 0) await sleep(pollIntervalMs);
    }
  }

  function getRecords(shardIterator: string, limit: number) {
    return streams.send(new GetRecordsCommand({ ShardIterator: shardIterator, Limit: limit }), {
      abortSignal: signal,
    });
  }

  async function main() {
    for (let attempt = 1; !streamArn && !signal.aborted; attempt++) {
      try {
        streamArn = await resolveStreamArn();
      } catch (error) {
        if (signal.aborted) return;
        log({ level: "error", msg: "stream not found", table: opts.tableName, error: String(error) });
        await sleep(Math.min(5_000, backoff(attempt) * 2));
      }
    }
    let initial = true;
    while (!signal.aborted) {
      try {
        await discover(initial);
        initial = false;
        schedule();
      } catch (error) {
        if (signal.aborted) return;
        log({ level: "warn", msg: "DescribeStream failed", table: opts.tableName, error: String(error) });
      }
      await sleep(opts.discoverIntervalMs ?? 1_000);
    }
  }

  const running = main();
  return {
    stats: (): StreamPollerStats => ({ ...stats }),
    /** Stops polling; an invocation in flight finishes first, and none starts after. */
    async stop() {
      controller.abort();
      await running;
      while (workers.size > 0) await Promise.allSettled([...workers]);
      if (!opts.streams) streams.destroy();
    },
  };
}

export type StreamPoller = ReturnType<typeof startStreamPoller>;
