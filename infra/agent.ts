import { UNSET_RUNTIME_ARN } from "../packages/core/src/runtime/arn.ts";
import { handler, handlersOf, type Linkables } from "./function.ts";
import { DEFAULT_AGENT_MODEL } from "./pins.ts";
import { DISPATCH_TIMEOUT_SECONDS, queues, taskQueue } from "./queue.ts";
import { githubToken } from "./secrets.ts";
import { storage } from "./storage.ts";

/**
 * The stage's agent runtime and the dispatcher that starts tasks on it. (The dispatcher,
 * TaskQueue's consumer, lives here rather than in queue.ts: a runtime infra creates needs the
 * queue's URL, and the dispatcher needs the runtime's ARN.)
 *
 * Every stage has its own runtime. The agent reads its tables and queue from its own
 * environment (agent-kit's `Config.fromEnv`) and acts with its own role, and a runtime has
 * one environment and one role: a `pr-12` task started on another stage's runtime would be
 * looked up in that stage's tables and never found.
 *
 * How the dispatcher reaches it: the `AgentRuntime` link, read by handlers as
 * `Resource.AgentRuntime.value` (the runtime ARN), and the IAM grants `handler()` derives
 * from it. With `CONVEYOR_AGENT_IMAGE` set to an ECR image of agent/Dockerfile (linux/arm64),
 * infra creates the runtime in the same deploy as the tables it reads (the documented
 * default: one pass, nothing to order by hand). Without it, the link is the `AgentRuntime`
 * secret, holding the ARN of a runtime deployed outside SST for this stage; its placeholder
 * names a runtime that cannot exist, so the stage deploys before that runtime does (which
 * needs the stage's table names) and the grant reaches nothing until the secret is set.
 */
export const AGENT_IMAGE = process.env.CONVEYOR_AGENT_IMAGE || undefined;
/** The Bedrock model id (or inference profile) the agent's Claude brain runs on. */
export const AGENT_MODEL = process.env.CONVEYOR_AGENT_MODEL || DEFAULT_AGENT_MODEL;

export const agentRuntime: NonNullable<Linkables["AgentRuntime"]> = AGENT_IMAGE
  ? createdRuntime(AGENT_IMAGE)
  : (() => {
      const secret = new sst.Secret("AgentRuntime", UNSET_RUNTIME_ARN);
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
 * (durable, cheap) instead of being throttled. 5 batches (the number SQS's poller starts
 * with) keep at most 50 invocations in flight; the queue drains hundreds of tasks a minute
 * all the same. Throttles and slow boots that still happen are retried inside the
 * invocation (core's runtime client), within a budget well under the timeout.
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

export const functions = { [dispatcher.name]: dispatch.nodes.function.name };

/**
 * The stage's runtime from an image (behind CONVEYOR_AGENT_IMAGE). Its role, named for the
 * stage, is the execution role AWS documents for AgentCore Runtime, narrowed to what runs
 * here: assumed by AgentCore for this account only (the confused-deputy conditions), it may
 * read and write the three tables the agent uses and send promotions to TaskQueue (what
 * agent-kit's code uses, checked by the contract test), invoke Claude on Bedrock (the
 * agent's brain), pull its image and write its logs; nothing else. The runtime is reachable
 * only through InvokeAgentRuntime with IAM (no JWT authorizer).
 */
function createdRuntime(image: string): NonNullable<Linkables["AgentRuntime"]> {
  const repository = ecrRepositoryArn(image);
  const account = aws.getCallerIdentityOutput().accountId;
  const region = aws.getRegionOutput().region;
  const role = new aws.iam.Role("AgentRuntimeRole", {
    // IAM role names: 64 characters at most.
    name: `${$app.name}-${$app.stage}-agent-runtime`.slice(0, 64),
    assumeRolePolicy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "bedrock-agentcore.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: {
            StringEquals: { "aws:SourceAccount": account },
            ArnLike: { "aws:SourceArn": $interpolate`arn:aws:bedrock-agentcore:${region}:${account}:*` },
          },
        },
      ],
    }),
  });
  const tables = [storage.Tasks, storage.Events, storage.Nudges];
  const logGroups = $interpolate`arn:aws:logs:${region}:${account}:log-group:/aws/bedrock-agentcore/runtimes/*`;
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
        {
          Effect: "Allow",
          Action: ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
          // Inference profiles route to the model in other regions (any region, and none for global ones).
          Resource: [
            "arn:aws:bedrock:*::foundation-model/*",
            $interpolate`arn:aws:bedrock:${region}:${account}:inference-profile/*`,
          ],
        },
        { Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
        {
          Effect: "Allow",
          Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
          Resource: [repository],
        },
        {
          Effect: "Allow",
          Action: ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
          Resource: [logGroups],
        },
        {
          Effect: "Allow",
          Action: ["logs:DescribeLogGroups"],
          Resource: [$interpolate`arn:aws:logs:${region}:${account}:log-group:*`],
        },
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: [$interpolate`${logGroups}:log-stream:*`],
        },
      ],
    }),
  });
  const runtime = new aws.bedrock.AgentcoreAgentRuntime(
    "AgentCoreRuntime",
    {
      // Letters, digits and underscores, 48 at most; one runtime per stage.
      agentRuntimeName: `conveyor_${$app.stage}`.replace(/[^a-zA-Z0-9_]/g, "_").slice(0, 48),
      description: `Conveyor reference agent (${$app.stage})`,
      roleArn: role.arn,
      agentRuntimeArtifact: { containerConfiguration: { containerUri: image } },
      // Outbound internet for the agent (model APIs, git); inbound is IAM-signed invokes only.
      networkConfiguration: { networkMode: "PUBLIC" },
      protocolConfiguration: { serverProtocol: "HTTP" },
      // 15 min idle (AgentCore's default); 8 h at most, a task's default wall clock.
      lifecycleConfigurations: [{ idleRuntimeSessionTimeout: 900, maxLifetime: 28_800 }],
      environmentVariables: {
        // What agent-kit's Config.fromEnv reads: this stage's own tables and queue (an
        // AgentCore container has no SST links).
        CONVEYOR_TASKS_TABLE: storage.Tasks.name,
        CONVEYOR_EVENTS_TABLE: storage.Events.name,
        CONVEYOR_NUDGES_TABLE: storage.Nudges.name,
        CONVEYOR_TASK_QUEUE_URL: taskQueue.url,
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        // Claude Code (the Claude Agent SDK's engine) on Bedrock, with the runtime role's credentials.
        CLAUDE_CODE_USE_BEDROCK: "1",
        ANTHROPIC_MODEL: AGENT_MODEL,
        // The claude brain clones, pushes and opens pull requests with it (never handed to the model).
        CONVEYOR_GITHUB_TOKEN: githubToken.value,
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
