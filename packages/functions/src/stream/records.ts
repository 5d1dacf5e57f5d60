import { BatchProcessor, EventType } from "@aws-lambda-powertools/batch";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { EventInfo } from "@conveyor/core/event/schema";
import type { FanoutRecord } from "@conveyor/core/fanout";
import { logger } from "@conveyor/core/log";
import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import * as v from "valibot";

/**
 * Reads an INSERT's new item (INSERTs are filtered at the mapping, checked again here) as
 * `parse` says. A record that can never parse would block its shard until it ages out, so
 * it is skipped, loudly.
 */
export function inserted<T>(record: DynamoDBRecord, parse: (item: unknown) => T, what: string) {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== "INSERT" || !sequenceNumber || !image) return undefined;
  try {
    return { sequenceNumber, value: parse(unmarshall(image as Record<string, AttributeValue>)) };
  } catch (error) {
    logger.error(`unreadable ${what} record`, { sequenceNumber, error: String(error) });
    return undefined;
  }
}

/** The committed events of an Events stream batch, in stream order. */
export function eventRecords(event: DynamoDBStreamEvent): FanoutRecord[] {
  return event.Records.flatMap((record) => {
    const read = inserted(record, (item) => v.parse(EventInfo, item), "event");
    return read ? [{ sequenceNumber: read.sequenceNumber, event: read.value }] : [];
  });
}

/**
 * Powertools' batch processor for a DynamoDB stream, kept to the stream's order: records are
 * handled one after another and the first failure ends the batch, the records after it
 * reported failed unhandled (as Powertools' own SQS FIFO processor does). Lambda resumes the
 * shard at the lowest failed sequence number, so nothing after a failed record runs before
 * it. BatchProcessor alone would go on past a failure (in parallel, or in sequence with
 * `processInParallel: false`): later records would take effect, then run again after the
 * failed one's retry.
 */
export class InOrderStreamProcessor extends BatchProcessor {
  constructor() {
    super(EventType.DynamoDBStreams);
  }

  override async process() {
    this.prepare();
    const processed = [];
    for (const [index, record] of this.records.entries()) {
      const result = await this.processRecord(record);
      processed.push(result);
      if (result[0] !== "fail") continue;
      for (const rest of this.records.slice(index + 1)) {
        const unhandled = new Error("Not handled: an earlier record of its shard failed");
        processed.push(this.failureHandler(this.toBatchType(rest, this.eventType), unhandled));
      }
      break;
    }
    this.clean();
    return processed;
  }
}
