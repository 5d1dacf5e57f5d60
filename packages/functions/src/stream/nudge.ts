import { processPartialResponse } from "@aws-lambda-powertools/batch";
import { Actor } from "@conveyor/core/actor";
import { logger } from "@conveyor/core/log";
import * as Nudge from "@conveyor/core/nudge/info";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { useCore } from "../config.ts";
import { InOrderStreamProcessor, inserted } from "./records.ts";

const system = { type: "system", name: "nudge-push" } as const;

/**
 * The Nudges stream subscriber: each new nudge is recorded as received once and pushed to its
 * agent, in stream order; a failure is reported by the sequence number to resume from.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> =>
  processPartialResponse(event, receive, new InOrderStreamProcessor(), { throwOnFullBatchFailure: false });

/** The new nudge a Nudges stream record holds; undefined for anything else. */
export function nudgeOf(record: DynamoDBRecord): Nudge.Info | undefined {
  return inserted(record, Nudge.serialize, "nudge")?.value;
}

async function receive(record: DynamoDBRecord): Promise<void> {
  const nudge = nudgeOf(record);
  if (!nudge) return;
  try {
    await Actor.provide(system, () => Nudge.receive(useCore(), nudge));
  } catch (error) {
    logger.error("nudge push failed", { taskId: nudge.taskId, nudgeId: nudge.nudgeId, error: String(error) });
    throw error;
  }
}
