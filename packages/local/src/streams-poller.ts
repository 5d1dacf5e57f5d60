import { setTimeout as delay } from "node:timers/promises";
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type _Record,
  type AttributeValue,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
} from "@aws-sdk/client-dynamodb-streams";
import type {
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  AttributeValue as LambdaAttributeValue,
} from "aws-lambda";

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
  /** Wait before the next GetRecords after an empty one. Default 100 ms. */
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

/** Lambda's backoff between retries is seconds long; locally it is short so tests stay fast. */
const backoff = (attempt: number) => Math.min(1_000, 100 * 2 ** Math.max(0, attempt - 1));

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
  const pollIntervalMs = opts.pollIntervalMs ?? 100;
  const windowMs = (opts.maximumBatchingWindowInSeconds ?? 0) * 1_000;
  const maxRetries = opts.maximumRetryAttempts ?? -1;
  const maxAgeMs = (opts.maximumRecordAgeSeconds ?? -1) * 1_000;
  const filters = opts.filters ?? [];
  for (const pattern of filters) validatePattern(pattern);
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
        const finished = await deliver(shard, gathered, Date.now());
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

  /** Hands one page of a shard to the handler until every record is done with; false if stopped first. */
  async function deliver(shard: ShardState, page: _Record[], fetchedAt: number): Promise<boolean> {
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
          discard(shard, expired, "record too old");
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
        discard(shard, batch, "retries exhausted");
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
  function discard(shard: ShardState, records: DynamoDBRecord[], reason: string) {
    stats.discarded += records.length;
    const first = records[0]?.dynamodb;
    const last = records.at(-1)?.dynamodb;
    log({
      level: "error",
      msg: "stream records discarded",
      reason,
      table: opts.tableName,
      DDBStreamBatchInfo: {
        shardId: shard.id,
        startSequenceNumber: first?.SequenceNumber,
        endSequenceNumber: last?.SequenceNumber,
        approximateArrivalOfFirstRecord: epochIso(first?.ApproximateCreationDateTime),
        approximateArrivalOfLastRecord: epochIso(last?.ApproximateCreationDateTime),
        batchSize: records.length,
        streamArn,
      },
      records: records.map((r) => ({ sequenceNumber: r.dynamodb?.SequenceNumber, keys: r.dynamodb?.Keys })),
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

/**
 * When the record was written, in ms. DynamoDB Local rounds ApproximateCreationDateTime down
 * to the minute, so the write happened within the following minute and no later than we read it.
 */
function createdAt(record: DynamoDBRecord, fetchedAt: number) {
  const stamp = (record.dynamodb?.ApproximateCreationDateTime ?? fetchedAt / 1_000) * 1_000;
  return Math.min(stamp + 59_999, fetchedAt);
}

function epochIso(seconds: number | undefined) {
  return seconds === undefined ? undefined : new Date(seconds * 1_000).toISOString();
}

/** The record as Lambda delivers it: epoch-second times, base64 binaries, the stream's ARN. */
export function toLambdaRecord(record: _Record, eventSourceARN: string, region: string): DynamoDBRecord {
  const stream = record.dynamodb ?? {};
  const image = (values: Record<string, AttributeValue> | undefined) =>
    values === undefined ? undefined : toLambdaImage(values);
  const dynamodb: NonNullable<DynamoDBRecord["dynamodb"]> = {
    ApproximateCreationDateTime:
      stream.ApproximateCreationDateTime === undefined
        ? undefined
        : Math.floor(stream.ApproximateCreationDateTime.getTime() / 1_000),
    Keys: image(stream.Keys),
    NewImage: image(stream.NewImage),
    OldImage: image(stream.OldImage),
    SequenceNumber: stream.SequenceNumber,
    SizeBytes: stream.SizeBytes,
    StreamViewType: stream.StreamViewType,
  };
  for (const key of Object.keys(dynamodb) as (keyof typeof dynamodb)[]) {
    if (dynamodb[key] === undefined) delete dynamodb[key];
  }
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    // DynamoDB Local answers "ddblocal"; handlers should see the region they were configured with.
    awsRegion: region,
    dynamodb,
    eventSourceARN,
    ...(record.userIdentity ? { userIdentity: record.userIdentity } : {}),
  };
}

function toLambdaImage(values: Record<string, AttributeValue>): Record<string, LambdaAttributeValue> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, toLambdaValue(value)]));
}

function toLambdaValue(value: AttributeValue): LambdaAttributeValue {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString("base64") };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString("base64")) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  // S, N, SS, NS, NULL and BOOL look the same on both sides.
  return value as LambdaAttributeValue;
}

// ---- Lambda event filtering (the EventBridge pattern subset Lambda documents) ----

const OPERATORS = new Set(["prefix", "suffix", "exists", "anything-but", "numeric", "equals-ignore-case"]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A pattern with an operator we do not emulate would silently match nothing: refuse it up front. */
function validatePattern(pattern: Record<string, unknown>) {
  for (const [key, rule] of Object.entries(pattern)) {
    if (Array.isArray(rule)) {
      for (const item of rule) {
        if (!isObject(item)) continue;
        const [operator, ...more] = Object.keys(item);
        if (!operator || more.length > 0 || !OPERATORS.has(operator)) {
          throw new Error(`Unsupported filter rule at ${key}: ${JSON.stringify(item)}`);
        }
      }
    } else if (isObject(rule)) {
      validatePattern(rule);
    } else {
      throw new Error(`Filter pattern values must be arrays or objects (at ${key})`);
    }
  }
}

/** True if the record matches the pattern: every key's rule holds (nested objects recurse). */
export function matches(pattern: Record<string, unknown>, value: unknown): boolean {
  return Object.entries(pattern).every(([key, rule]) => {
    const present = isObject(value) && key in value && value[key] !== undefined;
    const field = present ? (value as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(rule)) return rule.some((r) => matchesRule(r, field, present));
    // A missing branch still has to satisfy its leaves (only `exists: false` can).
    return isObject(rule) && matches(rule, isObject(field) ? field : undefined);
  });
}

function matchesRule(rule: unknown, field: unknown, present: boolean): boolean {
  if (isObject(rule) && "exists" in rule) return rule.exists === (present && !isObject(field));
  if (!present) return false;
  // An array field matches if any of its elements does.
  const values = Array.isArray(field) ? field : [field];
  return values.some((v) => {
    if (!isObject(rule)) return v === rule;
    if ("prefix" in rule) return typeof v === "string" && v.startsWith(String(rule.prefix));
    if ("suffix" in rule) return typeof v === "string" && v.endsWith(String(rule.suffix));
    if ("equals-ignore-case" in rule)
      return typeof v === "string" && v.toLowerCase() === String(rule["equals-ignore-case"]).toLowerCase();
    if ("anything-but" in rule) {
      const but = rule["anything-but"];
      if (isObject(but) && "prefix" in but) return typeof v === "string" && !v.startsWith(String(but.prefix));
      return !(Array.isArray(but) ? but : [but]).includes(v);
    }
    if ("numeric" in rule) return typeof v === "number" && numeric(rule.numeric, v);
    return false;
  });
}

function numeric(conditions: unknown, value: number) {
  if (!Array.isArray(conditions)) return false;
  for (let i = 0; i + 1 < conditions.length; i += 2) {
    const bound = Number(conditions[i + 1]);
    const ok = {
      "=": value === bound,
      "<": value < bound,
      "<=": value <= bound,
      ">": value > bound,
      ">=": value >= bound,
    }[String(conditions[i])];
    if (!ok) return false;
  }
  return true;
}
