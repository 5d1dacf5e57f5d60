import { processPartialResponse } from "@aws-lambda-powertools/batch";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { logger } from "@conveyor/core/log";
import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { describe, expect, it, vi } from "vitest";
import { nudgeOf } from "./nudge.ts";
import { InOrderStreamProcessor } from "./records.ts";

const nudge = (nudgeId: string) => ({
  taskId: "01M80A6R8REXYA6GNV4VJ8FN8P",
  nudgeId,
  message: "use the retry helper",
  status: "pending",
  createdAt: 1_700_000_000_000,
});

const record = (seq: string, item: Record<string, unknown>, eventName = "INSERT"): DynamoDBRecord =>
  ({
    eventName,
    dynamodb: {
      SequenceNumber: seq,
      NewImage: marshall(item) as Record<string, AttributeValue>,
    },
  }) as DynamoDBRecord;

const batch = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

describe("InOrderStreamProcessor", () => {
  it("handles records one after another and stops at the first failure, resuming there", async () => {
    const handled: string[] = [];
    let running = 0;
    const result = await processPartialResponse(
      batch(
        record("100", nudge("a")),
        record("200", nudge("b")),
        record("300", nudge("c")),
        record("400", nudge("d")),
      ),
      async (r: DynamoDBRecord) => {
        running++;
        expect(running).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running--;
        handled.push(r.dynamodb!.SequenceNumber!);
        if (r.dynamodb!.SequenceNumber === "200") throw new Error("push failed");
      },
      new InOrderStreamProcessor(),
      { throwOnFullBatchFailure: false },
    );
    expect(handled).toEqual(["100", "200"]);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["200", "300", "400"]);
  });

  it("reports nothing when every record is handled", async () => {
    const result = await processPartialResponse(
      batch(record("100", nudge("a")), record("200", nudge("b"))),
      async () => {},
      new InOrderStreamProcessor(),
    );
    expect(result.batchItemFailures).toEqual([]);
  });

  it("reports the whole batch from its first record when that one fails, without throwing", async () => {
    const result = await processPartialResponse(
      batch(record("100", nudge("a")), record("200", nudge("b"))),
      async () => {
        throw new Error("down");
      },
      new InOrderStreamProcessor(),
      { throwOnFullBatchFailure: false },
    );
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["100", "200"]);
  });
});

describe("nudgeOf", () => {
  it("reads the nudge an INSERT holds", () => {
    // A nudge stored before modes existed reads as queued.
    expect(nudgeOf(record("100", nudge("a")))).toEqual({ ...nudge("a"), mode: "queue" });
  });

  it("skips other events, and unreadable items loudly", () => {
    const error = vi.spyOn(logger, "error").mockImplementation(() => {});
    try {
      expect(nudgeOf(record("100", nudge("a"), "MODIFY"))).toBeUndefined();
      expect(nudgeOf(record("200", { nudgeId: "b" }))).toBeUndefined();
      expect(error).toHaveBeenCalledWith(
        "unreadable nudge record",
        expect.objectContaining({ sequenceNumber: "200" }),
      );
    } finally {
      error.mockRestore();
    }
  });
});
