/**
 * Submit latency against the local stack, beside the bare emulator cost of the same
 * writes (one TransactWriteItems of four items + one SendMessage), measured in the same run.
 *
 *   pnpm bench            (SUBMITS=1000 CONCURRENCY=20 to change the load)
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { dynamoClient } from "@conveyor/core/dynamo";
import { newId } from "@conveyor/core/util/ulid";
import { sqsClient } from "@conveyor/local/sqs";
import { startLocalStack } from "@conveyor/local/stack";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const SUBMITS = Number(process.env.SUBMITS ?? 1000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 20);

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const summary = (samples: number[]) => {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), n: s.length };
};
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

/** Runs `fn` `total` times from `concurrency` clients; returns each call's latency. */
async function load(total: number, concurrency: number, fn: (i: number) => Promise<void>) {
  const samples: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await fn(i);
        samples.push(performance.now() - t0);
      }
    }),
  );
  return summary(samples);
}

// 1. Submit path, with dispatch off so agents do not compete for the two cores.
const submitStack = await startLocalStack({
  port: 0,
  stateDir: mkdtempSync(join(tmpdir(), "conveyor-bench-")),
  dispatch: false,
  limits: { activePerUser: 1_000_000, queuedPerUser: 1_000_000 },
});
const { apiUrl, token, config } = submitStack;
const body = JSON.stringify({ repo: "acme/api", description: "benchmark task" });
const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };

await load(50, CONCURRENCY, async () => {
  await fetch(`${apiUrl}/v1/tasks`, { method: "POST", headers, body }).then((r) => r.arrayBuffer());
}); // warm-up
const api = await load(SUBMITS, CONCURRENCY, async () => {
  const res = await fetch(`${apiUrl}/v1/tasks`, { method: "POST", headers, body });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
});

const dynamo = dynamoClient(config);
const sqs = sqsClient(config.endpoints.sqs!);
const S = (value: string) => ({ S: value });
const bare = await load(SUBMITS, CONCURRENCY, async (i) => {
  const id = newId();
  await dynamo.send(
    new TransactWriteItemsCommand({
      TransactItems: [
        {
          Put: {
            TableName: config.tables.tasks,
            Item: { pk: S(`bench#${id}`), sk: S("task"), body: S(body) },
            ConditionExpression: "attribute_not_exists(pk)",
          },
        },
        {
          Update: {
            TableName: config.tables.tasks,
            Key: { pk: S(`benchquota#${i % CONCURRENCY}`), sk: S("quota") },
            UpdateExpression: "ADD active :one",
            ConditionExpression: "attribute_not_exists(active) OR active < :max",
            ExpressionAttributeValues: { ":one": { N: "1" }, ":max": { N: "1000000000" } },
          },
        },
        {
          Put: {
            TableName: config.tables.tasks,
            Item: { pk: S(`benchidem#${id}`), sk: S("idem"), taskId: S(id) },
          },
        },
        {
          Put: {
            TableName: config.tables.events,
            Item: { pk: S(id), sk: S(newId()), type: S("task.submitted") },
          },
        },
      ],
    }),
  );
  await sqs.send(
    new SendMessageCommand({ QueueUrl: config.queues.task, MessageBody: JSON.stringify({ taskId: id }) }),
  );
});
await submitStack.stop();

console.log(`
Submit latency, ${SUBMITS} submits from ${CONCURRENCY} concurrent clients
  POST /v1/tasks (local stack)       p50 ${fmt(api.p50)}   p99 ${fmt(api.p99)}
  bare TransactWriteItems + SendMessage p50 ${fmt(bare.p50)}   p99 ${fmt(bare.p99)}
  overhead over the emulators        p50 ${fmt(api.p50 - bare.p50)}   p99 ${fmt(api.p99 - bare.p99)}
`);
process.exit(0);
