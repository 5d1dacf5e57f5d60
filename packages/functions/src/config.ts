import { Config } from "@conveyor/core/config";
import { type Core, createCore } from "@conveyor/core/core";
import { Resource } from "sst";

/**
 * The functions' Core, built once per Lambda instance on first use, from SST links.
 * Each function links only what it uses, so unlinked resources are simply absent.
 * Endpoint and credential overrides (local stack only) come from CONVEYOR_* variables.
 */
let core: Core | undefined;
export function useCore(): Core {
  core ??= createCore(fromResource());
  return core;
}

/** A linked resource's property, or "" when this function does not link it. */
function linked<T>(read: () => T): T | "" {
  try {
    return read();
  } catch {
    return "";
  }
}

function fromResource(): Config {
  return Config.fromEnv(
    {
      ...process.env,
      CONVEYOR_TASKS_TABLE: linked(() => Resource.Tasks.name),
      CONVEYOR_EVENTS_TABLE: linked(() => Resource.Events.name),
      CONVEYOR_NUDGES_TABLE: linked(() => Resource.Nudges.name),
      CONVEYOR_CONNECTIONS_TABLE: linked(() => Resource.Connections.name),
      CONVEYOR_TASK_QUEUE_URL: linked(() => Resource.TaskQueue.url),
      CONVEYOR_TASK_DLQ_URL: linked(() => Resource.TaskDlq.url),
      CONVEYOR_WEBHOOK_QUEUE_URL: linked(() => Resource.WebhookQueue.url),
      CONVEYOR_RUNTIME_ARN: linked(() => Resource.AgentRuntime.value),
      CONVEYOR_REALTIME_ENDPOINT:
        linked(() => Resource.Realtime.managementEndpoint) || process.env.CONVEYOR_REALTIME_ENDPOINT,
      // A secret in AWS; a plain variable is accepted where there are no links.
      CONVEYOR_GITHUB_TOKEN: linked(() => Resource.GitHubToken.value) || process.env.CONVEYOR_GITHUB_TOKEN,
      GITHUB_WEBHOOK_SECRET:
        linked(() => Resource.GitHubWebhookSecret.value) || process.env.GITHUB_WEBHOOK_SECRET,
    },
    [],
  );
}
