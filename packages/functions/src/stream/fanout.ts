import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { TaskEvent } from "@conveyor/core/event";
import { Fanout, type FanoutRecord } from "@conveyor/core/fanout";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { useCore } from "../config.ts";

/**
 * The Events stream subscriber: INSERTs only (filtered at the mapping, checked again
 * here), routed to the dispatchers; a failure is reported by the sequence number to resume from.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const records: FanoutRecord[] = [];
  for (const record of event.Records) {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== "INSERT" || !sequenceNumber || !image) continue;
    try {
      const item = unmarshall(image as Record<string, AttributeValue>);
      records.push({ sequenceNumber, event: TaskEvent.serialize(item) });
    } catch (error) {
      // A record that can never parse would block its shard forever: skip it, loudly.
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
  const resumeAt = await Fanout.route(useCore(), records, [Fanout.realtime]);
  return { batchItemFailures: resumeAt ? [{ itemIdentifier: resumeAt }] : [] };
};
