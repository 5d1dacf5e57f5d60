import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import { Config, type Limits } from "@conveyor/core/config";
import { createCore } from "@conveyor/core/core";
import { serve } from "@hono/node-server";
import { type AgentCoreEmulatorOptions, startAgentCoreEmulator } from "./agentcore.ts";
import { startDynamo } from "./dynamo.ts";
import { startEventSources } from "./event-sources.ts";
import { mintLocalTokens, writeLocalState } from "./local-state.ts";
import { claimPort } from "./ports.ts";
import { provision } from "./provision.ts";
import { startReconcileCron } from "./reconcile-cron.ts";
import { startSqs } from "./sqs.ts";
import { startWebServer } from "./web-server.ts";
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
  /**
   * How often an idle stream shard is read. Default 250 ms, as Lambda polls a shard about 4 times
   * a second, so local latencies predict the cloud's; tests that measure the poller may go faster.
   */
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
  /** Signs webhook deliveries (`POST /v1/github/webhook`); without it the route answers 404. */
  githubWebhookSecret?: string;
  /** `login:user,...` (CONVEYOR_GITHUB_USERS): GitHub logins linked to local users. */
  githubUsers?: string;
  /** The GitHub subscription's batching window; default `streamSubscriptions.EventsGithub`'s (3 s). */
  githubBatchingWindowMs?: number;
  /** Serve the dashboard's build from `distDir` (default port 8790; a free one with `port: 0`). */
  web?: { distDir: string; port?: number };
  log?: (entry: Record<string, unknown>) => void;
}

type Stops = (() => Promise<unknown>)[];
let running = false;

/**
 * Boots the whole stack in this process: DynamoDB Local, the SQS server, the tables
 * and queues from the shared definitions, the API (the same Hono app as in Lambda),
 * the WebSocket gateway, the event source mappings, the reconciler's cron and the
 * AgentCore emulator; then writes `local.json` for clients.
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
  const stops: Stops = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
    stops.length = 0;
  };

  try {
    const apiPort = await claimPort(opts.port ?? 8787, "the API");
    const emulators = await startEmulators(opts, stops);
    const { config, queueArns, ports } = await provisionStack(opts, emulators, stateDir);
    const core = createCore(config);
    const tokens = await mintLocalTokens(core, stateDir);
    const handlers = await loadHandlers();

    const agentcore = await startAgentCoreEmulator({
      port: ports.agentcore,
      config,
      logDir: join(stateDir, "logs"),
      idleMs: opts.agentIdleMs ?? 5_000,
      fault: opts.fault,
      agentEnv: { ...opts.agentEnv, ...(opts.brain ? { CONVEYOR_BRAIN: opts.brain } : {}) },
    });
    stops.push(agentcore.stop);
    const gateway = await startWsGateway({
      port: ports.ws,
      stage: "local",
      handlers: handlers.ws,
      idleTimeoutMs: opts.wsIdleTimeoutMs,
      maxConnectionMs: opts.wsMaxConnectionMs,
      throttle: opts.wsThrottle,
      log: opts.log,
    });
    stops.push(gateway.stop);
    stops.push(
      ...startEventSources({
        config,
        ...emulators,
        queueArns,
        handlers: handlers.sources,
        dispatch: opts.dispatch !== false,
        streamPollMs: opts.streamPollMs,
        githubBatchingWindowMs: opts.githubBatchingWindowMs,
        log: opts.log,
      }),
    );
    // Every minute in AWS, every 10 s here by default.
    const reconcileMs = opts.reconcileMs ?? 10_000;
    const reconciler =
      reconcileMs > 0
        ? startReconcileCron({ run: handlers.reconcile, everyMs: reconcileMs, log: opts.log })
        : undefined;
    if (reconciler) stops.push(reconciler.stop);
    // The API opens last: nothing is accepted before its consumers run.
    const apiUrl = await startApi(handlers.api, apiPort, stops);
    const web = opts.web
      ? await startWebServer({
          distDir: opts.web.distDir,
          port: opts.port === 0 ? 0 : (opts.web.port ?? 8790),
          apiUrl,
          wsUrl: gateway.url,
        })
      : undefined;
    if (web) stops.push(web.stop);

    const local = {
      apiUrl,
      wsUrl: gateway.url,
      ...(web ? { webUrl: web.url } : {}),
      token: tokens.dev,
      tokens,
      dynamoEndpoint: emulators.dynamoEndpoint,
      sqsEndpoint: emulators.sqsEndpoint,
      agentcoreEndpoint: agentcore.endpoint,
      pids: { stack: process.pid, dynamodb: emulators.dynamoPid },
    };
    const clearLocalState = writeLocalState(stateDir, local);
    // Pushed last, so it runs first on stop: clients stop trusting the file before the ports close.
    stops.push(async () => clearLocalState());
    return {
      ...local,
      config,
      core,
      agentcore,
      gateway,
      reconciler,
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

/** DynamoDB Local and the SQS server, unless the caller runs them already (tests share one pair). */
async function startEmulators(opts: LocalStackOptions, stops: Stops) {
  const free = opts.port === 0;
  let dynamoPid: number | undefined;
  let dynamoEndpoint = opts.dynamoEndpoint;
  if (!dynamoEndpoint) {
    const dynamo = await startDynamo({ port: free ? 0 : 8000, persistDir: opts.persistDir });
    stops.push(dynamo.stop);
    dynamoPid = dynamo.pid;
    dynamoEndpoint = dynamo.endpoint;
  }
  let sqsEndpoint = opts.sqsEndpoint;
  if (!sqsEndpoint) {
    const sqs = await startSqs({ port: free ? 0 : 9324 });
    stops.push(sqs.stop);
    sqsEndpoint = sqs.endpoint;
  }
  return { dynamoEndpoint, sqsEndpoint, dynamoPid };
}

/** Tables and queues, the ports of the emulated AWS services, and the links handlers read. */
async function provisionStack(
  opts: LocalStackOptions,
  emulators: { dynamoEndpoint: string; sqsEndpoint: string },
  stateDir: string,
) {
  const free = opts.port === 0;
  const provisioned = await provision({
    ...emulators,
    prefix: opts.prefix ?? "conveyor-local-",
    limits: opts.limits,
    visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds,
  });
  const agentcorePort = await claimPort(free ? 0 : 8789, "the AgentCore emulator");
  const wsPort = await claimPort(free ? 0 : 8788, "the WebSocket API");
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
      webhookSecret: opts.githubWebhookSecret || undefined,
      users: Config.parseUsers(opts.githubUsers),
    },
  };
  linkResources(config);
  return { config, queueArns: provisioned.queueArns, ports: { agentcore: agentcorePort, ws: wsPort } };
}

/** The same handlers as in AWS, imported after the links are set (they read them once). */
async function loadHandlers() {
  const { app } = await import("@conveyor/functions/api");
  return {
    api: app,
    ws: {
      connect: (await import("@conveyor/functions/ws/connect")).handler,
      disconnect: (await import("@conveyor/functions/ws/disconnect")).handler,
      default: (await import("@conveyor/functions/ws/default")).handler,
    },
    sources: {
      dispatch: (await import("@conveyor/functions/queue/dispatch")).handler,
      dlq: (await import("@conveyor/functions/queue/dlq")).handler,
      webhook: (await import("@conveyor/functions/queue/webhook")).handler,
      fanout: (await import("@conveyor/functions/stream/fanout")).handler,
      github: (await import("@conveyor/functions/stream/github")).handler,
      nudge: (await import("@conveyor/functions/stream/nudge")).handler,
    },
    reconcile: (await import("@conveyor/functions/cron/reconcile")).handler,
  };
}

/** The HTTP API on its port; resolves with its URL. */
async function startApi(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  port: number,
  stops: Stops,
) {
  const server = await new Promise<Server>((resolveServer) => {
    const s = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => resolveServer(s as Server));
  });
  stops.push(
    () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(r);
      }),
  );
  return `http://127.0.0.1:${port}`;
}

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
  link("WebhookQueue", { url: config.queues.webhook, type: "sst.aws.Queue" });
  link("AgentRuntime", { value: config.runtimeArn, type: "sst.sst.Secret" });
  // Empty without a token: the handlers then write comments to the state dir.
  link("GitHubToken", { value: config.github?.token ?? "", type: "sst.sst.Secret" });
  link("GitHubWebhookSecret", { value: config.github?.webhookSecret ?? "", type: "sst.sst.Secret" });
  link("Realtime", {
    url: config.endpoints.realtime?.replace(/^http/, "ws"),
    managementEndpoint: config.endpoints.realtime,
    type: "sst.aws.ApiGatewayWebSocket",
  });
  // Endpoints, local credentials and limits; table names come from the links above.
  Object.assign(process.env, Config.toEnv(config));
}
