import { Fanout } from "@conveyor/core/fanout";
import { githubRoute } from "@conveyor/core/fanout/github";
import { webhookRoute } from "@conveyor/core/fanout/webhook";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { useCore } from "../config.ts";
import { eventRecords } from "./records.ts";

/**
 * The Events stream's second subscriber (`streamSubscriptions.EventsGithub`; DynamoDB allows
 * two readers per shard, so the integrations share it): each task's new events are queued for
 * its owner's webhooks (first: that only sends to SQS), then its PR or issue comment is brought
 * up to date, once. A task whose route failed is reported by the sequence number to resume
 * from; webhook messages queued again then carry the same `Conveyor-Delivery` id.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const resumeAt = await Fanout.route(useCore(), eventRecords(event), [webhookRoute, githubRoute]);
  return { batchItemFailures: resumeAt ? [{ itemIdentifier: resumeAt }] : [] };
};
