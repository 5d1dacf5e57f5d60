import { Fanout } from "@conveyor/core/fanout";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { useCore } from "../config.ts";
import { eventRecords } from "./records.ts";

/**
 * The Events stream subscriber for live watchers: committed events go to the realtime
 * route; a failure is reported by the sequence number to resume from.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const resumeAt = await Fanout.route(useCore(), eventRecords(event), [Fanout.realtime]);
  return { batchItemFailures: resumeAt ? [{ itemIdentifier: resumeAt }] : [] };
};
