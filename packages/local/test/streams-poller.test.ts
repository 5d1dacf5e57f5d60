import {
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from "@aws-sdk/client-dynamodb-streams";
import type { Config } from "@conveyor/core/config";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type StreamPollerOptions, startStreamPoller } from "../src/streams-poller.ts";
import { sleep, testConfig } from "./harness.ts";

async function waitUntil(condition: () => boolean, timeoutMs = 40_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(20);
  }
}

const sk = (r: DynamoDBRecord) => (r.dynamodb?.Keys?.sk?.S ?? "") as string;
const pad = (n: number) => String(n).padStart(3, "0");

describe("startStreamPoller against DynamoDB Local", () => {
  let config: Config;
  let db: DynamoDBClient;
  const stops: (() => Promise<void>)[] = [];

  // Fresh tables per test, so a stream holds only that test's records and batches are predictable.
  beforeEach(async () => {
    config = await testConfig();
    db ??= new DynamoDBClient({
      endpoint: config.endpoints.dynamodb,
      region: config.region,
      credentials: config.credentials,
    });
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });
  afterAll(() => db.destroy());

  let partition = 0;
  const nextPk = () => `p${++partition}`;

  function poll(
    table: string,
    handler: StreamPollerOptions["handler"],
    opts: Partial<StreamPollerOptions> = {},
  ) {
    const poller = startStreamPoller({
      endpoint: config.endpoints.dynamodb!,
      region: config.region,
      credentials: config.credentials!,
      tableName: table,
      handler,
      // Faster than Lambda's 250 ms: these tests wait on many deliveries and measure no latency.
      pollIntervalMs: 20,
      ...opts,
    });
    stops.push(poller.stop);
    return poller;
  }

  const put = (table: string, pk: string, skv: string, extra: Record<string, { S: string }> = {}) =>
    db.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, sk: { S: skv }, ...extra } }));

  /** Records the batches holding records of `pk`; `answer` shapes the handler's response. */
  function recorder(pk: string, answer?: (batch: DynamoDBRecord[], call: number) => DynamoDBBatchResponse) {
    const calls: DynamoDBRecord[][] = [];
    const handler = async (event: DynamoDBStreamEvent) => {
      const mine = event.Records.filter((r) => r.dynamodb?.Keys?.pk?.S === pk);
      if (mine.length === 0) return undefined;
      calls.push(mine);
      return answer?.(event.Records, calls.length);
    };
    return { calls, handler, delivered: () => calls.flat() };
  }

  it("delivers every record in write order, shaped like Lambda's DynamoDBStreamEvent", async () => {
    const table = config.tables.events;
    const pks = [nextPk(), nextPk(), nextPk()];
    const seen: DynamoDBRecord[] = [];
    poll(table, async (event) => {
      seen.push(...event.Records.filter((r) => pks.includes(r.dynamodb?.Keys?.pk?.S ?? "")));
      return undefined;
    });

    for (let i = 0; i < 30; i++) await put(table, pks[i % 3]!, pad(i), { type: { S: "agent.turn" } });
    await waitUntil(() => seen.length === 30);

    for (const pk of pks) {
      const order = seen.filter((r) => r.dynamodb?.Keys?.pk?.S === pk).map(sk);
      expect(order).toEqual([...order].sort());
    }
    const arn = (await db.send(new DescribeTableCommand({ TableName: table }))).Table?.LatestStreamArn;
    const record = seen[0]!;
    expect(record).toMatchObject({
      eventName: "INSERT",
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: config.region,
      eventSourceARN: arn,
      dynamodb: {
        Keys: { pk: { S: pks[0] }, sk: { S: "000" } },
        NewImage: { pk: { S: pks[0] }, sk: { S: "000" }, type: { S: "agent.turn" } },
        StreamViewType: "NEW_IMAGE",
      },
    });
    expect(typeof record.eventID).toBe("string");
    expect(typeof record.dynamodb?.ApproximateCreationDateTime).toBe("number");
    expect(Math.abs(record.dynamodb!.ApproximateCreationDateTime! - Date.now() / 1000)).toBeLessThan(120);
    expect(record.dynamodb?.SequenceNumber).toMatch(/^\d{21,40}$/);
    expect(typeof record.dynamodb?.SizeBytes).toBe("number");
  });

  it("an INSERT-only filter never delivers MODIFY or REMOVE, and checkpoints past them", async () => {
    const table = config.tables.nudges;
    const pk = nextPk();
    const { handler, delivered } = recorder(pk);
    const poller = poll(table, handler, { filters: [{ eventName: ["INSERT"] }] });

    await put(table, pk, "a");
    await db.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: pk }, sk: { S: "a" } },
        UpdateExpression: "SET st = :s",
        ExpressionAttributeValues: { ":s": { S: "consumed" } },
      }),
    );
    await db.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: "a" } } }));
    await put(table, pk, "b");
    await waitUntil(() => delivered().length === 2);
    await sleep(200);

    expect(delivered().map((r) => [r.eventName, sk(r)])).toEqual([
      ["INSERT", "a"],
      ["INSERT", "b"],
    ]);
    expect(poller.stats().filtered).toBeGreaterThanOrEqual(2);
  });

  it("filters on nested image values, ORing the patterns", async () => {
    const table = config.tables.events;
    const pk = nextPk();
    const { handler, delivered } = recorder(pk);
    poll(table, handler, {
      filters: [
        { eventName: ["INSERT"], dynamodb: { NewImage: { type: { S: ["agent.turn"] } } } },
        { dynamodb: { NewImage: { type: { S: [{ prefix: "task." }] } } } },
      ],
    });

    await put(table, pk, "1", { type: { S: "agent.turn" } });
    await put(table, pk, "2", { type: { S: "agent.cost" } });
    await put(table, pk, "3", { type: { S: "task.status" } });
    await put(table, pk, "4");
    await put(table, pk, "5", { type: { S: "agent.turn" } });
    await waitUntil(() => delivered().length === 3);
    await sleep(200);

    expect(delivered().map(sk)).toEqual(["1", "3", "5"]);
  });

  it("retries from the lowest reported failure: never an earlier record, never out of order", async () => {
    const table = config.tables.events;
    const pk = nextPk();
    for (let i = 0; i < 10; i++) await put(table, pk, pad(i));
    const { calls, handler } = recorder(pk, (batch, call) => {
      const mine = batch.filter((r) => r.dynamodb?.Keys?.pk?.S === pk);
      // The first delivery reports two failures; the lower one (005) is where the retry begins.
      if (call !== 1) return { batchItemFailures: [] };
      const failed = mine.filter((r) => ["007", "005"].includes(sk(r)));
      return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })) };
    });
    const poller = poll(table, handler);

    await waitUntil(() => calls.length === 2);
    await sleep(200);

    expect(calls[0]!.map(sk)).toEqual(["000", "001", "002", "003", "004", "005", "006", "007", "008", "009"]);
    expect(calls[1]!.map(sk)).toEqual(["005", "006", "007", "008", "009"]);
    expect(calls).toHaveLength(2);
    expect(poller.stats().retries).toBe(1);
  });

  it("retries the whole batch when the handler throws", async () => {
    const table = config.tables.events;
    const pk = nextPk();
    for (let i = 0; i < 4; i++) await put(table, pk, pad(i));
    const calls: string[][] = [];
    const poller = poll(table, async (event) => {
      const mine = event.Records.filter((r) => r.dynamodb?.Keys?.pk?.S === pk);
      if (mine.length === 0) return undefined;
      calls.push(mine.map(sk));
      if (calls.length <= 2) throw new Error("table unavailable");
      return undefined;
    });

    await waitUntil(() => calls.length === 3);
    await sleep(200);

    expect(calls).toEqual([
      ["000", "001", "002", "003"],
      ["000", "001", "002", "003"],
      ["000", "001", "002", "003"],
    ]);
    expect(poller.stats()).toMatchObject({ retries: 2, discarded: 0 });
  });

  it("discards a poison record after maximumRetryAttempts and goes on", async () => {
    const table = config.tables.events;
    const pk = nextPk();
    const logs: Record<string, unknown>[] = [];
    const { calls, handler, delivered } = recorder(pk, (batch) => ({
      batchItemFailures: batch
        .filter((r) => r.dynamodb?.Keys?.pk?.S === pk && sk(r) === "001")
        .map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })),
    }));
    const poller = poll(table, handler, {
      batchSize: 1,
      maximumRetryAttempts: 2,
      log: (entry) => logs.push(entry),
    });

    for (let i = 0; i < 4; i++) await put(table, pk, pad(i));
    await waitUntil(() => delivered().some((r) => sk(r) === "003"));

    // One try and two retries of the poison record, then the rest in order.
    expect(calls.map((c) => c.map(sk))).toEqual([["000"], ["001"], ["001"], ["001"], ["002"], ["003"]]);
    expect(poller.stats().discarded).toBe(1);
    const discarded = logs.find((l) => l.msg === "stream records discarded");
    expect(discarded).toMatchObject({ reason: "retries exhausted", DDBStreamBatchInfo: { batchSize: 1 } });
  });

  it("without bisect, running out of retries discards the rest of the batch too, as Lambda does", async () => {
    const table = config.tables.events;
    const pk = nextPk();
    for (let i = 0; i < 5; i++) await put(table, pk, pad(i));
    await put(table, "other", "end");
    const { calls, handler } = recorder(pk, (batch) => ({
      batchItemFailures: batch
        .filter((r) => r.dynamodb?.Keys?.pk?.S === pk && sk(r) === "002")
        .map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })),
    }));
    const poller = poll(table, handler, { maximumRetryAttempts: 1 });

    await waitUntil(() => poller.stats().discarded > 0);
    await sleep(200);

    expect(calls.map((c) => c.map(sk))).toEqual([
      ["000", "001", "002", "003", "004"],
      ["002", "003", "004"],
    ]);
    // The failing batch ran from 002 to the end of the page, another partition's record included.
    expect(poller.stats()).toMatchObject({ records: 2, discarded: 4 });
  });

  it("with bisect, only the poison record is discarded", async () => {
    const table = config.tables.events;
    const pk = nextPk();
    for (let i = 0; i < 5; i++) await put(table, pk, pad(i));
    const { calls, handler, delivered } = recorder(pk, (batch) => ({
      batchItemFailures: batch
        .filter((r) => r.dynamodb?.Keys?.pk?.S === pk && sk(r) === "002")
        .map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })),
    }));
    const poller = poll(table, handler, { maximumRetryAttempts: 1, bisectBatchOnFunctionError: true });

    await waitUntil(() => delivered().some((r) => sk(r) === "004") && poller.stats().discarded === 1);

    expect(calls.map((c) => c.map(sk))).toEqual([
      ["000", "001", "002", "003", "004"],
      ["002"],
      ["002"],
      ["003", "004"],
    ]);
  });

  it("starts at LATEST when asked: nothing written before the start is delivered", async () => {
    const table = config.tables.events;
    const pk = nextPk();
    await put(table, pk, "before");
    const { handler, delivered } = recorder(pk);
    poll(table, handler, { startingPosition: "LATEST" });

    // The iterator is taken asynchronously: keep writing until one arrives.
    for (let i = 0; delivered().length === 0; i++) {
      await put(table, pk, `after-${pad(i)}`);
      await sleep(50);
    }
    await sleep(200);

    expect(delivered().map(sk)).not.toContain("before");
    const after = delivered().map(sk);
    expect(after).toEqual([...after].sort());
  });

  it("stop() stops: no invocation after it resolves", async () => {
    const table = config.tables.events;
    const pk = nextPk();
    const { handler, delivered } = recorder(pk);
    const poller = poll(table, handler);
    await put(table, pk, "1");
    await waitUntil(() => delivered().length === 1);

    await poller.stop();
    await put(table, pk, "2");
    await sleep(300);

    expect(delivered().map(sk)).toEqual(["1"]);
  });
});

/** A Streams API over in-memory shards, for what DynamoDB Local cannot do: close and split shards. */
function fakeStreams() {
  interface FakeShard {
    id: string;
    parent?: string;
    records: _Record[];
    closed: boolean;
  }
  const shards: FakeShard[] = [];
  const reads: string[] = [];
  let seq = 100;
  let expireNext = false;
  const record = (shardId: string, key: string, createdAt = new Date()): _Record => ({
    eventID: `e-${key}`,
    eventName: "INSERT",
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: "ddblocal",
    dynamodb: {
      ApproximateCreationDateTime: createdAt,
      Keys: { pk: { S: shardId }, sk: { S: key } },
      NewImage: { pk: { S: shardId }, sk: { S: key }, bin: { B: new Uint8Array([1, 2, 3]) } },
      SequenceNumber: String(seq++).padStart(21, "0"),
      SizeBytes: 10,
      StreamViewType: "NEW_IMAGE",
    },
  });
  const shard = (id: string) => {
    const found = shards.find((s) => s.id === id);
    if (!found) throw Object.assign(new Error(`no shard ${id}`), { name: "ResourceNotFoundException" });
    return found;
  };
  const client = {
    async send(command: unknown) {
      await sleep(1);
      if (command instanceof DescribeStreamCommand) {
        // One shard per page, so pagination is exercised.
        const start = command.input.ExclusiveStartShardId;
        const index = start ? shards.findIndex((s) => s.id === start) + 1 : 0;
        const page = shards.slice(index, index + 1);
        return {
          StreamDescription: {
            Shards: page.map((s) => ({
              ShardId: s.id,
              ParentShardId: s.parent,
              SequenceNumberRange: {
                StartingSequenceNumber: s.records[0]?.dynamodb?.SequenceNumber ?? "0",
                EndingSequenceNumber: s.closed ? s.records.at(-1)?.dynamodb?.SequenceNumber : undefined,
              },
            })),
            LastEvaluatedShardId: index + 1 < shards.length ? page[0]?.id : undefined,
          },
        };
      }
      if (command instanceof GetShardIteratorCommand) {
        const { ShardId, ShardIteratorType, SequenceNumber } = command.input;
        const s = shard(ShardId!);
        const position =
          ShardIteratorType === "TRIM_HORIZON"
            ? 0
            : ShardIteratorType === "LATEST"
              ? s.records.length
              : s.records.findIndex((r) => r.dynamodb?.SequenceNumber === SequenceNumber) + 1;
        return { ShardIterator: `${s.id}|${position}` };
      }
      if (command instanceof GetRecordsCommand) {
        const [id, at] = command.input.ShardIterator!.split("|");
        if (expireNext) {
          expireNext = false;
          throw Object.assign(new Error("expired"), { name: "ExpiredIteratorException" });
        }
        const s = shard(id!);
        reads.push(s.id);
        const start = Number(at);
        const page = s.records.slice(start, start + (command.input.Limit ?? 1000));
        const next = start + page.length;
        return {
          Records: page,
          NextShardIterator: s.closed && next >= s.records.length ? undefined : `${s.id}|${next}`,
        };
      }
      throw new Error("unexpected command");
    },
  };
  return {
    client: client as unknown as DynamoDBStreamsClient,
    reads,
    addShard(id: string, keys: string[], opts: { parent?: string; closed?: boolean; createdAt?: Date } = {}) {
      shards.push({
        id,
        parent: opts.parent,
        closed: opts.closed ?? false,
        records: keys.map((k) => record(id, k, opts.createdAt)),
      });
    },
    append(id: string, keys: string[]) {
      shard(id).records.push(...keys.map((k) => record(id, k)));
    },
    close(id: string) {
      shard(id).closed = true;
    },
    expireNextRead() {
      expireNext = true;
    },
  };
}

describe("startStreamPoller shard handling (fake Streams API)", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  function poll(fake: ReturnType<typeof fakeStreams>, opts: Partial<StreamPollerOptions> = {}) {
    const keys: string[] = [];
    const poller = startStreamPoller({
      endpoint: "http://127.0.0.1:1",
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
      tableName: "fake",
      streams: fake.client,
      streamArn: "arn:aws:dynamodb:us-east-1:000000000000:table/fake/stream/1",
      // A fake Streams API answers at once: polling it fast keeps these shard-order tests short.
      pollIntervalMs: 5,
      discoverIntervalMs: 20,
      handler: async (event) => {
        keys.push(...event.Records.map(sk));
        return undefined;
      },
      ...opts,
    });
    stops.push(poller.stop);
    return { poller, keys };
  }

  it("finishes a closed parent before starting its children, whatever order DescribeStream lists them in", async () => {
    const fake = fakeStreams();
    fake.addShard("child-a", ["c1", "c2"], { parent: "parent" });
    fake.addShard("child-b", ["d1"], { parent: "parent" });
    fake.addShard("parent", ["p1", "p2", "p3"], { closed: true });
    const { keys } = poll(fake);

    await waitUntil(() => keys.length === 6);

    expect(keys.slice(0, 3)).toEqual(["p1", "p2", "p3"]);
    expect(keys.indexOf("c1")).toBeLessThan(keys.indexOf("c2"));
    expect(new Set(keys)).toEqual(new Set(["p1", "p2", "p3", "c1", "c2", "d1"]));
    // The closed parent answered without a next iterator and was never read again.
    await sleep(100);
    expect(fake.reads.filter((id) => id === "parent")).toHaveLength(1);
  });

  it("follows a split that happens while it reads: the rest of the parent, then the children", async () => {
    const fake = fakeStreams();
    fake.addShard("s1", ["a"]);
    const { keys } = poll(fake);
    await waitUntil(() => keys.length === 1);

    fake.addShard("s2", ["c"], { parent: "s1" });
    await sleep(60);
    fake.append("s1", ["b"]);
    fake.close("s1");
    await waitUntil(() => keys.length === 3);

    expect(keys).toEqual(["a", "b", "c"]);
  });

  it("re-acquires an expired iterator from the checkpoint without losing or repeating records", async () => {
    const fake = fakeStreams();
    fake.addShard("s1", ["a", "b"]);
    const { keys } = poll(fake);
    await waitUntil(() => keys.length === 2);

    fake.expireNextRead();
    fake.append("s1", ["c"]);
    await waitUntil(() => keys.length === 3);
    await sleep(50);

    expect(keys).toEqual(["a", "b", "c"]);
  });

  it("discards records older than maximumRecordAgeSeconds", async () => {
    const fake = fakeStreams();
    fake.addShard("old", ["stale"], { closed: true, createdAt: new Date(Date.now() - 3_600_000) });
    fake.addShard("new", ["fresh"], { parent: "old" });
    const { poller, keys } = poll(fake, { maximumRecordAgeSeconds: 600 });

    await waitUntil(() => keys.length === 1);

    expect(keys).toEqual(["fresh"]);
    expect(poller.stats().discarded).toBe(1);
  });

  it("hands binary attributes over base64-encoded, as Lambda does", async () => {
    const fake = fakeStreams();
    fake.addShard("s1", ["a"]);
    const records: DynamoDBRecord[] = [];
    poll(fake, {
      handler: async (event) => {
        records.push(...event.Records);
        return undefined;
      },
    });
    await waitUntil(() => records.length === 1);

    expect(records[0]?.dynamodb?.NewImage?.bin).toEqual({ B: "AQID" });
    expect(records[0]?.awsRegion).toBe("us-east-1");
  });
});
