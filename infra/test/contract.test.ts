import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test, vi } from "vitest";
import { RUNTIME_RETRY, UNSET_RUNTIME_ARN } from "../../packages/core/src/runtime/index.ts";
import { streamSubscriptions } from "../../packages/core/src/tables.ts";
import { type HandlerName, handlers } from "../../packages/functions/src/handlers.ts";
import { DEFAULT_AGENT_MODEL } from "../pins.ts";
import { analyze, ROOT, type Usage } from "./analyze.ts";
import {
  checkAgentRuntime,
  checkAlarms,
  checkAll,
  checkFunctions,
  checkLocalStack,
  checkPublicSurface,
  checkQueues,
  checkTriggers,
  checkWeb,
  localSources,
  seconds,
} from "./contract.ts";
import { type Recording, type RunOptions, runConfig, text } from "./recorder.ts";

const names = Object.keys(handlers) as HandlerName[];
const fileOf = (name: HandlerName) => join(ROOT, "packages/functions/src", `${handlers[name].file}.ts`);
const AGENT = join(ROOT, "packages/agent-kit/src/main.ts");
const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/conveyor-agent:3f2a1c";

/** What every handler's code (and the reference agent's) uses, read once. */
function usageOf() {
  const analyzed = analyze([...names.map(fileOf), AGENT]);
  return {
    usage: new Map(names.map((n) => [n, analyzed.get(fileOf(n))!])),
    agent: analyzed.get(AGENT)!,
  };
}

/** The usage with some handlers' code replaced: only those are read again (a program of their own). */
function usageWith(changed: Partial<Record<HandlerName, (source: string) => string>>) {
  const touched = Object.keys(changed) as HandlerName[];
  const overrides = Object.fromEntries(
    touched.map((n) => [fileOf(n), changed[n]!(readFileSync(fileOf(n), "utf8"))]),
  );
  const analyzed = analyze(touched.map(fileOf), { overrides });
  return new Map(names.map((n) => [n, touched.includes(n) ? analyzed.get(fileOf(n))! : usage.get(n)!]));
}

let usage: Map<HandlerName, Usage>;
let agent: Usage;
beforeAll(() => {
  ({ usage, agent } = usageOf());
}, 90_000);

/** sst.config.ts evaluated afresh against the recording stand-in. */
async function record(opts: RunOptions): Promise<Recording> {
  vi.resetModules();
  return runConfig(opts);
}

const fn = (rec: Recording, name: HandlerName) =>
  rec.functions.find((f) => f.args.handler === `packages/functions/src/${handlers[name].file}.handler`)!;

describe("sst.config.ts", () => {
  test.each(["pr-12", "production"])("stage %s holds to the whole contract", async (stage) => {
    const rec = await record({ stage });
    expect(checkAll(rec, usage, agent)).toEqual([]);
  });

  test("production retains and protects its data; a preview stage is removable", async () => {
    const prod = await record({ stage: "production" });
    const preview = await record({ stage: "pr-12" });
    expect(prod.app).toMatchObject({ removal: "retain", protect: true });
    expect(preview.app).toMatchObject({ removal: "remove", protect: false });
    const protection = (rec: Recording) =>
      rec.resources.filter((r) => r.type === "sst.aws.Dynamo").map((r) => r.args.deletionProtection);
    expect(protection(prod)).toEqual([true, true, true, true]);
    expect(protection(preview)).toEqual([false, false, false, false]);
  });

  test("one function per handler in handlers.ts, on its trigger, and nothing else", async () => {
    const rec = await record({ stage: "pr-12" });
    expect(rec.functions.map((f) => f.via).sort()).toEqual(
      [
        "Api.route($default)",
        "Events.subscribe(EventsFanout)",
        "Events.subscribe(EventsGithub)",
        "Nudges.subscribe(NudgesPush)",
        "Realtime.route($connect)",
        "Realtime.route($default)",
        "Realtime.route($disconnect)",
        "Reconcile",
        "TaskDlq.subscribe",
        "TaskQueue.subscribe",
        "WebhookQueue.subscribe",
      ].sort(),
    );
    expect(rec.functions).toHaveLength(names.length);
  });

  test("TaskQueue redrives to TaskDlq after 5 receives; the dispatcher takes partial batches, 5 at a time", async () => {
    const rec = await record({ stage: "pr-12" });
    const queue = rec.resources.find((r) => r.name === "TaskQueue")!;
    expect(text(queue.args.dlq.queue)).toBe("{{TaskDlq.arn}}");
    expect(queue.args.dlq.retry).toBe(5);
    expect(queue.args.visibilityTimeout).toBe("180 seconds");
    expect(fn(rec, "Dispatch").subscription).toMatchObject({
      batch: { size: 10, partialResponses: true },
      transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: 5 } } },
    });
  });

  test("each stream subscriber reads from TRIM_HORIZON, INSERTs only, with bounded retries and age", async () => {
    const rec = await record({ stage: "pr-12" });
    const streams = names.filter((n) => handlers[n].trigger.startsWith("stream:"));
    expect(streams).toEqual(expect.arrayContaining(["EventsFanout", "NudgesPush"]));
    for (const name of streams) {
      const settings = streamSubscriptions[name as keyof typeof streamSubscriptions];
      const sub = fn(rec, name).subscription;
      expect(sub.filters).toEqual([{ eventName: ["INSERT"] }]);
      expect(sub.transform.eventSourceMapping).toMatchObject({
        startingPosition: "TRIM_HORIZON",
        batchSize: settings.batchSize,
        maximumRetryAttempts: settings.maximumRetryAttempts,
        bisectBatchOnFunctionError: settings.bisectBatchOnFunctionError,
        maximumRecordAgeInSeconds: settings.maximumRecordAgeSeconds,
        functionResponseTypes: ["ReportBatchItemFailures"],
      });
    }
    expect(fn(rec, "EventsFanout").subscription.transform.eventSourceMapping).toMatchObject({
      batchSize: 100,
      maximumRetryAttempts: 10,
      bisectBatchOnFunctionError: true,
      maximumRecordAgeInSeconds: 3600,
    });
  });

  test("AgentCore actions go only where the code calls them, on the runtime's ARN", async () => {
    const rec = await record({ stage: "pr-12" });
    const agentcore = (name: HandlerName) =>
      (fn(rec, name).args.permissions as { actions: string[]; resources: unknown[] }[])
        .filter((p) => p.actions.some((a) => a.startsWith("bedrock-agentcore:")))
        .flatMap((p) => p.actions.map((a) => `${a} on ${p.resources.map(text).join(" ")}`));
    const on = "on {{AgentRuntime.value}} {{AgentRuntime.value}}/runtime-endpoint/*";
    expect(agentcore("Dispatch")).toEqual([`bedrock-agentcore:InvokeAgentRuntime ${on}`]);
    expect(agentcore("NudgesPush")).toEqual([`bedrock-agentcore:InvokeAgentRuntime ${on}`]);
    expect(agentcore("Api")).toEqual([
      `bedrock-agentcore:InvokeAgentRuntime ${on}`,
      `bedrock-agentcore:StopRuntimeSession ${on}`,
    ]);
    // The reconciler stops stuck sessions and tells an agent its approval expired.
    expect(agentcore("Reconcile")).toEqual([
      `bedrock-agentcore:InvokeAgentRuntime ${on}`,
      `bedrock-agentcore:StopRuntimeSession ${on}`,
    ]);
    for (const name of ["DlqDrain", "WsConnect", "WsDisconnect", "WsDefault", "EventsFanout"] as const) {
      expect(agentcore(name)).toEqual([]);
    }
    // ManageConnections comes with the Realtime link, scoped by SST to this API's @connections.
    const realtime = names.filter((n) =>
      fn(rec, n).args.link.some((l: unknown) => rec.resourceOf(l)?.name === "Realtime"),
    );
    expect(realtime.sort()).toEqual(["EventsFanout", "WsDefault"]);
  });

  test("alarms: DLQ depth, dead letters, stream failures, iterator age per stream, errors per function", async () => {
    const rec = await record({ stage: "pr-12" });
    const alarms = rec.resources.filter((r) => r.type === "aws.cloudwatch.MetricAlarm").map((r) => r.name);
    expect(alarms).toEqual(
      expect.arrayContaining([
        "TaskDlqDepth",
        "TaskDeadLetters",
        "StreamFailuresDepth",
        "EventsFanoutIteratorAge",
      ]),
    );
    expect(alarms.filter((a) => a.endsWith("Errors"))).toHaveLength(names.length);
    const dev = await record({ stage: "dev", dev: true });
    expect(
      dev.resources
        .filter((r) => r.type === "aws.cloudwatch.MetricAlarm")
        .every((r) => !r.args.actionsEnabled),
    ).toBe(true);
    const email = await record({ stage: "pr-12", env: { CONVEYOR_ALARM_EMAIL: "ops@example.com" } });
    expect(email.resources.find((r) => r.type === "aws.sns.TopicSubscription")?.args).toMatchObject({
      protocol: "email",
      endpoint: "ops@example.com",
    });
  });

  test("outputs are the API, WebSocket and dashboard URLs", async () => {
    const rec = await record({ stage: "pr-12" });
    expect(Object.fromEntries(Object.entries(rec.outputs).map(([k, v]) => [k, text(v)]))).toEqual({
      api: "{{Api.url}}",
      ws: "{{Realtime.url}}",
      web: "{{Web.url}}",
      alarms: "{{Alarms.arn}}",
    });
  });

  test("by default the runtime ARN is the AgentRuntime secret", async () => {
    const rec = await record({ stage: "pr-12" });
    expect(rec.resources.filter((r) => r.name === "AgentRuntime").map((r) => r.type)).toEqual(["sst.Secret"]);
    expect(rec.resources.some((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime")).toBe(false);
  });

  test("a first deploy goes through with AgentRuntime unset, and its grant reaches no runtime", async () => {
    // No secret is set (RunOptions.secrets): a secret without a placeholder would stop here, as SST does.
    const rec = await record({ stage: "production" });
    expect(checkAll(rec, usage, agent)).toEqual([]);
    const secret = rec.resources.find((r) => r.name === "AgentRuntime")!;
    expect(secret.args).toBe(UNSET_RUNTIME_ARN);
    // An ARN IAM accepts, in an account that cannot exist.
    expect(UNSET_RUNTIME_ARN).toMatch(/^arn:aws:bedrock-agentcore:[a-z0-9-]+:000000000000:runtime\/\w+$/);
    expect(fn(rec, "Dispatch").args.permissions[0].resources.map(text)).toEqual([
      "{{AgentRuntime.value}}",
      "{{AgentRuntime.value}}/runtime-endpoint/*",
    ]);
  });

  test("each stage has its own runtime: its name and role carry the stage, its environment names the stage's own resources", async () => {
    const names = new Set<string>();
    for (const stage of ["pr-12", "production"]) {
      const rec = await record({ stage, env: { CONVEYOR_AGENT_IMAGE: IMAGE } });
      expect(checkAll(rec, usage, agent), stage).toEqual([]);
      const runtime = rec.resources.find((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime")!;
      const role = rec.resources.find((r) => r.type === "aws.iam.Role")!;
      expect(runtime.args.agentRuntimeName).toContain(stage.replace(/-/g, "_"));
      expect(role.args.name).toContain(stage);
      expect(text(runtime.args.roleArn)).toBe("{{AgentRuntimeRole.arn}}");
      names.add(runtime.args.agentRuntimeName);
      names.add(role.args.name);
      expect(
        Object.fromEntries(Object.entries(runtime.args.environmentVariables).map(([k, v]) => [k, text(v)])),
      ).toMatchObject({
        CONVEYOR_TASKS_TABLE: "{{Tasks.name}}",
        CONVEYOR_EVENTS_TABLE: "{{Events.name}}",
        CONVEYOR_NUDGES_TABLE: "{{Nudges.name}}",
        CONVEYOR_TASK_QUEUE_URL: "{{TaskQueue.url}}",
      });
    }
    expect(names.size).toBe(4);
  });

  test("the agent role is AgentCore's execution role: confused-deputy conditions, its log groups, Claude on Bedrock", async () => {
    const rec = await record({ stage: "pr-12", env: { CONVEYOR_AGENT_IMAGE: IMAGE } });
    const account = "{{aws.getCallerIdentity.accountId}}";
    const region = "{{aws.getRegion.region}}";
    const role = rec.resources.find((r) => r.type === "aws.iam.Role")!;
    expect(JSON.parse(role.args.assumeRolePolicy).Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "bedrock-agentcore.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": account },
          ArnLike: { "aws:SourceArn": `arn:aws:bedrock-agentcore:${region}:${account}:*` },
        },
      },
    ]);
    const policy = JSON.parse(rec.resources.find((r) => r.type === "aws.iam.RolePolicy")!.args.policy);
    const logGroups = `arn:aws:logs:${region}:${account}:log-group:/aws/bedrock-agentcore/runtimes/*`;
    expect(policy.Statement).toEqual(
      expect.arrayContaining([
        {
          Effect: "Allow",
          Action: ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
          Resource: [
            "arn:aws:bedrock:*::foundation-model/*",
            `arn:aws:bedrock:${region}:${account}:inference-profile/*`,
          ],
        },
        {
          Effect: "Allow",
          Action: ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
          Resource: [logGroups],
        },
        {
          Effect: "Allow",
          Action: ["logs:DescribeLogGroups"],
          Resource: [`arn:aws:logs:${region}:${account}:log-group:*`],
        },
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: [`${logGroups}:log-stream:*`],
        },
      ]),
    );
  });

  test("the agent runs Claude on Bedrock in the stage's region, on a model CONVEYOR_AGENT_MODEL may change", async () => {
    const env = async (extra: Record<string, string> = {}) => {
      const rec = await record({ stage: "pr-12", env: { CONVEYOR_AGENT_IMAGE: IMAGE, ...extra } });
      const runtime = rec.resources.find((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime")!;
      return Object.fromEntries(
        Object.entries(runtime.args.environmentVariables).map(([k, v]) => [k, text(v)]),
      );
    };
    expect(await env()).toMatchObject({
      CLAUDE_CODE_USE_BEDROCK: "1",
      AWS_REGION: "{{aws.getRegion.region}}",
      ANTHROPIC_MODEL: DEFAULT_AGENT_MODEL,
    });
    expect(DEFAULT_AGENT_MODEL).toMatch(/^(global|us|eu|apac)\.anthropic\.claude-sonnet-/);
    const model = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0";
    expect((await env({ CONVEYOR_AGENT_MODEL: model })).ANTHROPIC_MODEL).toBe(model);
  });

  test("the dispatcher's runtime retries end well within its timeout", async () => {
    const rec = await record({ stage: "pr-12" });
    const timeoutMs = seconds(fn(rec, "Dispatch").args.timeout) * 1_000;
    // Half the timeout at most: the rest records the outcome (a transition, a failed task).
    expect(RUNTIME_RETRY.budgetMs).toBeLessThanOrEqual(timeoutMs / 2);
  });

  test("with CONVEYOR_AGENT_IMAGE infra creates the runtime, with exactly what agent-kit uses", async () => {
    const rec = await record({ stage: "pr-12", env: { CONVEYOR_AGENT_IMAGE: IMAGE } });
    expect(checkAll(rec, usage, agent)).toEqual([]);
    const runtime = rec.resources.find((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime")!;
    expect(runtime.args).toMatchObject({
      agentRuntimeName: "conveyor_pr_12",
      agentRuntimeArtifact: { containerConfiguration: { containerUri: IMAGE } },
      networkConfiguration: { networkMode: "PUBLIC" },
      protocolConfiguration: { serverProtocol: "HTTP" },
    });
    expect([...agent.links].sort()).toEqual(["Events", "GitHubToken", "Nudges", "TaskQueue", "Tasks"]);
    expect(text(rec.outputs.agentRuntime)).toBe("{{AgentCoreRuntime.agentRuntimeArn}}");
    const on = "{{AgentCoreRuntime.agentRuntimeArn}}";
    expect(fn(rec, "Dispatch").args.permissions[0].resources.map(text)).toEqual([
      on,
      `${on}/runtime-endpoint/*`,
    ]);
  });

  test("the agent role pulls from the image's ECR repository only; other registries are refused", async () => {
    const rec = await record({ stage: "pr-12", env: { CONVEYOR_AGENT_IMAGE: IMAGE } });
    const policy = JSON.parse(rec.resources.find((r) => r.type === "aws.iam.RolePolicy")!.args.policy);
    expect(policy.Statement).toContainEqual({
      Effect: "Allow",
      Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
      Resource: ["arn:aws:ecr:us-east-1:123456789012:repository/conveyor-agent"],
    });
    await expect(
      record({ stage: "pr-12", env: { CONVEYOR_AGENT_IMAGE: "docker.io/library/node:22" } }),
    ).rejects.toThrow(/ECR/);
  });

  test("the dashboard is packages/web's Vite build, with the stage's API and WebSocket URLs and no link", async () => {
    const rec = await record({ stage: "pr-12" });
    const site = rec.resources.find((r) => r.type === "sst.aws.StaticSite")!;
    expect(site.name).toBe("Web");
    expect(text(site.args.environment.VITE_API_URL)).toBe("{{Api.url}}");
    expect(text(site.args.environment.VITE_WS_URL)).toBe("{{Realtime.url}}");
    expect(checkWeb(rec)).toEqual([]);
    // A link would grant the site's build secrets and tables; the check says so.
    site.args.link = ["Tasks"];
    expect(checkWeb(rec)).toContain("Web links resources: a static site must hold no secret");
  });

  test("agent/Dockerfile ships the agent bundle for linux/arm64 on port 8080", () => {
    const dockerfile = readFileSync(join(ROOT, "agent/Dockerfile"), "utf8");
    const stages = dockerfile.split(/^FROM /m).slice(1);
    const final = stages.at(-1)!;
    expect(final).toMatch(/^--platform=linux\/arm64 node:\d+/);
    expect(final).toMatch(/^EXPOSE 8080$/m);
    expect(final).toMatch(/^ENV .*\bPORT=8080\b.*\bHOST=0\.0\.0\.0\b/m);
    expect(final).toMatch(/^COPY --from=build \/src\/dist\/agent\/main\.mjs \.\/main\.mjs$/m);
    expect(final).toMatch(/^CMD \["node", "main\.mjs"\]$/m);
    expect(final).toMatch(/^USER node$/m);
    // The claude brain: git, and the linux-arm64 Claude Code binary where ClaudeConfig looks for it.
    expect(final).toMatch(/apt-get install .*\bgit\b/);
    expect(final).toMatch(/^COPY --from=build \/claude\/package\/claude \.\/claude$/m);
    expect(final).toMatch(/\bCONVEYOR_CLAUDE_EXECUTABLE=\/app\/claude\b/);
    expect(stages[0]).toContain("@anthropic-ai/claude-agent-sdk-linux-arm64@");
    // The build stage installs the whole workspace from the lockfile: every package's manifest is copied.
    const packages = readdirSync(join(ROOT, "packages")).filter((p) =>
      existsSync(join(ROOT, "packages", p, "package.json")),
    );
    for (const p of packages)
      expect(stages[0], p).toContain(`COPY packages/${p}/package.json packages/${p}/`);
    expect(stages[0]).toMatch(/^RUN pnpm build$/m);
  });

  test("the sst CLI and the sst package the functions import are the same version", () => {
    // SST's function build refuses a mismatch ("does not match the sst cli version").
    const version = (dir: string) =>
      JSON.parse(readFileSync(join(ROOT, dir, "node_modules/sst/package.json"), "utf8")).version;
    const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).devDependencies.sst;
    expect(version(".")).toBe(root);
    expect(version("packages/functions")).toBe(root);
  });

  test("the local stack runs exactly the handlers in handlers.ts", () => {
    expect(checkLocalStack()).toEqual([]);
  });

  test("every link a handler declares is one its code uses, and the other way round", () => {
    for (const name of names) {
      expect([...usage.get(name)!.links].sort(), name).toEqual([...handlers[name].links].sort());
      expect(usage.get(name)!.handler, name).toMatchObject({ async: true });
      expect(usage.get(name)!.handler!.params, name).toBeLessThan(3);
    }
  });
});

describe("a deliberate break fails the contract", () => {
  const without = (rec: Recording, name: HandlerName, link: string) => {
    const args = fn(rec, name).args;
    args.link = args.link.filter((l: unknown) => rec.resourceOf(l)?.name !== link);
  };
  const breaks: {
    what: string;
    env?: Record<string, string>;
    mutate: (rec: Recording) => void;
    caught: RegExp;
  }[] = [
    {
      what: "a missing link",
      mutate: (rec) => without(rec, "Dispatch", "Tasks"),
      caught: /^Dispatch: infra links \[.*\] but handlers.ts declares/,
    },
    {
      what: "one link too many",
      mutate: (rec) => {
        fn(rec, "WsDisconnect").args.link.push(rec.resources.find((r) => r.name === "TaskQueue")!.instance);
      },
      caught: /^WsDisconnect: infra links \[Connections,TaskQueue\]/,
    },
    {
      what: "a wrong handler path",
      mutate: (rec) => {
        fn(rec, "Dispatch").args.handler = "packages/functions/src/queue/dispatcher.handler";
      },
      caught: /handler packages\/functions\/src\/queue\/dispatcher.handler not found/,
    },
    {
      what: "a stream without a filter",
      mutate: (rec) => {
        delete fn(rec, "EventsFanout").subscription.filters;
      },
      caught: /^EventsFanout: stream subscription has no filter/,
    },
    {
      what: "a stream read from LATEST (SST's default)",
      mutate: (rec) => {
        delete fn(rec, "NudgesPush").subscription.transform;
      },
      caught: /^NudgesPush: no eventSourceMapping transform/,
    },
    {
      what: "unbounded stream retries",
      mutate: (rec) => {
        fn(rec, "EventsFanout").subscription.transform.eventSourceMapping.maximumRetryAttempts = -1;
      },
      caught: /^EventsFanout: retries and record age must be bounded/,
    },
    {
      what: "a third reader of the Events stream",
      mutate: (rec) => {
        const fanout = fn(rec, "EventsFanout");
        rec.functions.push({ ...fanout, via: "Events.subscribe(Audit)", key: "Audit" });
      },
      caught: /^Events's stream has 3 readers \(EventsFanout,EventsGithub,Audit\); at most 2/,
    },
    {
      what: "a DLQ redrive after 3 receives",
      mutate: (rec) => {
        rec.resources.find((r) => r.name === "TaskQueue")!.args.dlq.retry = 3;
      },
      caught: /^TaskQueue redrives after 3 receives/,
    },
    {
      what: "an unbounded dispatcher",
      mutate: (rec) => {
        delete fn(rec, "Dispatch").subscription.transform;
      },
      caught: /^Dispatch: maximum concurrency must be bounded/,
    },
    {
      what: "a queue consumer without partial batch responses",
      mutate: (rec) => {
        fn(rec, "DlqDrain").subscription.batch.partialResponses = false;
      },
      caught: /^DlqDrain: queue batches need partialResponses/,
    },
    {
      what: "a missing iterator-age alarm",
      mutate: (rec) => {
        rec.resources = rec.resources.filter((r) => r.name !== "EventsFanoutIteratorAge");
      },
      caught: /^no IteratorAge alarm for Events.subscribe\(EventsFanout\)/,
    },
    {
      what: "a missing DLQ alarm",
      mutate: (rec) => {
        rec.resources = rec.resources.filter((r) => r.name !== "TaskDlqDepth");
      },
      caught: /^no alarm on TaskDlq depth > 0/,
    },
    {
      what: "a public Function URL",
      mutate: (rec) => {
        fn(rec, "Reconcile").args.url = true;
      },
      caught: /^Reconcile: sets url/,
    },
    {
      what: "an unexpected resource",
      mutate: (rec) => {
        rec.resources.push({ type: "sst.aws.Bucket", name: "Uploads", args: {}, instance: {} });
      },
      caught: /^sst.aws.Bucket Uploads is not part of the contract/,
    },
    {
      what: "a handler infra forgot",
      mutate: (rec) => {
        rec.functions = rec.functions.filter((f) => f.via !== "Reconcile");
      },
      caught: /^Reconcile is in handlers.ts but infra creates no function for it/,
    },
    {
      what: "an unpinned runtime",
      mutate: (rec) => {
        delete fn(rec, "Api").args.runtime;
      },
      caught: /^Api: runtime is undefined, not the pinned nodejs24.x/,
    },
    {
      what: "an AgentRuntime secret with no placeholder",
      mutate: (rec) => {
        rec.resources.find((r) => r.name === "AgentRuntime")!.args = undefined;
      },
      caught: /^the AgentRuntime secret's placeholder is undefined/,
    },
    {
      what: "an agent role any service's runtime may assume",
      env: { CONVEYOR_AGENT_IMAGE: IMAGE },
      mutate: (rec) => {
        const role = rec.resources.find((r) => r.type === "aws.iam.Role")!;
        const trust = JSON.parse(role.args.assumeRolePolicy);
        delete trust.Statement[0].Condition;
        role.args.assumeRolePolicy = JSON.stringify(trust);
      },
      caught: /^agent role trust must be AgentCore's, with aws:SourceAccount and aws:SourceArn/,
    },
    {
      what: "an agent role that cannot describe log groups",
      env: { CONVEYOR_AGENT_IMAGE: IMAGE },
      mutate: (rec) => {
        const policy = rec.resources.find((r) => r.type === "aws.iam.RolePolicy")!;
        const doc = JSON.parse(policy.args.policy);
        doc.Statement = doc.Statement.filter(
          (s: { Action: string[] }) => !s.Action.includes("logs:DescribeLogGroups"),
        );
        policy.args.policy = JSON.stringify(doc);
      },
      caught: /^agent role lacks logs:DescribeLogGroups/,
    },
    {
      what: "an agent reading another stage's table",
      env: { CONVEYOR_AGENT_IMAGE: IMAGE },
      mutate: (rec) => {
        const runtime = rec.resources.find((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime")!;
        runtime.args.environmentVariables.CONVEYOR_TASKS_TABLE = "conveyor-production-TasksTable";
      },
      caught:
        /^agent environment CONVEYOR_TASKS_TABLE is conveyor-production-TasksTable, not this stage's \{\{Tasks.name\}\}/,
    },
    {
      what: "a shared runtime (no stage in its name)",
      env: { CONVEYOR_AGENT_IMAGE: IMAGE },
      mutate: (rec) => {
        rec.resources.find((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime")!.args.agentRuntimeName =
          "conveyor";
      },
      caught: /^agent runtime name conveyor does not carry the stage pr-12/,
    },
    {
      what: "an agent without Bedrock",
      env: { CONVEYOR_AGENT_IMAGE: IMAGE },
      mutate: (rec) => {
        const runtime = rec.resources.find((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime")!;
        delete runtime.args.environmentVariables.CLAUDE_CODE_USE_BEDROCK;
      },
      caught: /^agent environment lacks CLAUDE_CODE_USE_BEDROCK=1/,
    },
    {
      what: "an agent role wider than agent-kit's needs",
      env: { CONVEYOR_AGENT_IMAGE: IMAGE },
      mutate: (rec) => {
        const policy = rec.resources.find((r) => r.type === "aws.iam.RolePolicy")!;
        const doc = JSON.parse(policy.args.policy);
        doc.Statement[0].Resource.push("{{Connections.arn}}");
        policy.args.policy = JSON.stringify(doc);
      },
      caught: /^agent role grants \[.*Connections.*\] but agent-kit uses/,
    },
  ];

  test.each(breaks)("$what", async ({ mutate, caught, env }) => {
    const rec = await record({ stage: "pr-12", env });
    expect(checkAll(rec, usage, agent)).toEqual([]);
    mutate(rec);
    expect(checkAll(rec, usage, agent)).toContainEqual(expect.stringMatching(caught));
  });

  // Reads three handlers' code again with the TypeScript compiler (only those three: a program
  // of their own): 8-15 s on a loaded machine, so its budget holds at 4 times slower still.
  test("a handler's code that changes: 3 parameters, not async, a resource it does not link", {
    timeout: 90_000,
  }, async () => {
    const broken = usageWith({
      DlqDrain: (source) =>
        source.replace(
          "async (event: SQSEvent): Promise<SQSBatchResponse> =>",
          "async (event: SQSEvent, _context: unknown, _callback: unknown): Promise<SQSBatchResponse> =>",
        ),
      WsConnect: (source) =>
        source.replace(
          "async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> =>",
          "(event: WebSocketEvent): APIGatewayProxyResultV2 => ({ statusCode: event ? 200 : 500 }); const _old = async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> =>",
        ),
      WsDisconnect: (source) =>
        source.replace(
          "await Connections.disconnect(",
          "await useCore().queue.send(event.requestContext.connectionId);\n  await Connections.disconnect(",
        ),
    });
    const rec = await record({ stage: "pr-12" });
    const problems = checkFunctions(rec, broken);
    expect(problems).toContainEqual("DlqDrain: handler takes 3 parameters; it must take fewer than 3");
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^WsDisconnect: handlers.ts links \[Connections\] but its code uses \[Connections,TaskQueue\]; missing TaskQueue \(packages\/functions\/src\/ws\/disconnect.ts:\d+\)/,
      ),
    );
    expect(problems).toContainEqual("WsConnect: handler must be async (return a Promise)");
    // The handlers nobody touched still hold.
    expect(problems.filter((p) => !/^(DlqDrain|WsConnect|WsDisconnect):/.test(p))).toEqual([]);
  });

  test("a handler the local stack does not run", () => {
    const sources = localSources();
    const [file, text] = Object.entries(sources).find(([, s]) =>
      s.includes("@conveyor/functions/stream/nudge"),
    )!;
    const problems = checkLocalStack({
      ...sources,
      [file]: text.replaceAll("@conveyor/functions/stream/nudge", "x"),
    });
    expect(problems).toContain("the local stack does not run stream/nudge (packages/local/src)");
  });

  test("each check reports nothing on a sound graph (so the breaks above are the only cause)", async () => {
    const rec = await record({ stage: "pr-12" });
    expect([
      ...checkQueues(rec),
      ...checkTriggers(rec),
      ...checkAlarms(rec),
      ...checkPublicSurface(rec),
      ...checkAgentRuntime(rec, agent),
    ]).toEqual([]);
  });
});
