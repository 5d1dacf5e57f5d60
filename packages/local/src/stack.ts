import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import { Auth } from "@conveyor/core/auth";
import { Config, type Limits } from "@conveyor/core/config";
import { createCore } from "@conveyor/core/core";
import { streamSubscriptions } from "@conveyor/core/tables";
import { serve } from "@hono/node-server";
import { type AgentCoreEmulatorOptions, startAgentCoreEmulator } from "./agentcore.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamo } from "./dynamo.ts";
import { claimPort } from "./ports.ts";
import { provision } from "./provision.ts";
import { sqsClient, startSqs } from "./sqs.ts";
import { startSqsPoller } from "./sqs-poller.ts";
import { type StreamPollerOptions, startStreamPoller } from "./streams-poller.ts";
import { startWsGateway } from "./ws-gateway.ts";

export interface LocalStackOptions {
  /** API port; 0 picks free ports for every service (tests do). Default 8787. */
  port?: number;
  /** Holds local.json, tokens and logs. Default `.conveyor`. */
  stateDir?: string;
  /** Keep DynamoDB data on disk here instead of in memory. */
  persistDir?: string;
  /** Reuse running emulators instead of starting them (tests share one per run). */
  dynamoEndpoint?: string;
  sqsEndpoint?: string;
  /** Table and queue name prefix. */
  prefix?: string;
  limits?: Partial<Limits>;
  visibilityTimeoutSeconds?: number;
  /** An agent session idle this long is stopped (AgentCore: 15 min; locally 5 s, to keep memory low). */
  agentIdleMs?: number;
  /** The agents' default brain (CONVEYOR_BRAIN); a task's `options.brain` overrides it. */
  brain?: "scripted" | "claude";
  /** More environment for agent processes (model endpoint, CONVEYOR_GIT_BASE, …). */
  agentEnv?: Record<string, string>;
  /** Accept and store tasks without dispatching them (benchmarks of the submit path). */
  dispatch?: boolean;
  fault?: AgentCoreEmulatorOptions["fault"];
  /** How often the Events stream is read when idle (Lambda polls a shard about 4 times a second). */
  streamPollMs?: number;
  wsIdleTimeoutMs?: number;
  wsMaxConnectionMs?: number;
  wsThrottle?: (connectionId: string) => boolean;
  /** Reconciler period; 0 turns it off (tests that drive it by hand). Default 10 s. */
  reconcileMs?: number;
  /** GitHub REST base URL (GitHub Enterprise Server, a fake in tests). Default https://api.github.com. */
  githubApiUrl?: string;
  /** With a token, status comments go to GitHub; without, each render to `<stateDir>/comments/<taskId>.md`. */
  githubToken?: string;
  /** The GitHub subscription's batching window; default `streamSubscriptions.EventsGithub`'s (3 s). */
  githubBatchingWindowMs?: number;
  log?: (entry: Record<string, unknown>) => void;
}

export const LOCAL_USERS = ["dev", "alice"] as const;
let running = false;

/**
 * Boots the whole stack in this process: DynamoDB Local, the SQS server, the tables
 * and queues from the shared definitions, the API (the same Hono app as in Lambda),
 * the TaskQueue event source mapping and the AgentCore emulator.
 *
 * @example
 * const stack = await startLocalStack({ port: 0, stateDir: tmp });
 * await fetch(`${stack.apiUrl}/health`);
 * await stack.stop();
 */
export async function startLocalStack(opts: LocalStackOptions = {}) {
  // Handlers read their links once per process (as in Lambda), so a second stack would talk to the first one's tables.
  if (running) throw new Error("One local stack per process: stop the running one first");
  running = true;
  const started = Date.now();
  const stateDir = resolve(opts.stateDir ?? ".conveyor");
  mkdirSync(stateDir, { recursive: true });
  const free = opts.port === 0;
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
    stops.length = 0;
  };

  try {
    const apiPort = await claimPort(opts.port ?? 8787, "the API");
    let dynamoPid: number | undefined;
    const dynamoEndpoint =
      opts.dynamoEndpoint ??
      (await (async () => {
        const dynamo = await startDynamo({ port: free ? 0 : 8000, persistDir: opts.persistDir });
        stops.push(dynamo.stop);
        dynamoPid = dynamo.pid;
        return dynamo.endpoint;
      })());
    const sqsEndpoint =
      opts.sqsEndpoint ??
      (await (async () => {
        const sqs = await startSqs({ port: free ? 0 : 9324 });
        stops.push(sqs.stop);
        return sqs.endpoint;
      })());

    const prefix = opts.prefix ?? "conveyor-local-";
    const provisioned = await provision({
      dynamoEndpoint,
      sqsEndpoint,
      prefix,
      limits: opts.limits,
      visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds,
    });
    const queueArns = provisioned.queueArns;
    const agentcorePort = await claimPort(free ? 0 : 8789, "the AgentCore emulator");
    const wsPort = await claimPort(free ? 0 : 8788, "the WebSocket API");
    const wsUrl = `ws://127.0.0.1:${wsPort}/local`;
    const config: Config = {
      ...provisioned.config,
      endpoints: {
        ...provisioned.config.endpoints,
        agentcore: `http://127.0.0.1:${agentcorePort}`,
        realtime: `http://127.0.0.1:${wsPort}/local`,
      },
      github: {
        apiUrl: opts.githubApiUrl || "https://api.github.com",
        token: opts.githubToken || undefined,
        commentsDir: join(stateDir, "comments"),
      },
    };
    linkResources(config);

    const core = createCore(config);
    const tokens = await mintLocalTokens(core, stateDir);

    // The same handlers as in AWS, imported after the links are set.
    const { app } = await import("@conveyor/functions/api");
    const dispatch = await import("@conveyor/functions/queue/dispatch");
    const ws = {
      connect: (await import("@conveyor/functions/ws/connect")).handler,
      disconnect: (await import("@conveyor/functions/ws/disconnect")).handler,
      default: (await import("@conveyor/functions/ws/default")).handler,
    };
    const fanout = await import("@conveyor/functions/stream/fanout");
    const githubStream = await import("@conveyor/functions/stream/github");
    const nudgeStream = await import("@conveyor/functions/stream/nudge");
    const dlq = await import("@conveyor/functions/queue/dlq");
    const reconcile = await import("@conveyor/functions/cron/reconcile");

    const agentcore = await startAgentCoreEmulator({
      port: agentcorePort,
      config,
      logDir: join(stateDir, "logs"),
      idleMs: opts.agentIdleMs ?? 5_000,
      fault: opts.fault,
      agentEnv: { ...opts.agentEnv, ...(opts.brain ? { CONVEYOR_BRAIN: opts.brain } : {}) },
    });
    stops.push(agentcore.stop);

    if (opts.dispatch !== false) {
      const poller = startSqsPoller({
        client: sqsClient(sqsEndpoint),
        queueUrl: config.queues.task,
        queueArn: queueArns.task,
        handler: dispatch.handler,
        log: opts.log,
      });
      stops.push(poller.stop);
    }

    const gateway = await startWsGateway({
      port: wsPort,
      stage: "local",
      handlers: ws,
      idleTimeoutMs: opts.wsIdleTimeoutMs,
      maxConnectionMs: opts.wsMaxConnectionMs,
      throttle: opts.wsThrottle,
      log: opts.log,
    });
    stops.push(gateway.stop);

    /** One stream's event source mapping, with the settings infra gives it (core's streamSubscriptions). */
    const mapStream = (
      name: keyof typeof streamSubscriptions,
      tableName: string,
      handler: StreamPollerOptions["handler"],
      overrides: Partial<StreamPollerOptions> = {},
    ) => {
      const settings = streamSubscriptions[name];
      const poller = startStreamPoller({
        endpoint: dynamoEndpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        tableName,
        handler,
        filters: settings.filters.map((f) => ({ ...f, eventName: [...f.eventName] })),
        startingPosition: settings.startingPosition,
        batchSize: settings.batchSize,
        maximumBatchingWindowInSeconds: settings.maximumBatchingWindowInSeconds,
        maximumRetryAttempts: settings.maximumRetryAttempts,
        bisectBatchOnFunctionError: settings.bisectBatchOnFunctionError,
        maximumRecordAgeSeconds: settings.maximumRecordAgeSeconds,
        pollIntervalMs: opts.streamPollMs,
        log: opts.log,
        ...overrides,
      });
      stops.push(poller.stop);
      return poller;
    };
    // Events -> WebSocket watchers; Events -> the GitHub comments (batched over a window);
    // Nudges -> `nudge.received` and a push to the running agent.
    mapStream("EventsFanout", config.tables.events, fanout.handler);
    mapStream(
      "EventsGithub",
      config.tables.events,
      githubStream.handler,
      opts.githubBatchingWindowMs === undefined
        ? {}
        : { maximumBatchingWindowInSeconds: opts.githubBatchingWindowMs / 1_000 },
    );
    mapStream("NudgesDispatch", config.tables.nudges, nudgeStream.handler);

    // TaskDlq's drain, so no dead letter sits there unexplained.
    const dlqPoller = startSqsPoller({
      client: sqsClient(sqsEndpoint),
      queueUrl: config.queues.dlq,
      queueArn: queueArns.dlq,
      handler: dlq.handler,
      concurrency: 1,
      log: opts.log,
    });
    stops.push(dlqPoller.stop);

    // The reconciler cron: every minute in AWS, every 10 s here by default.
    const reconcileMs = opts.reconcileMs ?? 10_000;
    let reconciling: Promise<unknown> = Promise.resolve();
    const cron =
      reconcileMs > 0
        ? setInterval(() => {
            reconciling = reconcile
              .handler()
              .catch((error) => opts.log?.({ level: "error", msg: "reconcile threw", error: String(error) }));
          }, reconcileMs)
        : undefined;
    stops.push(async () => {
      clearInterval(cron);
      await reconciling;
    });

    const server = await new Promise<Server>((resolveServer) => {
      const s = serve({ fetch: app.fetch, port: apiPort, hostname: "127.0.0.1" }, () =>
        resolveServer(s as Server),
      );
    });
    stops.push(
      () =>
        new Promise((r) => {
          server.closeAllConnections?.();
          server.close(r);
        }),
    );

    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const local = {
      apiUrl,
      wsUrl,
      token: tokens.dev,
      tokens,
      dynamoEndpoint,
      sqsEndpoint,
      agentcoreEndpoint: agentcore.endpoint,
      pids: { stack: process.pid, dynamodb: dynamoPid },
    };
    writeFileSync(join(stateDir, "local.json"), `${JSON.stringify(local, null, 2)}\n`);

    return {
      ...local,
      config,
      core,
      agentcore,
      gateway,
      stateDir,
      bootMs: Date.now() - started,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export type LocalStack = Awaited<ReturnType<typeof startLocalStack>>;

/** What `sst dev` would give a handler: `SST_RESOURCE_*` links, plus local endpoint overrides. */
function linkResources(config: Config) {
  const link = (name: string, value: Record<string, unknown>) => {
    process.env[`SST_RESOURCE_${name}`] = JSON.stringify(value);
  };
  link("App", { name: "conveyor", stage: "local" });
  link("Tasks", { name: config.tables.tasks, type: "sst.aws.Dynamo" });
  link("Events", { name: config.tables.events, type: "sst.aws.Dynamo" });
  link("Nudges", { name: config.tables.nudges, type: "sst.aws.Dynamo" });
  link("Connections", { name: config.tables.connections, type: "sst.aws.Dynamo" });
  link("TaskQueue", { url: config.queues.task, type: "sst.aws.Queue" });
  link("TaskDlq", { url: config.queues.dlq, type: "sst.aws.Queue" });
  link("AgentRuntime", { value: config.runtimeArn, type: "sst.sst.Secret" });
  // Empty without a token: the handlers then write comments to the state dir.
  link("GitHubToken", { value: config.github?.token ?? "", type: "sst.sst.Secret" });
  link("Realtime", {
    url: config.endpoints.realtime?.replace(/^http/, "ws"),
    managementEndpoint: config.endpoints.realtime,
    type: "sst.aws.ApiGatewayWebSocket",
  });
  // Endpoints, local credentials and limits; table names come from the links above.
  Object.assign(process.env, Config.toEnv(config));
}

/** Dev users keep the same tokens across restarts: they live in the state dir. */
async function mintLocalTokens(core: ReturnType<typeof createCore>, stateDir: string) {
  const file = join(stateDir, "tokens.json");
  const saved: Record<string, string> = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const tokens: Record<string, string> = {};
  for (const userId of LOCAL_USERS) {
    tokens[userId] = await Auth.mint(core, {
      tenantId: "local",
      userId,
      name: "local dev",
      token: saved[userId],
    });
  }
  writeFileSync(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  return tokens as Record<(typeof LOCAL_USERS)[number], string>;
}
