import { Actor } from "@conveyor/core/actor";
import { Dispatch } from "@conveyor/core/dispatch";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import * as v from "valibot";
import { useCore } from "../config.ts";

const Message = v.object({ taskId: v.string() });
const drain = { type: "system", name: "dlq-drain" } as const;

/**
 * TaskDlq's drain: every dead letter is recorded, its task failed `dispatch_failed` if
 * it has not ended yet, and the message acknowledged, so nothing sits there unexplained.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const failures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    let taskId: string | undefined;
    try {
      taskId = v.parse(Message, JSON.parse(record.body)).taskId;
    } catch {
      // Not ours to explain further; recorded here and dropped.
    }
    console.error(
      JSON.stringify({
        level: "warn",
        msg: "dead letter",
        messageId: record.messageId,
        taskId,
        receiveCount: record.attributes.ApproximateReceiveCount,
        body: taskId ? undefined : record.body.slice(0, 500),
      }),
    );
    if (!taskId) continue;
    try {
      await Actor.provide(drain, () =>
        Dispatch.failDispatch(
          useCore(),
          taskId,
          "The dispatch message ran out of retries and was dead-lettered",
        ),
      );
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", msg: "dead letter not settled", taskId, error: String(error) }),
      );
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
};
