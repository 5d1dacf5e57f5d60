import { streamSubscriptions } from "../packages/core/src/tables.ts";
import type { HandlerName } from "../packages/functions/src/handlers.ts";
import { agentRuntime } from "./agent.ts";
import { handler, handlersOf } from "./function.ts";
import { queues } from "./queue.ts";
import { realtime } from "./realtime.ts";
import { githubToken } from "./secrets.ts";
import { storage } from "./storage.ts";

/**
 * Where stream records go that a subscription gave up on (retries or record age used up):
 * the batch's shard and sequence range, not the records (they stay readable in the stream
 * for 24 h). The alarm on its depth says records were skipped; with the retry settings
 * below, that is a poison record or a dependency down for an hour.
 */
export const streamFailures = new sst.aws.Queue("StreamFailures", {
  transform: { queue: { messageRetentionSeconds: 14 * 24 * 3600 } },
});

/** Seconds each subscriber may run; the GitHub one waits out rate limits inside a delivery. */
const TIMEOUT_SECONDS: Partial<Record<HandlerName, number>> = { EventsGithub: 300 };

const available = {
  ...storage,
  ...queues,
  Realtime: realtime,
  GitHubToken: githubToken,
  AgentRuntime: agentRuntime,
};

/**
 * Every `stream:<Table>` handler subscribes to that table's stream with the mapping settings
 * written once in core's `streamSubscriptions` (the local stream poller uses the same):
 *
 * - INSERT filters at the mapping (handlers check `eventName` again; filtered records are
 *   skipped, never retried);
 * - TRIM_HORIZON, so nothing committed before the mapping is ready is missed (SST
 *   hard-codes LATEST: the transform overrides it);
 * - partial batch responses (ReportBatchItemFailures: the batch resumes at the first failed
 *   record), one batch per shard at a time (per-task order), bounded retries and record age
 *   so a poison record holds its shard back for a while, never for the stream's 24 h, and
 *   bisection where a failure is the record's rather than a dependency's.
 *
 * The fan-out's settings, for example: 100 records a batch at once (live watchers wait on
 * it), 10 retries with bisection (a poison record is isolated in about log2(100) = 7 splits,
 * which do not count as retries, so its neighbours are delivered), and records older than an
 * hour dropped (a watcher that far behind reconnects with `after` and pages from the table).
 */
export const subscriptions = Object.fromEntries(
  handlersOf("stream").map(({ name, source }) => {
    const settings = (
      streamSubscriptions as Record<string, (typeof streamSubscriptions)[keyof typeof streamSubscriptions]>
    )[name];
    if (!settings)
      throw new Error(`${name} is a stream handler with no streamSubscriptions.${name} settings`);
    if (settings.table !== source)
      throw new Error(`${name} reads ${source} but its settings say ${settings.table}`);
    const table = storage[settings.table];
    const subscriber = table.subscribe(
      name,
      handler(name, available, {
        timeout: `${TIMEOUT_SECONDS[name] ?? 60} seconds`,
        // The mapping writes to the failure destination with the function's role.
        permissions: [{ actions: ["sqs:SendMessage"], resources: [streamFailures.arn] }],
      }),
      {
        filters: settings.filters.map((filter) => ({ eventName: [...filter.eventName] })),
        transform: {
          eventSourceMapping: {
            startingPosition: settings.startingPosition,
            batchSize: settings.batchSize,
            maximumBatchingWindowInSeconds: settings.maximumBatchingWindowInSeconds,
            maximumRetryAttempts: settings.maximumRetryAttempts,
            bisectBatchOnFunctionError: settings.bisectBatchOnFunctionError,
            maximumRecordAgeInSeconds: settings.maximumRecordAgeSeconds,
            functionResponseTypes: ["ReportBatchItemFailures"],
            parallelizationFactor: 1,
            destinationConfig: { onFailure: { destinationArn: streamFailures.arn } },
          },
        },
      },
    );
    return [name, subscriber];
  }),
);

export const functions = Object.fromEntries(
  Object.entries(subscriptions).map(([name, subscriber]) => [
    name,
    subscriber.apply((s) => s.nodes.function.name),
  ]),
);
