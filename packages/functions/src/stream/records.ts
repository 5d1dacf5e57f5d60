import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { TaskEvent } from "@conveyor/core/event";
import type { FanoutRecord } from "@conveyor/core/fanout";
import type { DynamoDBStreamEvent } from "aws-lambda";

/**
 * The committed events of an Events stream batch: INSERTs only (filtered at the mapping,
 * checked again here). A record that can never parse would block its shard forever, so
 * it is skipped, loudly.
 */
export function eventRecords(event: DynamoDBStreamEvent): FanoutRecord[] {
  const records: FanoutRecord[] = [];
  for (const record of event.Records) {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== "INSERT" || !sequenceNumber || !image) continue;
    try {
      const item = unmarshall(image as Record<string, AttributeValue>);
      records.push({ sequenceNumber, event: TaskEvent.serialize(item) });
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "unreadable event record",
          sequenceNumber,
          error: String(error),
        }),
      );
    }
  }
  return records;
}
