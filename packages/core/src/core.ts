import type { Config } from "./config.ts";
import { createStore, type Store } from "./dynamo.ts";
import { githubPort } from "./github/adapter.ts";
import type { GitHubPort } from "./github/port.ts";
import { sqsTaskQueue, type TaskQueue } from "./queue/index.ts";
import { apiGatewayPusher, type RealtimePusher } from "./realtime/pusher.ts";
import { type AgentRuntime, agentCoreRuntime } from "./runtime/index.ts";

/**
 * Everything a use-case needs: configuration, the store, the ports and a clock.
 * Built once per entry point; ports are created on first use so an agent that
 * never sends to SQS never builds an SQS client.
 */
export interface Core {
  readonly config: Config;
  readonly store: Store;
  readonly queue: TaskQueue;
  readonly runtime: AgentRuntime;
  readonly pusher: RealtimePusher;
  readonly github: GitHubPort;
  /**
   * What other domains owe a task once it has ended: its pending nudges expire. Task's
   * lifecycle runs it after every terminal commit (task/lifecycle.ts); it is wired here, where
   * every entry point builds its Core, so no caller can miss it while the lifecycle never
   * imports steering (Nudge depends on Task, never the reverse). Steering loads on first use.
   * It takes the Core to act with, so a copy with other ports (`{ ...core, queue }`) is honoured.
   */
  taskEnded(core: Core, taskId: string): Promise<void>;
  now(): number;
}

export function createCore(
  config: Config,
  ports: {
    queue?: TaskQueue;
    runtime?: AgentRuntime;
    pusher?: RealtimePusher;
    github?: GitHubPort;
    now?: () => number;
  } = {},
): Core {
  let store: Store | undefined;
  let queue = ports.queue;
  let runtime = ports.runtime;
  let pusher = ports.pusher;
  let github = ports.github;
  return {
    config,
    get store() {
      store ??= createStore(config);
      return store;
    },
    get queue() {
      queue ??= sqsTaskQueue(config);
      return queue;
    },
    get runtime() {
      runtime ??= agentCoreRuntime(config);
      return runtime;
    },
    get pusher() {
      pusher ??= apiGatewayPusher(config);
      return pusher;
    },
    get github() {
      github ??= githubPort(config);
      return github;
    },
    async taskEnded(core, taskId) {
      const { Nudge } = await import("./nudge/index.ts");
      await Nudge.expireAll(core, taskId);
    },
    now: ports.now ?? Date.now,
  };
}
