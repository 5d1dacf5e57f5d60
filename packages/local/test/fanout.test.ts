import { unmarshall } from "@aws-sdk/util-dynamodb";
import { createCore } from "@conveyor/core/core";
import { TaskEvent } from "@conveyor/core/event";
import { DeliveryError, Fanout, type FanoutRoute } from "@conveyor/core/fanout";
import { streamSubscriptions } from "@conveyor/core/tables";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { startStreamPoller } from "../src/streams-poller.ts";
import { sleep, testConfig } from "./harness.ts";

describe("fan-out through the Events stream", () => {
  it("a poison record holds back only its own task, and only until the retry policy gives up on it", async () => {
    const config = await testConfig();
    const core = createCore(config);
    const delivered = new Map<string, string[]>();
    let poison = "";
    const route: FanoutRoute = {
      name: "recording",
      async deliver(_core, taskId, events) {
        for (const [i, event] of events.entries()) {
          if (event.eventId === poison) throw new DeliveryError(i, new Error("poison"));
          delivered.set(taskId, [...(delivered.get(taskId) ?? []), event.eventId]);
        }
      },
    };
    const { EventsFanout } = streamSubscriptions;
    const poller = startStreamPoller({
      endpoint: config.endpoints.dynamodb!,
      region: config.region,
      credentials: config.credentials!,
      tableName: config.tables.events,
      filters: [{ eventName: ["INSERT"] }],
      maximumRetryAttempts: 2,
      bisectBatchOnFunctionError: EventsFanout.bisectBatchOnFunctionError,
      // Faster than Lambda's 250 ms: this test waits on deliveries and measures no latency.
      pollIntervalMs: 20,
      log: () => undefined,
      handler: async (event: DynamoDBStreamEvent) => {
        const records = event.Records.map((r) => ({
          sequenceNumber: r.dynamodb!.SequenceNumber!,
          event: TaskEvent.serialize(unmarshall(r.dynamodb!.NewImage as never)),
        }));
        const resumeAt = await Fanout.route(core, records, [route]);
        return { batchItemFailures: resumeAt ? [{ itemIdentifier: resumeAt }] : [] };
      },
    });
    try {
      const written: Record<"a" | "b", string[]> = { a: [], b: [] };
      for (let i = 0; i < 6; i++) {
        for (const task of ["a", "b"] as const) {
          const event = await TaskEvent.append(core, `task-${task}`, "agent.turn", { turn: i, text: task });
          written[task].push(event.eventId);
          if (task === "a" && i === 2) poison = event.eventId;
        }
      }
      const deadline = Date.now() + 20_000;
      while ((delivered.get("task-a")?.length ?? 0) < 5 && Date.now() < deadline) await sleep(50);
      // b is never held back; records after a's failure may come again (watchers dedup by eventId).
      expect([...new Set(delivered.get("task-b"))]).toEqual(written.b);
      // a's events arrive in order, the poison one is given up on, and everything after it still comes.
      expect(delivered.get("task-a")).toEqual(written.a.filter((id) => id !== poison));
      expect(poller.stats().discarded).toBeGreaterThanOrEqual(1);
    } finally {
      await poller.stop();
    }
  });
});
