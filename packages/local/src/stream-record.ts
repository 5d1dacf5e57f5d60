import type { _Record, AttributeValue } from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBRecord, AttributeValue as LambdaAttributeValue } from "aws-lambda";

/**
 * When the record was written, in ms. DynamoDB Local rounds ApproximateCreationDateTime down
 * to the minute, so the write happened within the following minute and no later than we read it.
 */
export function createdAt(record: DynamoDBRecord, fetchedAt: number) {
  const stamp = (record.dynamodb?.ApproximateCreationDateTime ?? fetchedAt / 1_000) * 1_000;
  return Math.min(stamp + 59_999, fetchedAt);
}

/** What an on-failure destination receives about a discarded batch: its coordinates in the stream. */
export function batchInfo(records: DynamoDBRecord[], shardId: string, streamArn: string) {
  const first = records[0]?.dynamodb;
  const last = records.at(-1)?.dynamodb;
  return {
    shardId,
    startSequenceNumber: first?.SequenceNumber,
    endSequenceNumber: last?.SequenceNumber,
    approximateArrivalOfFirstRecord: epochIso(first?.ApproximateCreationDateTime),
    approximateArrivalOfLastRecord: epochIso(last?.ApproximateCreationDateTime),
    batchSize: records.length,
    streamArn,
  };
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
