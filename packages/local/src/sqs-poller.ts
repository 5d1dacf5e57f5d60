import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

export interface SqsPollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;
  batchSize?: number;
  /** Concurrent batches in flight, like an event source mapping's maximum concurrency. */
  concurrency?: number;
  waitSeconds?: number;
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * An SQS event source mapping, emulated: long-polls the queue, hands the handler a
 * real `SQSEvent`, deletes what succeeded, and leaves reported failures (or the whole
 * batch, if the handler throws or answers nonsense) to reappear after the visibility timeout.
 */
export function startSqsPoller(opts: SqsPollerOptions) {
  const { client, queueUrl, queueArn, handler } = opts;
  const log = opts.log ?? (() => undefined);
  const controller = new AbortController();
  let batches = 0;

  async function loop() {
    while (!controller.signal.aborted) {
      try {
        const received = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: opts.batchSize ?? 10,
            WaitTimeSeconds: opts.waitSeconds ?? 1,
            MessageSystemAttributeNames: ["All"],
            // The emulator reads the older spelling; AWS accepts both.
            AttributeNames: ["All"],
            MessageAttributeNames: ["All"],
          }),
          { abortSignal: controller.signal },
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) continue;
        batches++;
        const records = messages.map((m) => toSqsRecord(m, queueArn));
        const failed = await invoke(records);
        const done = records.filter((r) => !failed.has(r.messageId));
        if (done.length > 0) {
          await client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
            }),
          );
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        log({ level: "warn", msg: "sqs poll failed", error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** The ids to leave on the queue, per Lambda's partial batch response rules. */
  async function invoke(records: SQSRecord[]): Promise<Set<string>> {
    const all = new Set(records.map((r) => r.messageId));
    try {
      const response = await handler({ Records: records });
      const failures = response?.batchItemFailures ?? [];
      // An empty or unknown itemIdentifier fails the whole batch, as Lambda does.
      if (failures.some((f) => !f.itemIdentifier || !all.has(f.itemIdentifier))) return all;
      return new Set(failures.map((f) => f.itemIdentifier));
    } catch (error) {
      log({ level: "error", msg: "sqs handler threw; whole batch retried", error: String(error) });
      return all;
    }
  }

  const loops = Array.from({ length: opts.concurrency ?? 2 }, () => loop());
  return {
    get batches() {
      return batches;
    },
    async stop() {
      controller.abort();
      await Promise.allSettled(loops);
    },
  };
}

/** An SQS message as Lambda's event source mapping hands it to a handler. */
export function toSqsRecord(m: Message, queueArn: string): SQSRecord {
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? "",
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1",
      SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: m.Attributes?.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: "us-east-1",
  };
}
