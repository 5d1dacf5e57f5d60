import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Config } from "./config.ts";
import { documentClient } from "./dynamo.ts";
import { githubPort } from "./github/adapter.ts";
import type { GitHubPort } from "./github/port.ts";
import type { TaskQueue } from "./queue/index.ts";
import type { RealtimePusher } from "./realtime/pusher.ts";
import type { AgentRuntime } from "./runtime/port.ts";
import type { WebhookQueue } from "./webhook/queue.ts";

/**
 * Everything a use-case needs: configuration, the store, the ports and a clock.
 * Built once per entry point. Each port's adapter module (and its AWS client) is imported
 * on the port's first call, so a bundle split at `import()` loads only the clients its
 * entry point reaches: the stream fan-out never loads SQS or AgentCore.
 */
export interface Core {
  readonly config: Config;
  /** The DynamoDB document client (ElectroDB's entities are bound to it by `store(core)`, store.ts). */
  readonly db: DynamoDBDocumentClient;
  readonly queue: TaskQueue;
  readonly runtime: AgentRuntime;
  readonly pusher: RealtimePusher;
  readonly github: GitHubPort;
  /** Outgoing webhook deliveries (WebhookQueue). */
  readonly webhookQueue: WebhookQueue;
  /**
   * What other domains owe a task once it has ended: its pending nudges expire and its
   * pending approvals are denied. Task's
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
    webhookQueue?: WebhookQueue;
    now?: () => number;
  } = {},
): Core {
  let db: DynamoDBDocumentClient | undefined;
  let queue = ports.queue;
  let runtime = ports.runtime;
  let pusher = ports.pusher;
  let github = ports.github;
  let webhookQueue = ports.webhookQueue;
  return {
    config,
    get db() {
      db ??= documentClient(config);
      return db;
    },
    get queue() {
      queue ??= onFirstCall<TaskQueue>(
        () => import("./queue/sqs.ts").then((m) => m.sqsTaskQueue(config)),
        (use) => ({ send: async (taskId) => (await use()).send(taskId) }),
      );
      return queue;
    },
    get runtime() {
      runtime ??= onFirstCall<AgentRuntime>(
        () => import("./runtime/index.ts").then((m) => m.agentCoreRuntime(config)),
        (use) => ({
          invoke: async (sessionId, payload) => (await use()).invoke(sessionId, payload),
          stop: async (sessionId) => (await use()).stop(sessionId),
        }),
      );
      return runtime;
    },
    get pusher() {
      pusher ??= onFirstCall<RealtimePusher>(
        () => import("./realtime/pusher.ts").then((m) => m.apiGatewayPusher(config)),
        (use) => ({
          post: async (connectionId, data) => (await use()).post(connectionId, data),
          disconnect: async (connectionId) => (await use()).disconnect(connectionId),
        }),
      );
      return pusher;
    },
    get webhookQueue() {
      webhookQueue ??= onFirstCall<WebhookQueue>(
        () => import("./webhook/sqs.ts").then((m) => m.sqsWebhookQueue(config)),
        (use) => ({
          send: async (messages) => (await use()).send(messages),
          retryIn: async (receiptHandle, seconds) => (await use()).retryIn(receiptHandle, seconds),
        }),
      );
      return webhookQueue;
    },
    get github() {
      github ??= githubPort(config);
      return github;
    },
    async taskEnded(core, taskId) {
      const [{ Nudge }, { Approval }] = await Promise.all([
        import("./nudge/index.ts"),
        import("./approval/index.ts"),
      ]);
      await Nudge.expireAll(core, taskId);
      await Approval.settleAll(core, taskId);
    },
    now: ports.now ?? Date.now,
  };
}

/**
 * A port whose adapter is built on its first call: `forward` wraps each method around
 * `use()`, which loads the adapter once (a failed load is tried again on the next call).
 */
function onFirstCall<Port>(load: () => Promise<Port>, forward: (use: () => Promise<Port>) => Port): Port {
  let loading: Promise<Port> | undefined;
  const use = () => {
    loading ??= load().catch((error) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
  return forward(use);
}
