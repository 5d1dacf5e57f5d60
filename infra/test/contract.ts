/**
 * The infrastructure contract: what `sst.config.ts` must add up to (DESIGN §11, issue 6),
 * checked against a recording of it (recorder.ts) and what the code uses (analyze.ts). Each
 * check returns the list of what is wrong, empty when all holds, so a test can both require
 * none and show that a deliberate break is caught, and by which message.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultLimits } from "../../packages/core/src/config.ts";
import { UNSET_RUNTIME_ARN } from "../../packages/core/src/runtime/arn.ts";
import { streamSubscriptions, type TableName, tables } from "../../packages/core/src/tables.ts";
import { type HandlerName, handlers } from "../../packages/functions/src/handlers.ts";
import { NODEJS } from "../bundle.ts";
import { BUNDLE_TARGET, RUNTIME } from "../pins.ts";
import { ROOT, type Usage } from "./analyze.ts";
import type { FunctionDef, Loose, Recording, Resource } from "./recorder.ts";
import { text } from "./recorder.ts";

export type Problems = string[];

const FUNCTIONS_SRC = "packages/functions/src";
/** The extensions SST's Node runtime looks for, in order (pkg/runtime/node: NODE_EXTENSIONS). */
const NODE_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];
/** What may exist at all; anything else (a Function URL, a bucket, another API) is a new surface to review. */
const ALLOWED_TYPES = new Set([
  "sst.aws.Dynamo",
  "sst.aws.Queue",
  "sst.aws.ApiGatewayV2",
  "sst.aws.ApiGatewayWebSocket",
  "sst.aws.CronV2",
  "sst.aws.StaticSite",
  "sst.Secret",
  "sst.Linkable",
  "aws.sns.Topic",
  "aws.sns.TopicSubscription",
  "aws.cloudwatch.MetricAlarm",
  "aws.iam.Role",
  "aws.iam.RolePolicy",
  "aws.bedrock.AgentcoreAgentRuntime",
]);
/** The components that answer the internet: exactly these, with only handlers.ts's routes. */
const PUBLIC = [
  { type: "sst.aws.ApiGatewayV2", name: "Api" },
  { type: "sst.aws.ApiGatewayWebSocket", name: "Realtime" },
  { type: "sst.aws.StaticSite", name: "Web" },
];

/** Everything, in one list (the order of the sections of the contract test). */
export function checkAll(rec: Recording, usage: Map<HandlerName, Usage>, agent?: Usage): Problems {
  return [
    ...checkApp(rec),
    ...checkTables(rec),
    ...checkQueues(rec),
    ...checkFunctions(rec, usage),
    ...checkTriggers(rec),
    ...checkAlarms(rec),
    ...checkPublicSurface(rec),
    ...checkWeb(rec),
    ...checkOutputs(rec),
    ...(agent ? checkAgentRuntime(rec, agent) : []),
  ];
}

export function checkApp(rec: Recording): Problems {
  const problems: Problems = [];
  const production = rec.stage === "production";
  if (rec.app.home !== "aws") problems.push(`app.home is ${rec.app.home}, not aws`);
  if (rec.app.removal !== (production ? "retain" : "remove")) {
    problems.push(`stage ${rec.stage}: removal is ${rec.app.removal}`);
  }
  if (Boolean(rec.app.protect) !== production)
    problems.push(`stage ${rec.stage}: protect is ${rec.app.protect}`);
  return problems;
}

export function checkTables(rec: Recording): Problems {
  const problems: Problems = [];
  const dynamos = rec.resources.filter((r) => r.type === "sst.aws.Dynamo");
  const names = dynamos.map((r) => r.name).sort();
  const expected = Object.keys(tables).sort();
  if (names.join() !== expected.join())
    problems.push(`tables are ${names.join()}, expected ${expected.join()}`);
  for (const table of dynamos) {
    const definition = tables[table.name as TableName];
    if (!definition) continue;
    const { deletionProtection, ...args } = table.args;
    if (JSON.stringify(sorted(args)) !== JSON.stringify(sorted(definition))) {
      problems.push(`${table.name}'s arguments differ from core's tables.ts: ${JSON.stringify(args)}`);
    }
    if (Boolean(deletionProtection) !== (rec.stage === "production")) {
      problems.push(`${table.name}: deletionProtection is ${deletionProtection} on stage ${rec.stage}`);
    }
    if (!table.args.ttl) problems.push(`${table.name} has no TTL attribute`);
  }
  const stream = (name: string) => dynamos.find((t) => t.name === name)?.args.stream;
  if (stream("Events") !== "new-image") problems.push(`Events stream is ${stream("Events")}, not new-image`);
  if (stream("Nudges") !== "new-and-old-images") {
    problems.push(`Nudges stream is ${stream("Nudges")}, not new-and-old-images`);
  }
  return problems;
}

export function checkQueues(rec: Recording): Problems {
  const problems: Problems = [];
  const queue = find(rec, "sst.aws.Queue", "TaskQueue");
  const dlq = find(rec, "sst.aws.Queue", "TaskDlq");
  if (!queue || !dlq) return ["TaskQueue and TaskDlq must both exist"];
  const redrive = queue.args.dlq;
  if (text(redrive?.queue) !== text(dlq.instance && (dlq.instance as Loose).arn)) {
    problems.push(`TaskQueue's DLQ is ${text(redrive?.queue)}, not TaskDlq`);
  }
  if (redrive?.retry !== 5 || redrive?.retry !== defaultLimits.maxReceiveCount) {
    problems.push(
      `TaskQueue redrives after ${redrive?.retry} receives: DESIGN §5.2 says 5, and core's limits.maxReceiveCount (${defaultLimits.maxReceiveCount}) must agree`,
    );
  }
  const consumer = rec.functions.find((f) => f.parent === queue);
  const timeout = seconds(consumer?.args.timeout ?? "20 seconds");
  const visibility = seconds(queue.args.visibilityTimeout ?? "30 seconds");
  if (visibility < 6 * timeout) {
    problems.push(
      `TaskQueue's visibility (${visibility} s) is under 6 times its consumer's timeout (${timeout} s)`,
    );
  }
  return problems;
}

/** Every function: one per handler, resolvable, pinned, linked to exactly what its code uses. */
export function checkFunctions(rec: Recording, usage: Map<HandlerName, Usage>): Problems {
  const problems: Problems = [];
  const seen = new Map<string, FunctionDef[]>();
  for (const fn of rec.functions) {
    const args = fn.args;
    if (typeof args !== "object" || typeof args.handler !== "string") {
      problems.push(`${fn.via}: the function must be FunctionArgs from handler() (infra/function.ts)`);
      continue;
    }
    const match = new RegExp(`^${FUNCTIONS_SRC}/(.+)\\.handler$`).exec(args.handler);
    const file = match?.[1];
    const name = (Object.keys(handlers) as HandlerName[]).find((n) => handlers[n].file === file);
    if (!file || !name) {
      problems.push(`${fn.via}: handler ${args.handler} is not in packages/functions/src/handlers.ts`);
    }
    const base = args.handler.replace(/\.[^./]+$/, "");
    if (!NODE_EXTENSIONS.some((ext) => existsSync(join(ROOT, base + ext)))) {
      problems.push(`${fn.via}: handler ${args.handler} not found (no ${base}.ts or .js)`);
    }
    if (!name) continue;
    seen.set(name, [...(seen.get(name) ?? []), fn]);

    const spec = handlers[name];
    const used = usage.get(name);
    if (!used?.handler) {
      problems.push(`${name}: ${spec.file} does not export a handler`);
    } else {
      // Node 24's runtime refuses callback-style handlers (three parameters) at init.
      if (!(used.handler.params < 3)) {
        problems.push(`${name}: handler takes ${used.handler.params} parameters; it must take fewer than 3`);
      }
      if (!used.handler.async) problems.push(`${name}: handler must be async (return a Promise)`);
    }

    if (args.runtime !== RUNTIME)
      problems.push(`${name}: runtime is ${args.runtime}, not the pinned ${RUNTIME}`);
    if (args.nodejs?.format !== "esm")
      problems.push(`${name}: bundle format is ${args.nodejs?.format}, not esm`);
    if (args.nodejs?.esbuild?.target !== BUNDLE_TARGET) problems.push(`${name}: bundle target is not pinned`);
    // What `pnpm build` measures is what ships: the same settings and plugins (infra/bundle.ts).
    if (JSON.stringify(args.nodejs) !== JSON.stringify(NODEJS))
      problems.push(`${name}: bundle settings ${JSON.stringify(args.nodejs)} are not infra/bundle.ts's`);
    if (args.architecture !== "arm64") problems.push(`${name}: architecture is ${args.architecture}`);
    for (const key of ["url", "role", "policies", "vpc"]) {
      if (args[key] !== undefined)
        problems.push(`${name}: sets ${key} (${text(args[key])}), outside the contract`);
    }

    // Links: what infra links == what handlers.ts declares == what the code uses.
    const linked = (args.link ?? []).map(
      (l: unknown) => rec.resourceOf(l)?.name ?? `<unrecorded ${text(l)}>`,
    );
    const declared = [...spec.links];
    const codeUses = [...(used?.links ?? [])];
    if (!sameSet(linked, declared)) {
      problems.push(
        `${name}: infra links [${linked.sort()}] but handlers.ts declares [${[...declared].sort()}]`,
      );
    }
    if (used && !sameSet(declared, codeUses)) {
      const missing = codeUses.filter((l) => !declared.includes(l as never));
      const unused = declared.filter((l) => !codeUses.includes(l));
      problems.push(
        `${name}: handlers.ts links [${[...declared].sort()}] but its code uses [${codeUses.sort()}]` +
          (missing.length
            ? `; missing ${missing.map((l) => `${l} (${used.where.get(l)})`).join(", ")}`
            : "") +
          (unused.length ? `; unused ${unused.join(", ")}` : ""),
      );
    }

    // Permissions beyond links: AgentCore actions on the runtime, the stream failure destination.
    const actions = [...spec.agentcore].map((a) => `bedrock-agentcore:${a}`);
    if (used && !sameSet(actions, [...used.actions])) {
      problems.push(
        `${name}: handlers.ts grants AgentCore [${actions}] but its code calls [${[...used.actions]}]`,
      );
    }
    const runtimeArn = agentRuntimeArn(rec);
    const expected: { actions: string[]; resources: string[] }[] = [];
    if (actions.length)
      expected.push({ actions, resources: [runtimeArn, `${runtimeArn}/runtime-endpoint/*`] });
    if (spec.trigger.startsWith("stream:")) {
      const failures = find(rec, "sst.aws.Queue", "StreamFailures");
      expected.push({ actions: ["sqs:SendMessage"], resources: [text((failures?.instance as Loose)?.arn)] });
    }
    const granted = (args.permissions ?? []).map((p: Loose) => ({
      actions: [...p.actions].sort(),
      resources: p.resources.map(text),
    }));
    const want = expected.map((p) => ({ actions: [...p.actions].sort(), resources: p.resources }));
    if (JSON.stringify(granted) !== JSON.stringify(want)) {
      problems.push(
        `${name}: permissions ${JSON.stringify(granted)} are not exactly ${JSON.stringify(want)}`,
      );
    }
  }
  for (const name of Object.keys(handlers) as HandlerName[]) {
    const defs = seen.get(name) ?? [];
    if (defs.length === 0) problems.push(`${name} is in handlers.ts but infra creates no function for it`);
    if (defs.length > 1) problems.push(`${name} is created ${defs.length} times (${defs.map((d) => d.via)})`);
  }
  return problems;
}

/** Each handler is wired to its trigger, with the settings DESIGN §5 asks for. */
export function checkTriggers(rec: Recording): Problems {
  const problems: Problems = [];
  const fnOf = (name: HandlerName) =>
    rec.functions.find((f) => f.args?.handler === `${FUNCTIONS_SRC}/${handlers[name].file}.handler`);
  for (const name of Object.keys(handlers) as HandlerName[]) {
    const fn = fnOf(name);
    if (!fn) continue; // reported by checkFunctions
    const [kind, source = ""] = handlers[name].trigger.split(/:(.*)/s) as [string, string?];
    const parent = fn.parent;
    if (kind === "http") {
      if (parent.type !== "sst.aws.ApiGatewayV2" || fn.key !== "$default") {
        problems.push(`${name}: must be the HTTP API's $default route (got ${fn.via})`);
      }
    } else if (kind === "queue") {
      if (parent.type !== "sst.aws.Queue" || parent.name !== source) {
        problems.push(`${name}: must consume ${source} (got ${fn.via})`);
      }
      const sub = fn.subscription ?? {};
      if (sub.batch?.partialResponses !== true) problems.push(`${name}: queue batches need partialResponses`);
      const size = sub.batch?.size ?? 10;
      if (size > 10) problems.push(`${name}: batch size ${size} over 10 needs a batching window`);
      const max = sub.transform?.eventSourceMapping?.scalingConfig?.maximumConcurrency;
      if (!(Number.isInteger(max) && max >= 2 && max <= 1000)) {
        problems.push(`${name}: maximum concurrency must be bounded (2..1000), got ${max}`);
      }
    } else if (kind === "ws") {
      if (parent.type !== "sst.aws.ApiGatewayWebSocket" || fn.key !== source) {
        problems.push(`${name}: must be the WebSocket route ${source} (got ${fn.via})`);
      }
    } else if (kind === "stream") {
      problems.push(...checkStream(name, source, fn));
    } else if (kind === "cron") {
      if (parent.type !== "sst.aws.CronV2" || parent.args.schedule !== "rate(1 minute)") {
        problems.push(
          `${name}: must run every minute on CronV2 (got ${parent.type} ${parent.args.schedule})`,
        );
      }
    } else {
      problems.push(`${name}: unknown trigger ${handlers[name].trigger}`);
    }
  }
  // More than two readers of one shard get throttled (DynamoDB Streams' documented limit).
  for (const table of rec.resources.filter((r) => r.type === "sst.aws.Dynamo")) {
    const readers = rec.functions.filter((f) => f.parent === table).map((f) => f.key);
    if (readers.length > 2)
      problems.push(`${table.name}'s stream has ${readers.length} readers (${readers}); at most 2`);
  }
  const ws = new Set(
    rec.functions.filter((f) => f.parent.type === "sst.aws.ApiGatewayWebSocket").map((f) => f.key),
  );
  for (const route of ["$connect", "$disconnect", "$default"]) {
    if (!ws.has(route)) problems.push(`WebSocket route ${route} is missing`);
  }
  return problems;
}

function checkStream(name: HandlerName, table: string, fn: FunctionDef): Problems {
  const problems: Problems = [];
  const settings = (streamSubscriptions as Record<string, Loose>)[name];
  if (!settings) return [`${name}: stream handler without streamSubscriptions.${name} in core's tables.ts`];
  if (fn.parent.type !== "sst.aws.Dynamo" || fn.parent.name !== table || fn.key !== name) {
    problems.push(`${name}: must subscribe to ${table}'s stream as "${name}" (got ${fn.via})`);
  }
  const sub = fn.subscription ?? {};
  const filters = sub.filters;
  if (!Array.isArray(filters) || filters.length === 0) {
    problems.push(`${name}: stream subscription has no filter (it must take INSERTs only)`);
  } else {
    if (JSON.stringify(filters) !== JSON.stringify(settings.filters)) {
      problems.push(`${name}: filters ${JSON.stringify(filters)} differ from streamSubscriptions`);
    }
    if (!filters.every((f: Loose) => JSON.stringify(f.eventName) === '["INSERT"]')) {
      problems.push(`${name}: every filter must require eventName INSERT`);
    }
  }
  const esm = sub.transform?.eventSourceMapping;
  if (typeof esm !== "object" || esm === null) {
    return [
      ...problems,
      `${name}: no eventSourceMapping transform (SST would start at LATEST, with AWS's defaults)`,
    ];
  }
  const expected: Record<string, unknown> = {
    startingPosition: "TRIM_HORIZON",
    batchSize: settings.batchSize,
    maximumBatchingWindowInSeconds: settings.maximumBatchingWindowInSeconds,
    maximumRetryAttempts: settings.maximumRetryAttempts,
    bisectBatchOnFunctionError: settings.bisectBatchOnFunctionError,
    maximumRecordAgeInSeconds: settings.maximumRecordAgeSeconds,
    functionResponseTypes: ["ReportBatchItemFailures"],
    parallelizationFactor: 1,
  };
  if (settings.startingPosition !== "TRIM_HORIZON") problems.push(`${name}: must start at TRIM_HORIZON`);
  for (const [key, value] of Object.entries(expected)) {
    if (JSON.stringify(esm[key]) !== JSON.stringify(value)) {
      problems.push(
        `${name}: eventSourceMapping.${key} is ${JSON.stringify(esm[key])}, expected ${JSON.stringify(value)}`,
      );
    }
  }
  if (!(esm.maximumRetryAttempts >= 0) || !(esm.maximumRecordAgeInSeconds > 0)) {
    problems.push(`${name}: retries and record age must be bounded (AWS's -1 blocks a shard for 24 h)`);
  }
  if (!esm.destinationConfig?.onFailure?.destinationArn) problems.push(`${name}: no on-failure destination`);
  return problems;
}

export function checkAlarms(rec: Recording): Problems {
  const problems: Problems = [];
  const topic = rec.resources.find((r) => r.type === "aws.sns.Topic");
  if (!topic) return ["no SNS topic for alarms"];
  const topicArn = text((topic.instance as Loose).arn);
  const alarms = rec.resources.filter((r) => r.type === "aws.cloudwatch.MetricAlarm");
  for (const alarm of alarms) {
    if (!(alarm.args.alarmActions ?? []).map(text).includes(topicArn)) {
      problems.push(`alarm ${alarm.name} does not notify the alarm topic`);
    }
  }
  const matching = (pred: (a: Resource) => boolean) => alarms.filter(pred);
  const dlq = find(rec, "sst.aws.Queue", "TaskDlq");
  const dlqName = text((dlq?.instance as Loose)?.nodes?.queue?.name);
  const depth = matching(
    (a) =>
      a.args.namespace === "AWS/SQS" &&
      a.args.metricName === "ApproximateNumberOfMessagesVisible" &&
      text(a.args.dimensions?.QueueName) === dlqName &&
      a.args.comparisonOperator === "GreaterThanThreshold" &&
      a.args.threshold === 0,
  );
  if (depth.length === 0) problems.push("no alarm on TaskDlq depth > 0");
  const lambdaAlarm = (metric: string, fn: FunctionDef) =>
    matching(
      (a) =>
        a.args.namespace === "AWS/Lambda" &&
        a.args.metricName === metric &&
        text(a.args.dimensions?.FunctionName) === functionName(fn),
    );
  for (const fn of rec.functions) {
    if (lambdaAlarm("Errors", fn).length === 0) problems.push(`no Errors alarm for ${fn.via}`);
    if (fn.parent.type === "sst.aws.Dynamo" && lambdaAlarm("IteratorAge", fn).length === 0) {
      problems.push(`no IteratorAge alarm for ${fn.via}`);
    }
  }
  return problems;
}

/** Only the two APIs answer the internet; the agent runtime takes IAM-signed invokes only. */
export function checkPublicSurface(rec: Recording): Problems {
  const problems: Problems = [];
  for (const r of rec.resources) {
    if (!ALLOWED_TYPES.has(r.type)) problems.push(`${r.type} ${r.name} is not part of the contract`);
  }
  const apis = rec.resources.filter((r) => r.type.startsWith("sst.aws.ApiGateway"));
  for (const api of apis) {
    if (!PUBLIC.some((p) => p.type === api.type && p.name === api.name)) {
      problems.push(`${api.type} ${api.name} is an unexpected public API`);
    }
  }
  for (const p of PUBLIC) if (!find(rec, p.type, p.name)) problems.push(`${p.type} ${p.name} is missing`);
  for (const fn of rec.functions) {
    if (fn.kind === "route" && Object.keys(fn.subscription ?? {}).length > 0) {
      problems.push(`${fn.via}: route arguments (auth, transforms) are outside the contract`);
    }
  }
  for (const runtime of rec.resources.filter((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime")) {
    if (runtime.args.authorizerConfiguration) {
      problems.push("the agent runtime has a JWT authorizer: it must take IAM-signed invokes only");
    }
  }
  return problems;
}

/**
 * The dashboard: packages/web built by Vite with the stage's own API and WebSocket URLs baked in,
 * and nothing else: no link, so no secret or table reaches a public bucket.
 */
export function checkWeb(rec: Recording): Problems {
  const problems: Problems = [];
  const site = find(rec, "sst.aws.StaticSite", "Web");
  if (!site) return problems;
  const api = find(rec, "sst.aws.ApiGatewayV2", "Api");
  const ws = find(rec, "sst.aws.ApiGatewayWebSocket", "Realtime");
  if (site.args.path !== "packages/web") problems.push(`Web builds ${site.args.path}, not packages/web`);
  if (site.args.build?.output !== "dist" || !/\bvite build\b/.test(site.args.build?.command ?? "")) {
    problems.push(`Web's build is ${JSON.stringify(site.args.build)}, not vite build into dist`);
  }
  const env = site.args.environment ?? {};
  if (text(env.VITE_API_URL) !== text((api?.instance as Loose)?.url))
    problems.push("Web's VITE_API_URL is not the API's URL");
  if (text(env.VITE_WS_URL) !== text((ws?.instance as Loose)?.url))
    problems.push("Web's VITE_WS_URL is not the WebSocket URL");
  const extra = Object.keys(env).filter((k) => k !== "VITE_API_URL" && k !== "VITE_WS_URL");
  if (extra.length > 0) problems.push(`Web's build sees more than the two URLs: ${extra.join(", ")}`);
  if (site.args.link) problems.push("Web links resources: a static site must hold no secret");
  if (text(rec.outputs.web) !== text((site.instance as Loose).url))
    problems.push("output web is not the site's URL");
  return problems;
}

export function checkOutputs(rec: Recording): Problems {
  const problems: Problems = [];
  const api = find(rec, "sst.aws.ApiGatewayV2", "Api");
  const ws = find(rec, "sst.aws.ApiGatewayWebSocket", "Realtime");
  if (text(rec.outputs.api) !== text((api?.instance as Loose)?.url))
    problems.push("output api is not the API's URL");
  if (text(rec.outputs.ws) !== text((ws?.instance as Loose)?.url))
    problems.push("output ws is not the WebSocket URL");
  return problems;
}

/**
 * The AgentRuntime link: the stage's own runtime, either created from CONVEYOR_AGENT_IMAGE
 * with exactly the agent's needs, or a secret whose placeholder lets a first deploy through
 * while granting nothing.
 */
export function checkAgentRuntime(rec: Recording, agent: Usage): Problems {
  const problems: Problems = [];
  const runtimes = rec.resources.filter((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime");
  const link = rec.resources.filter((r) => r.name === "AgentRuntime");
  if (link.length !== 1) return [`expected one AgentRuntime link, found ${link.map((l) => l.type)}`];
  if (runtimes.length === 0) {
    if (link[0]!.type !== "sst.Secret") problems.push("without an image, AgentRuntime must be a secret");
    else if (link[0]!.args !== UNSET_RUNTIME_ARN) {
      problems.push(
        `the AgentRuntime secret's placeholder is ${JSON.stringify(link[0]!.args)}, not UNSET_RUNTIME_ARN: a first deploy needs an ARN that IAM accepts and that reaches nothing`,
      );
    }
    return problems;
  }
  const [runtime] = runtimes as [Resource];
  if (
    link[0]!.type !== "sst.Linkable" ||
    text(link[0]!.args.properties?.value) !== text((runtime.instance as Loose).agentRuntimeArn)
  ) {
    problems.push("AgentRuntime must link the created runtime's ARN");
  }
  const image = rec.env.CONVEYOR_AGENT_IMAGE;
  if (runtime.args.agentRuntimeArtifact?.containerConfiguration?.containerUri !== image) {
    problems.push("the runtime must run CONVEYOR_AGENT_IMAGE");
  }
  if (!/^[a-zA-Z][a-zA-Z0-9_]{0,47}$/.test(runtime.args.agentRuntimeName)) {
    problems.push(`agent runtime name ${runtime.args.agentRuntimeName} is not [a-zA-Z][a-zA-Z0-9_]{0,47}`);
  }
  // One runtime per stage: its name and its role's carry the stage.
  const stage = rec.stage.replace(/[^a-zA-Z0-9_]/g, "_");
  const role = rec.resources.find((r) => r.type === "aws.iam.Role");
  if (!String(runtime.args.agentRuntimeName).includes(stage)) {
    problems.push(
      `agent runtime name ${runtime.args.agentRuntimeName} does not carry the stage ${rec.stage}`,
    );
  }
  if (!String(role?.args.name ?? "").includes(rec.stage)) {
    problems.push(`agent role name ${role?.args.name} does not carry the stage ${rec.stage}`);
  }
  if (text(runtime.args.roleArn) !== text((role?.instance as Loose)?.arn)) {
    problems.push("the runtime must run with the agent role infra creates");
  }
  // The environment names exactly what agent-kit's code uses, and this stage's own resources.
  const environment: Record<string, unknown> = runtime.args.environmentVariables ?? {};
  const env = Object.keys(environment).filter((k) => k.startsWith("CONVEYOR_"));
  const expectedEnv = [...agent.links].map((l) => ENV_OF[l] ?? `<no variable for ${l}>`);
  if (!sameSet(env, expectedEnv))
    problems.push(`agent environment [${env}] is not [${expectedEnv}] (what its code uses)`);
  for (const linkName of agent.links) {
    const variable = ENV_OF[linkName];
    // A secret reaches the agent as its value; a table or queue by this stage's name or URL.
    const secret = SECRETS.has(linkName);
    const resource = rec.resources.find(
      (r) => r.name === linkName && (secret ? r.type === "sst.Secret" : r.type.startsWith("sst.aws.")),
    );
    const field = secret ? "value" : variable?.endsWith("_URL") ? "url" : "name";
    const own = resource && text((resource.instance as Loose)[field]);
    if (variable && text(environment[variable]) !== own) {
      problems.push(
        `agent environment ${variable} is ${text(environment[variable])}, not this stage's ${own}`,
      );
    }
  }
  // Claude on Bedrock (the agent's brain), in the stage's region.
  if (environment.CLAUDE_CODE_USE_BEDROCK !== "1")
    problems.push("agent environment lacks CLAUDE_CODE_USE_BEDROCK=1");
  if (!environment.AWS_REGION) problems.push("agent environment lacks AWS_REGION");
  if (typeof environment.ANTHROPIC_MODEL !== "string" || !environment.ANTHROPIC_MODEL) {
    problems.push("agent environment lacks ANTHROPIC_MODEL");
  }
  problems.push(...checkAgentRole(rec, role));

  const policy = rec.resources.find((r) => r.type === "aws.iam.RolePolicy");
  const statements = policy ? JSON.parse(policy.args.policy).Statement : [];
  const dataTables = statements
    .filter((s: Loose) => s.Action.some((a: string) => a.startsWith("dynamodb:")))
    .flatMap((s: Loose) => s.Resource)
    .map((arn: string) => /^\{\{(\w+)\.arn\}\}$/.exec(arn)?.[1])
    .filter(Boolean);
  const queuesSent = statements
    .filter((s: Loose) => s.Action.some((a: string) => a.startsWith("sqs:")))
    .flatMap((s: Loose) => s.Resource)
    .map((arn: string) => /^\{\{(\w+)\.arn\}\}$/.exec(arn)?.[1]);
  const granted = [...dataTables, ...queuesSent];
  // Secrets reach the agent as variables, not through its role.
  const grantable = [...agent.links].filter((l) => !SECRETS.has(l));
  if (!sameSet(granted, grantable)) {
    problems.push(`agent role grants [${granted}] but agent-kit uses [${grantable}]`);
  }
  if (agent.actions.size > 0) problems.push("agent-kit calls AgentCore itself; its role would need that");
  return problems;
}

/**
 * The agent role against AWS's documented AgentCore Runtime execution role: trusted by
 * AgentCore for this account's runtimes only, its logs (DescribeLogGroups included), and
 * Bedrock model calls on foundation models and inference profiles.
 */
function checkAgentRole(rec: Recording, role: Resource | undefined): Problems {
  const problems: Problems = [];
  const trust = role ? JSON.parse(role.args.assumeRolePolicy).Statement : [];
  const account = "{{aws.getCallerIdentity.accountId}}";
  const region = "{{aws.getRegion.region}}";
  const assumed = trust.filter(
    (s: Loose) =>
      s.Effect === "Allow" &&
      s.Principal?.Service === "bedrock-agentcore.amazonaws.com" &&
      s.Condition?.StringEquals?.["aws:SourceAccount"] === account &&
      s.Condition?.ArnLike?.["aws:SourceArn"] === `arn:aws:bedrock-agentcore:${region}:${account}:*`,
  );
  if (trust.length !== 1 || assumed.length !== 1) {
    problems.push(
      "agent role trust must be AgentCore's, with aws:SourceAccount and aws:SourceArn (arn:aws:bedrock-agentcore:<region>:<account>:*) conditions",
    );
  }
  const policy = rec.resources.find((r) => r.type === "aws.iam.RolePolicy");
  const statements: Loose[] = policy ? JSON.parse(policy.args.policy).Statement : [];
  const grants = (action: string) =>
    statements.filter((s) => s.Effect === "Allow" && s.Action.includes(action)).flatMap((s) => s.Resource);
  for (const action of [
    "logs:CreateLogGroup",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
  ]) {
    if (grants(action).length === 0) problems.push(`agent role lacks ${action}`);
  }
  for (const action of ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]) {
    const on = grants(action).map(String);
    if (
      !on.some((arn) => arn.includes(":foundation-model/")) ||
      !on.some((arn) => arn.includes(":inference-profile/"))
    ) {
      problems.push(`agent role must grant ${action} on foundation models and inference profiles`);
    }
  }
  return problems;
}

/** Where each link reaches an agent container (no SST links there): Config.fromEnv's names. */
const ENV_OF: Record<string, string> = {
  Tasks: "CONVEYOR_TASKS_TABLE",
  Events: "CONVEYOR_EVENTS_TABLE",
  Nudges: "CONVEYOR_NUDGES_TABLE",
  Connections: "CONVEYOR_CONNECTIONS_TABLE",
  TaskQueue: "CONVEYOR_TASK_QUEUE_URL",
  TaskDlq: "CONVEYOR_TASK_DLQ_URL",
  WebhookQueue: "CONVEYOR_WEBHOOK_QUEUE_URL",
  GitHubToken: "CONVEYOR_GITHUB_TOKEN",
};
const SECRETS = new Set(["GitHubToken"]);

/**
 * The local stack runs the same handlers: the functions modules packages/local imports are
 * exactly handlers.ts's files, and every stream handler is fed with its streamSubscriptions
 * settings there too.
 */
export function checkLocalStack(sources = localSources()): Problems {
  const problems: Problems = [];
  const exports = JSON.parse(readFileSync(join(ROOT, "packages/functions/package.json"), "utf8"))
    .exports as Record<string, string>;
  const imported = new Set<string>();
  for (const source of Object.values(sources)) {
    for (const m of source.matchAll(/["']@conveyor\/functions\/([\w/.-]+)["']/g)) {
      const sub = `./${m[1]}`;
      const target = exports[sub] ?? exports["./*"]?.replace("*", m[1]!);
      const file = target?.replace(/^\.\/src\//, "").replace(/\.ts$/, "");
      if (file) imported.add(file);
    }
  }
  const files: string[] = Object.values(handlers).map((h) => h.file);
  for (const file of files) {
    if (!imported.has(file)) problems.push(`the local stack does not run ${file} (packages/local/src)`);
  }
  for (const file of imported) {
    if (files.includes(file) || !exportsHandler(file)) continue;
    problems.push(`the local stack runs ${file}, a handler handlers.ts does not list`);
  }
  const all = Object.values(sources).join("\n");
  for (const [name, spec] of Object.entries(handlers)) {
    if (spec.trigger.startsWith("stream:") && !new RegExp(`\\b${name}\\b`).test(all)) {
      problems.push(`the local stack does not read streamSubscriptions.${name}`);
    }
  }
  return problems;
}

function exportsHandler(file: string) {
  const path = join(ROOT, FUNCTIONS_SRC, `${file}.ts`);
  return (
    existsSync(path) &&
    /export\s+(const|async function|function)\s+handler\b/.test(readFileSync(path, "utf8"))
  );
}

export function localSources(): Record<string, string> {
  const dir = join(ROOT, "packages/local/src");
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
      .map((f) => [f, readFileSync(join(dir, f), "utf8")]),
  );
}

/** The name token of a recorded function (`<via>.nodes.function.name`), as infra passes it to alarms. */
export function functionName(fn: FunctionDef): string {
  return `{{${fn.via}.nodes.function.name}}`;
}

function agentRuntimeArn(rec: Recording): string {
  const runtime = rec.resources.find((r) => r.type === "aws.bedrock.AgentcoreAgentRuntime");
  if (runtime) return text((runtime.instance as Loose).agentRuntimeArn);
  const secret = find(rec, "sst.Secret", "AgentRuntime");
  return text((secret?.instance as Loose)?.value);
}

function find(rec: Recording, type: string, name: string) {
  return rec.resources.find((r) => r.type === type && r.name === name);
}

function sameSet(a: readonly string[], b: readonly string[]) {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v)) && a.length === x.size;
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** "30 seconds", "3 minutes", "1 hour" -> seconds. */
export function seconds(duration: string): number {
  const m = /^(\d+(?:\.\d+)?) (second|minute|hour|day)s?$/.exec(duration);
  if (!m) throw new Error(`Unreadable duration ${duration}`);
  return Number(m[1]) * { second: 1, minute: 60, hour: 3600, day: 86400 }[m[2] as "second"];
}
