import { agentRuntime } from "./agent.ts";
import { handler, handlersOf } from "./function.ts";
import { queues } from "./queue.ts";
import { realtime } from "./realtime.ts";
import { githubToken } from "./secrets.ts";
import { storage } from "./storage.ts";

const [reconciler, ...others] = handlersOf("cron");
if (!reconciler || others.length > 0) throw new Error("handlers.ts must name exactly one cron handler");

/**
 * The reconciler (DESIGN §5.7), every minute through EventBridge Scheduler (CronV2; the
 * EventBridge-rule Cron is deprecated in SST 4). No retries: the next run is a minute away
 * and every step is idempotent.
 */
export const reconcile = new sst.aws.CronV2(reconciler.name, {
  schedule: "rate(1 minute)",
  function: handler(
    reconciler.name,
    { ...storage, ...queues, Realtime: realtime, GitHubToken: githubToken, AgentRuntime: agentRuntime },
    { timeout: "60 seconds" },
  ),
});

export const functions = { [reconciler.name]: reconcile.nodes.function.name };
