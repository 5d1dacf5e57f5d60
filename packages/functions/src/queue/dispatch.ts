import { Actor } from "@conveyor/core/actor";
import { Dispatch } from "@conveyor/core/dispatch";
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import * as v from "valibot";
import { useCore } from "../config.ts";

const Message = v.object({ taskId: v.string() });
const dispatcher = { type: "system", name: "dispatch" } as const;

/** TaskQueue consumer: claims and starts each task; only transient failures are retried. */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const failures = await Promise.all(event.Records.map(deliver));
  return { batchItemFailures: failures.filter((f): f is SQSBatchItemFailure => f !== undefined) };
};

async function deliver(record: SQSRecord): Promise<SQSBatchItemFailure | undefined> {
  const failed = { itemIdentifier: record.messageId };
  let taskId: string;
  try {
    taskId = v.parse(Message, JSON.parse(record.body)).taskId;
  } catch {
    // Redelivering a malformed message cannot help: drop it, loudly.
    console.error(
      JSON.stringify({ level: "error", msg: "malformed dispatch message", messageId: record.messageId }),
    );
    return undefined;
  }
  try {
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? 1);
    const outcome = await Actor.provide(dispatcher, () => Dispatch.deliver(useCore(), taskId, receiveCount));
    console.log(JSON.stringify({ level: "info", msg: "dispatch", taskId, receiveCount, ...outcome }));
    return outcome.result === "retry" ? failed : undefined;
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "dispatch error", taskId, error: String(error) }));
    return failed;
  }
}
