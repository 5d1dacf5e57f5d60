import { Config } from "@conveyor/core/config";
import { type Core, createCore } from "@conveyor/core/core";
import { Resource } from "sst";

/**
 * The functions' Core, built once per Lambda instance on first use, from SST links.
 * Endpoint and credential overrides (local stack only) come from CONVEYOR_* variables.
 */
let core: Core | undefined;
export function useCore(): Core {
  core ??= createCore(fromResource());
  return core;
}

function fromResource(): Config {
  const env = Config.fromEnv({
    ...process.env,
    CONVEYOR_TASKS_TABLE: Resource.Tasks.name,
    CONVEYOR_EVENTS_TABLE: Resource.Events.name,
    CONVEYOR_NUDGES_TABLE: Resource.Nudges.name,
    CONVEYOR_CONNECTIONS_TABLE: Resource.Connections.name,
    CONVEYOR_TASK_QUEUE_URL: Resource.TaskQueue.url,
    CONVEYOR_TASK_DLQ_URL: Resource.TaskDlq.url,
    CONVEYOR_RUNTIME_ARN: Resource.AgentRuntime.value,
  });
  return env;
}
