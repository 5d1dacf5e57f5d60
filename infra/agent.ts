import { handler, handlersOf, type Linkables } from "./function.ts";
import { DISPATCH_TIMEOUT_SECONDS, queues, taskQueue } from "./queue.ts";
import { realtime } from "./realtime.ts";
import { githubToken } from "./secrets.ts";
import { storage } from "./storage.ts";

/**
 * The agent runtime, the dispatcher that starts tasks on it, and the reconciler that
 * watches them. (The dispatcher, TaskQueue's consumer, lives here rather than in queue.ts:
 * a runtime infra creates needs the queue's URL, and the dispatcher needs the runtime's ARN.)
 *
 * How the dispatcher reaches the runtime: the `AgentRuntime` link, read by handlers as
 * `Resource.AgentRuntime.value` (the runtime ARN), and the IAM grants `handler()` derives
 * from it. By default it is a secret holding the ARN of a runtime deployed outside SST
 * (`sst secret set AgentRuntime arn:aws:bedrock-agentcore:...:runtime/...`, see docs/deploy.md).
 * With `CONVEYOR_AGENT_IMAGE` set to an ECR image of agent/Dockerfile (linux/arm64), infra
 * creates the runtime itself (`aws.bedrock.AgentcoreAgentRuntime`) and links its ARN instead.
 */
export const AGENT_IMAGE = process.env.CONVEYOR_AGENT_IMAGE || undefined;

export const agentRuntime: NonNullable<Linkables["AgentRuntime"]> = AGENT_IMAGE
  ? createdRuntime(AGENT_IMAGE)
  : (() => {
      const secret = new sst.Secret("AgentRuntime");
      return { link: secret, arn: secret.value };
    })();

/** At most this many dispatch batches at once (10 tasks each). */
export const DISPATCH_CONCURRENCY = 5;

const [dispatcher, ...others] = handlersOf("queue").filter((h) => h.source === "TaskQueue");
if (!dispatcher || others.length > 0) throw new Error("handlers.ts must name exactly one TaskQueue consumer");

/**
 * The dispatcher (DESIGN §5.2): batches of 10, a failed task retried alone (partial batch
 * responses). Its concurrency is bounded: AgentCore takes about 25 invocations a second per
 * endpoint and each start boots a microVM, so a burst of submissions waits in the queue
 * (durable, cheap) instead of being throttled, since every throttled invoke burns one of a
 * message's 5 receives. 5 batches (the number SQS's poller starts with) keep at most 50
 * invocations in flight; the queue drains hundreds of tasks a minute all the same.
 */
export const dispatch = taskQueue.subscribe(
  handler(
    dispatcher.name,
    { ...storage, ...queues, AgentRuntime: agentRuntime },
    { timeout: `${DISPATCH_TIMEOUT_SECONDS} seconds` },
  ),
  {
    batch: { size: 10, partialResponses: true },
    transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: DISPATCH_CONCURRENCY } } },
  },
);

const [reconciler, ...moreCrons] = handlersOf("cron");
if (!reconciler || moreCrons.length > 0) throw new Error("handlers.ts must name exactly one cron handler");

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

export const functions = {
  [dispatcher.name]: dispatch.nodes.function.name,
  [reconciler.name]: reconcile.nodes.function.name,
};

/**
 * The runtime from an image (behind CONVEYOR_AGENT_IMAGE): its role may read and write the
 * three tables the agent uses and send promotions to TaskQueue (what agent-kit's code uses,
 * checked by the contract test), pull its image and write its logs; nothing else. The
 * runtime is reachable only through InvokeAgentRuntime with IAM (no JWT authorizer).
 */
function createdRuntime(image: string): NonNullable<Linkables["AgentRuntime"]> {
  const repository = ecrRepositoryArn(image);
  const role = new aws.iam.Role("AgentRuntimeRole", {
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "bedrock-agentcore.amazonaws.com" },
          Action: "sts:AssumeRole",
        },
      ],
    }),
  });
  const tables = [storage.Tasks, storage.Events, storage.Nudges];
  const policy = new aws.iam.RolePolicy("AgentRuntimePolicy", {
    role: role.id,
    policy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: ["dynamodb:*"],
          Resource: tables.flatMap((t) => [t.arn, $interpolate`${t.arn}/*`]),
        },
        { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [taskQueue.arn] },
        { Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
        {
          Effect: "Allow",
          Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
          Resource: [repository],
        },
        {
          Effect: "Allow",
          Action: [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
          ],
          Resource: ["arn:aws:logs:*:*:log-group:/aws/bedrock-agentcore/runtimes/*"],
        },
      ],
    }),
  });
  const runtime = new aws.bedrock.AgentcoreAgentRuntime(
    "AgentCoreRuntime",
    {
      // Letters, digits and underscores, 48 at most.
      agentRuntimeName: `conveyor_${$app.stage}`.replace(/[^a-zA-Z0-9_]/g, "_").slice(0, 48),
      description: `Conveyor reference agent (${$app.stage})`,
      roleArn: role.arn,
      agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
      // Outbound internet for the agent (model APIs, git); inbound is IAM-signed invokes only.
      networkConfiguration: { networkMode: "PUBLIC" },
      protocolConfiguration: { serverProtocol: "HTTP" },
      // 15 min idle (AgentCore's default); 8 h at most, a task's default wall clock.
      lifecycleConfigurations: [{ idleRuntimeSessionTimeout: 900, maxLifetime: 28_800 }],
      // What agent-kit's Config.fromEnv reads: an AgentCore container has no SST links.
      environmentVariables: {
        CONVEYOR_TASKS_TABLE: storage.Tasks.name,
        CONVEYOR_EVENTS_TABLE: storage.Events.name,
        CONVEYOR_NUDGES_TABLE: storage.Nudges.name,
        CONVEYOR_TASK_QUEUE_URL: taskQueue.url,
        // The claude brain clones, pushes and opens pull requests with it (never handed to the model).
        CONVEYOR_GITHUB_TOKEN: githubToken.value,
        AWS_DEFAULT_REGION: aws.getRegionOutput().region,
      },
    },
    // AgentCore checks that the role can pull the image when the runtime is created.
    { dependsOn: [policy] },
  );
  const link = new sst.Linkable("AgentRuntime", { properties: { value: runtime.agentRuntimeArn } });
  return { link, arn: runtime.agentRuntimeArn };
}

/** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]` -> the repository's ARN. */
export function ecrRepositoryArn(image: string): string {
  const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([^:@]+)/.exec(image);
  if (!match)
    throw new Error(`CONVEYOR_AGENT_IMAGE must be an ECR image URI (AgentCore pulls from ECR): ${image}`);
  const [, account, region, china, repository] = match;
  return `arn:${china ? "aws-cn" : "aws"}:ecr:${region}:${account}:repository/${repository}`;
}
