import type { Config } from "@conveyor/core/config";
import { streamSubscriptions } from "@conveyor/core/tables";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "./dynamo.ts";
import { sqsClient } from "./sqs.ts";
import { type SqsPollerOptions, startSqsPoller } from "./sqs-poller.ts";
import { type StreamPollerOptions, startStreamPoller } from "./streams-poller.ts";

export interface EventSourcesOptions {
  config: Config;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  queueArns: { task: string; dlq: string; webhook: string };
  handlers: {
    dispatch: SqsPollerOptions["handler"];
    dlq: SqsPollerOptions["handler"];
    webhook: SqsPollerOptions["handler"];
    fanout: StreamPollerOptions["handler"];
    github: StreamPollerOptions["handler"];
    nudge: StreamPollerOptions["handler"];
  };
  /** Accept tasks without dispatching them: no TaskQueue consumer. */
  dispatch: boolean;
  /** How often an idle shard is read; default the poller's (250 ms, as Lambda). */
  streamPollMs?: number;
  /** The GitHub subscription's batching window; default its subscription's. */
  githubBatchingWindowMs?: number;
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * The event source mappings infra declares, emulated: TaskQueue -> dispatch, TaskDlq -> its
 * drain, WebhookQueue -> webhook deliveries, and each stream subscription with its settings from core's `streamSubscriptions`.
 * Returns their stops, in start order.
 */
export function startEventSources(opts: EventSourcesOptions): (() => Promise<void>)[] {
  const { config, queueArns, handlers, log } = opts;
  const stops: (() => Promise<void>)[] = [];

  if (opts.dispatch) {
    const poller = startSqsPoller({
      client: sqsClient(opts.sqsEndpoint),
      queueUrl: config.queues.task,
      queueArn: queueArns.task,
      handler: handlers.dispatch,
      log,
    });
    stops.push(poller.stop);
  }

  /** One stream's event source mapping, with the settings infra gives it. */
  const mapStream = (
    name: keyof typeof streamSubscriptions,
    tableName: string,
    handler: StreamPollerOptions["handler"],
    overrides: Partial<StreamPollerOptions> = {},
  ) => {
    const settings = streamSubscriptions[name];
    const poller = startStreamPoller({
      endpoint: opts.dynamoEndpoint,
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
      log,
      ...overrides,
    });
    stops.push(poller.stop);
  };
  // Events -> WebSocket watchers; Events -> the GitHub comments (batched over a window);
  // Nudges -> `nudge.received` and a push to the running agent.
  mapStream("EventsFanout", config.tables.events, handlers.fanout);
  mapStream(
    "EventsGithub",
    config.tables.events,
    handlers.github,
    opts.githubBatchingWindowMs === undefined
      ? {}
      : { maximumBatchingWindowInSeconds: opts.githubBatchingWindowMs / 1_000 },
  );
  mapStream("NudgesPush", config.tables.nudges, handlers.nudge);

  // WebhookQueue -> deliveries to receivers (WebhookDlq has no consumer: its letters wait there).
  const webhookPoller = startSqsPoller({
    client: sqsClient(opts.sqsEndpoint),
    queueUrl: config.queues.webhook,
    queueArn: queueArns.webhook,
    handler: handlers.webhook,
    log,
  });
  stops.push(webhookPoller.stop);

  // TaskDlq's drain, so no dead letter sits there unexplained.
  const dlqPoller = startSqsPoller({
    client: sqsClient(opts.sqsEndpoint),
    queueUrl: config.queues.dlq,
    queueArn: queueArns.dlq,
    handler: handlers.dlq,
    concurrency: 1,
    log,
  });
  stops.push(dlqPoller.stop);
  return stops;
}
