import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { Actor } from "@conveyor/core/actor";
import { Nudge } from "@conveyor/core/nudge";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { useCore } from "../config.ts";

const system = { type: "system", name: "nudge-push" } as const;

/** The Nudges stream subscriber: each new nudge is recorded as received once and pushed to its agent. */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  for (const record of event.Records) {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== "INSERT" || !sequenceNumber || !image) continue;
    let nudge: Nudge.Info;
    try {
      nudge = Nudge.serialize(unmarshall(image as Record<string, AttributeValue>));
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "unreadable nudge record",
          sequenceNumber,
          error: String(error),
        }),
      );
      continue;
    }
    try {
      await Actor.provide(system, () => Nudge.receive(useCore(), nudge));
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "nudge push failed",
          nudgeId: nudge.nudgeId,
          error: String(error),
        }),
      );
      // Records are in order: resume from this one.
      return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
    }
  }
  return { batchItemFailures: [] };
};
