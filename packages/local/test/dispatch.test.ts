import { GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { Actor } from "@conveyor/core/actor";
import { logger } from "@conveyor/core/log";
import { RUNTIME_RETRY } from "@conveyor/core/runtime";
import { Task } from "@conveyor/core/task";
import { handler } from "@conveyor/functions/queue/dispatch";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sqsClient } from "../src/sqs.ts";
import { toSqsRecord } from "../src/sqs-poller.ts";
import type { LocalStack } from "../src/stack.ts";
import { apiClient, sleep, startTestStack } from "./harness.ts";

const QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:TaskQueue";

// Permanent failures for one description, transient ones for another: the emulator's fault hook.
const faults = new Map<string, number>();

describe("dispatch", () => {
  let stack: LocalStack;
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    stack = await startTestStack({
      limits: { maxReceiveCount: 3 },
      visibilityTimeoutSeconds: 1,
      fault: (sessionId) => faults.get(sessionId),
    });
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(() => stack?.stop());

  const starts = (taskId: string) =>
    stack.agentcore.calls.filter(
      (c) => c.op === "invoke" && (c.payload as { taskId: string }).taskId === taskId,
    );

  async function expectOneRun(taskId: string) {
    const task = await api.waitFor(taskId, ["COMPLETED", "FAILED"]);
    expect(task.status).toBe("COMPLETED");
    const events = await api.allEvents(taskId);
    expect(events.filter((e) => e.type === "task.status" && e.data.to === "RUNNING")).toHaveLength(1);
    // The brain ran once: one plan, one of each turn.
    expect(events.filter((e) => e.type === "agent.milestone" && e.data.name === "plan")).toHaveLength(1);
    expect(events.filter((e) => e.type === "agent.turn").map((e) => e.data.turn)).toEqual([1, 2]);
  }

  it("runs a task once when its message is delivered twice", async () => {
    const res = await api.submit({
      repo: "acme/api",
      description: "twice",
      options: { turns: 2, stepMs: 50 },
    });
    const { taskId } = res.body.task;
    const sqs = sqsClient(stack.sqsEndpoint);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: stack.config.queues.task, MessageBody: JSON.stringify({ taskId }) }),
    );
    await expectOneRun(taskId);
    // Both deliveries may reach the runtime; the agent starts the task once.
    expect(starts(taskId).length).toBeGreaterThanOrEqual(1);
  });

  it("runs a task once when the same batch record is handled twice at the same time", async () => {
    const { task } = await Actor.provide({ type: "user", tenantId: "local", userId: "dev" }, () =>
      Task.submit(stack.core, {
        repo: "acme/api",
        description: "concurrent",
        options: { turns: 2, stepMs: 50 },
      }),
    );
    const record = (id: string) =>
      toSqsRecord(
        { MessageId: id, ReceiptHandle: id, Body: JSON.stringify({ taskId: task.taskId }) },
        QUEUE_ARN,
      );
    const event: SQSEvent = { Records: [record("m1"), record("m2")] };
    const [a, b] = await Promise.all([handler(event), handler(event)]);
    expect(a.batchItemFailures).toEqual([]);
    expect(b.batchItemFailures).toEqual([]);
    await expectOneRun(task.taskId);
  });

  it("recovers a crash between claim and invoke when the message comes back", async () => {
    const { task } = await Actor.provide({ type: "user", tenantId: "local", userId: "dev" }, async () => {
      const submitted = await Task.submit(stack.core, {
        repo: "acme/api",
        description: "claimed, then crash",
        options: { turns: 2, stepMs: 50 },
      });
      return submitted;
    });
    // The first delivery claimed the task and died before InvokeAgentRuntime. The poller may
    // already be working on the real message: claim only if it has not.
    await Actor.provide({ type: "system", name: "test" }, () =>
      Task.transition(stack.core, task.taskId, { from: ["SUBMITTED"], to: "STARTING", reason: "claimed" }),
    ).catch(() => undefined);
    const redelivered = await handler({
      Records: [
        toSqsRecord(
          {
            MessageId: "redelivery",
            ReceiptHandle: "r",
            Body: JSON.stringify({ taskId: task.taskId }),
            Attributes: { ApproximateReceiveCount: "2" },
          },
          QUEUE_ARN,
        ),
      ],
    });
    expect(redelivered.batchItemFailures).toEqual([]);
    await expectOneRun(task.taskId);
  });

  it("fails a task at once on a permanent runtime error, without retrying", async () => {
    const taskId = await submitWithFault(400);
    const task = await asAlice().waitFor(taskId, ["FAILED", "COMPLETED"]);
    expect(task.status).toBe("FAILED");
    expect(task.error.code).toBe("dispatch_failed");
    expect(task.error.message).toContain("ValidationException");
    await sleep(1_500); // past the visibility timeout: nothing comes back
    expect(starts(taskId)).toHaveLength(1);
  });

  it("fails a task dispatch_failed when the runtime keeps failing; the DLQ drain records and clears it", async () => {
    const deadLetters: string[] = [];
    const spy = vi.spyOn(logger, "warn").mockImplementation((msg, ...extra) => {
      const { taskId } = (extra[0] ?? {}) as { taskId?: string };
      if (msg === "dead letter" && taskId) deadLetters.push(taskId);
    });
    try {
      const taskId = await submitWithFault(503);
      const failed = await asAlice().waitFor(taskId, ["FAILED"], 30_000);
      expect(failed.error.code).toBe("dispatch_failed");
      // maxReceiveCount is 3 here: three receives, each retrying the 503 within the invocation
      // (core's runtime client), the last one fails the task. (With this test's 1 s visibility
      // timeout a receive's retries may still run when the next receive fails the task.)
      expect(starts(taskId).length).toBeGreaterThan(3);
      expect(starts(taskId).length).toBeLessThanOrEqual(3 * RUNTIME_RETRY.attempts);
      // The message moves to the DLQ after its last receive; the drain records it and empties the queue.
      const deadline = Date.now() + 15_000;
      while (!deadLetters.includes(taskId) && Date.now() < deadline) await sleep(100);
      expect(deadLetters).toContain(taskId);
      // The drain logs before its poller deletes the letter: wait for the queue to empty.
      const sqs = sqsClient(stack.sqsEndpoint);
      const depth = async () => {
        const left = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: stack.config.queues.dlq, AttributeNames: ["All"] }),
        );
        const attrs = left.Attributes ?? {};
        return (
          Number(attrs.ApproximateNumberOfMessages ?? 0) +
          Number(attrs.ApproximateNumberOfMessagesNotVisible ?? 0)
        );
      };
      while ((await depth()) > 0 && Date.now() < deadline + 15_000) await sleep(100);
      expect(await depth()).toBe(0);
      expect((await asAlice().task(taskId)).body.task.status).toBe("FAILED");
    } finally {
      spy.mockRestore();
    }
  });

  const asAlice = () => apiClient(stack.apiUrl, stack.tokens.alice);

  /** Submits through core with a queue port that arms the runtime fault before the message exists. */
  async function submitWithFault(status: number) {
    const queue = {
      send: async (taskId: string) => {
        faults.set(`conveyor-task-${taskId}`, status);
        await stack.core.queue.send(taskId);
      },
    };
    const { task } = await Actor.provide({ type: "user", tenantId: "local", userId: "alice" }, () =>
      Task.submit(
        { ...stack.core, queue },
        { repo: "acme/api", description: `fault ${status}`, options: { turns: 1 } },
      ),
    );
    return task.taskId;
  }
});
