/**
 * One typed configuration, built once at each entry point and passed down.
 * Functions build it from SST links, agent-kit from CONVEYOR_* variables, the
 * local stack passes endpoints explicitly.
 */
export interface Config {
  region: string;
  tables: { tasks: string; events: string; nudges: string; connections: string };
  /** `webhook` (and its `webhookDlq`): outgoing webhook deliveries; "" where a function does not link it. */
  queues: { task: string; dlq: string; webhook: string; webhookDlq?: string };
  /**
   * Endpoint overrides for the local stack (absent in AWS), and the WebSocket API's
   * @connections management endpoint (in AWS too) for those that push to watchers.
   */
  endpoints: { dynamodb?: string; sqs?: string; agentcore?: string; realtime?: string };
  /** Static credentials for local emulators; absent in AWS (the default chain applies). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  runtimeArn: string;
  limits: Limits;
  /**
   * Which webhook targets are allowed. `public` (the cloud, and the default): https only, and no
   * host that resolves to a private, loopback or link-local address. `local` (the local stack):
   * any http(s) URL, so a receiver on 127.0.0.1 works.
   */
  webhookTargets?: "public" | "local";
  /** GitHub status comments (DESIGN §6); absent: comments are off. */
  github?: GitHubConfig;
}

export interface GitHubConfig {
  /** REST base URL: api.github.com, a GitHub Enterprise Server's `/api/v3`, or a fake in tests. */
  apiUrl: string;
  /** A personal or installation token, from a secret. Never logged, never handed to agents. */
  token?: string;
  /** Without a token: each render is written here as `<taskId>.md` (the local stack). */
  commentsDir?: string;
  /** The secret GitHub signs webhook deliveries with; absent: `POST /v1/github/webhook` is off. Never logged. */
  webhookSecret?: string;
  /**
   * GitHub logins linked to Conveyor users by configuration (`CONVEYOR_GITHUB_USERS`,
   * `login:user` or `login:tenant/user`, tenant `local` by default), beside `GitHubLink` items.
   */
  users?: Record<string, { tenantId: string; userId: string }>;
}

export interface Limits {
  /** Active (non-terminal, non-queued) tasks per user. */
  activePerUser: number;
  /** QUEUED tasks per user before submissions are refused. */
  queuedPerUser: number;
  /** How far followers rewind their cursor, in ms of ULID time. */
  skewMs: number;
  previewFieldBytes: number;
  previewEventBytes: number;
  /** SQS maxReceiveCount of TaskQueue (the redrive policy). */
  maxReceiveCount: number;
  heartbeatMs: number;
  /** A RUNNING task whose heartbeat is older than this has lost its agent. */
  heartbeatTimeoutMs: number;
  /** How long a cancelled RUNNING task has to stop by itself before it is forced. */
  cancelGraceMs: number;
  /** A SUBMITTED/STARTING task this old is re-enqueued; at `strandedFailMs` it is failed. */
  strandedRetryMs: number;
  strandedFailMs: number;
  /** QUEUED tasks older than this fail with `queue_expired`. */
  queueExpiryMs: number;
  /** Nudges per task: per minute, and pending at once. */
  nudgesPerMinute: number;
  nudgesPending: number;
  /** How long the reconciler lets a GSI catch up before trusting a recount. */
  indexSettleMs: number;
  idempotencyTtlSeconds: number;
  eventTtlDays: number;
  /** Least time between two status-comment edits of one task that change what it says (terminal: no wait). */
  githubThrottleMs: number;
  /** Least time between edits that only move turns, cost or the current step. */
  githubProgressMs: number;
  /** Least time between two mutative GitHub requests of one process (GitHub asks for 1 s). */
  githubWriteGapMs: number;
  /** Longest rate-limit wait honoured inside one delivery; longer ones fail it, for the stream or reconciler to retry. */
  githubMaxWaitMs: number;
  /** Base of the 5xx retry backoff: (n+1)² × this. */
  githubRetryBaseMs: number;
  /** Receives of one webhook delivery before it goes to WebhookDlq (WebhookQueue's maxReceiveCount). */
  webhookMaxAttempts: number;
  /** First retry of a failed webhook delivery after this many seconds, doubling per attempt (at most 12 h). */
  webhookBackoffSeconds: number;
  /** How long a webhook receiver has to answer. */
  webhookTimeoutMs: number;
  /** Webhook subscriptions per user. */
  webhooksPerUser: number;
}

export const defaultLimits: Limits = {
  activePerUser: 10,
  queuedPerUser: 100,
  skewMs: 5_000,
  previewFieldBytes: 2_048,
  previewEventBytes: 16_384,
  maxReceiveCount: 5,
  heartbeatMs: 15_000,
  heartbeatTimeoutMs: 60_000,
  cancelGraceMs: 60_000,
  strandedRetryMs: 60_000,
  strandedFailMs: 10 * 60_000,
  queueExpiryMs: 24 * 3600_000,
  nudgesPerMinute: 10,
  nudgesPending: 20,
  indexSettleMs: 1_000,
  idempotencyTtlSeconds: 24 * 3600,
  eventTtlDays: 30,
  githubThrottleMs: 3_000,
  githubProgressMs: 300_000,
  githubWriteGapMs: 1_000,
  githubMaxWaitMs: 60_000,
  githubRetryBaseMs: 1_000,
  webhookMaxAttempts: 8,
  webhookBackoffSeconds: 30,
  webhookTimeoutMs: 10_000,
  webhooksPerUser: 10,
};

export namespace Config {
  /** Builds limits from defaults plus `CONVEYOR_LIMIT_<NAME>` numeric overrides. */
  export function limitsFromEnv(env: Record<string, string | undefined>, base = defaultLimits): Limits {
    const limits = { ...base };
    for (const key of Object.keys(limits) as (keyof Limits)[]) {
      const raw = env[`CONVEYOR_LIMIT_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`];
      if (raw === undefined || raw === "") continue;
      const value = Number(raw);
      if (!Number.isFinite(value) || value < 0) throw new Error(`Invalid limit ${key}=${raw}`);
      limits[key] = value;
    }
    return limits;
  }

  /**
   * Configuration from CONVEYOR_* variables: the agent's (an AgentCore container has no
   * SST links), and the functions' once their links are read in. `required` fail loudly at start.
   */
  export function fromEnv(
    env: Record<string, string | undefined> = process.env,
    required = ["CONVEYOR_TASKS_TABLE", "CONVEYOR_EVENTS_TABLE", "CONVEYOR_NUDGES_TABLE"],
  ): Config {
    const need = (name: string) => {
      const value = env[name];
      if (!value && required.includes(name)) throw new Error(`${name} is not set`);
      return value ?? "";
    };
    const accessKeyId = env.CONVEYOR_ACCESS_KEY_ID;
    const secretAccessKey = env.CONVEYOR_SECRET_ACCESS_KEY;
    return {
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
      tables: {
        tasks: need("CONVEYOR_TASKS_TABLE"),
        events: need("CONVEYOR_EVENTS_TABLE"),
        nudges: need("CONVEYOR_NUDGES_TABLE"),
        connections: env.CONVEYOR_CONNECTIONS_TABLE ?? "",
      },
      queues: {
        task: env.CONVEYOR_TASK_QUEUE_URL ?? "",
        dlq: env.CONVEYOR_TASK_DLQ_URL ?? "",
        webhook: env.CONVEYOR_WEBHOOK_QUEUE_URL ?? "",
      },
      webhookTargets: env.CONVEYOR_WEBHOOK_TARGETS === "local" ? "local" : "public",
      endpoints: {
        dynamodb: env.CONVEYOR_DYNAMODB_ENDPOINT || undefined,
        sqs: env.CONVEYOR_SQS_ENDPOINT || undefined,
        agentcore: env.CONVEYOR_AGENTCORE_ENDPOINT || undefined,
        realtime: env.CONVEYOR_REALTIME_ENDPOINT || undefined,
      },
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
      runtimeArn: env.CONVEYOR_RUNTIME_ARN ?? "",
      limits: limitsFromEnv(env),
      github: {
        apiUrl: env.GITHUB_API_URL || "https://api.github.com",
        token: env.CONVEYOR_GITHUB_TOKEN || undefined,
        commentsDir: env.CONVEYOR_GITHUB_COMMENTS_DIR || undefined,
        webhookSecret: env.GITHUB_WEBHOOK_SECRET || undefined,
        users: parseUsers(env.CONVEYOR_GITHUB_USERS),
      },
    };
  }

  /**
   * `login:user,login:tenant/user` (CONVEYOR_GITHUB_USERS) as a map keyed by the lower-cased
   * login (GitHub logins are case-insensitive). A malformed entry fails loudly at start.
   */
  export function parseUsers(raw: string | undefined): GitHubConfig["users"] {
    if (!raw?.trim()) return undefined;
    const users: NonNullable<GitHubConfig["users"]> = {};
    for (const entry of raw
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean)) {
      const match = /^([A-Za-z0-9-]{1,39}):(?:([\w.-]{1,64})\/)?([\w.@-]{1,128})$/.exec(entry);
      if (!match)
        throw new Error(
          `Invalid CONVEYOR_GITHUB_USERS entry "${entry}" (want login:user or login:tenant/user)`,
        );
      users[match[1]!.toLowerCase()] = { tenantId: match[2] ?? "local", userId: match[3]! };
    }
    return users;
  }

  /** The inverse of fromEnv, for handing a configuration to an agent process: without the GitHub token or webhook secret. */
  export function toEnv(config: Config): Record<string, string> {
    const env: Record<string, string> = {
      AWS_REGION: config.region,
      CONVEYOR_TASKS_TABLE: config.tables.tasks,
      CONVEYOR_EVENTS_TABLE: config.tables.events,
      CONVEYOR_NUDGES_TABLE: config.tables.nudges,
      CONVEYOR_CONNECTIONS_TABLE: config.tables.connections,
      CONVEYOR_TASK_QUEUE_URL: config.queues.task,
      CONVEYOR_TASK_DLQ_URL: config.queues.dlq,
      CONVEYOR_RUNTIME_ARN: config.runtimeArn,
    };
    if (config.queues.webhook) env.CONVEYOR_WEBHOOK_QUEUE_URL = config.queues.webhook;
    if (config.webhookTargets) env.CONVEYOR_WEBHOOK_TARGETS = config.webhookTargets;
    if (config.endpoints.dynamodb) env.CONVEYOR_DYNAMODB_ENDPOINT = config.endpoints.dynamodb;
    if (config.endpoints.sqs) env.CONVEYOR_SQS_ENDPOINT = config.endpoints.sqs;
    if (config.endpoints.agentcore) env.CONVEYOR_AGENTCORE_ENDPOINT = config.endpoints.agentcore;
    if (config.endpoints.realtime) env.CONVEYOR_REALTIME_ENDPOINT = config.endpoints.realtime;
    if (config.github) env.GITHUB_API_URL = config.github.apiUrl;
    if (config.github?.commentsDir) env.CONVEYOR_GITHUB_COMMENTS_DIR = config.github.commentsDir;
    if (config.github?.users && Object.keys(config.github.users).length > 0) {
      env.CONVEYOR_GITHUB_USERS = Object.entries(config.github.users)
        .map(([login, u]) => `${login}:${u.tenantId}/${u.userId}`)
        .join(",");
    }
    if (config.credentials) {
      env.CONVEYOR_ACCESS_KEY_ID = config.credentials.accessKeyId;
      env.CONVEYOR_SECRET_ACCESS_KEY = config.credentials.secretAccessKey;
    }
    for (const [key, value] of Object.entries(config.limits)) {
      env[`CONVEYOR_LIMIT_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`] = String(value);
    }
    return env;
  }
}
