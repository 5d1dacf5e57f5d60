import { Fanout } from "@conveyor/core/fanout";
import { githubRoute } from "@conveyor/core/fanout/github";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { useCore } from "../config.ts";
import { eventRecords } from "./records.ts";

/**
 * The Events stream's second subscriber (`streamSubscriptions.EventsGithub`): each task
 * in the batch gets its PR or issue comment brought up to date, once. A task whose
 * comment could not be written is reported by the sequence number to resume from.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const resumeAt = await Fanout.route(useCore(), eventRecords(event), [githubRoute]);
  return { batchItemFailures: resumeAt ? [{ itemIdentifier: resumeAt }] : [] };
};
