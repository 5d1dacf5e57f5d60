import { type HandlerName, handlers, type LinkName } from "../packages/functions/src/handlers.ts";
import { NODEJS } from "./bundle.ts";
import { RUNTIME } from "./pins.ts";

/** The resources a handler may be linked to, by the name it reads them under (`Resource.<name>`). */
export interface Linkables {
  Tasks?: sst.aws.Dynamo;
  Events?: sst.aws.Dynamo;
  Nudges?: sst.aws.Dynamo;
  Connections?: sst.aws.Dynamo;
  TaskQueue?: sst.aws.Queue;
  TaskDlq?: sst.aws.Queue;
  WebhookQueue?: sst.aws.Queue;
  Realtime?: sst.aws.ApiGatewayWebSocket;
  GitHubToken?: sst.Secret;
  GitHubWebhookSecret?: sst.Secret;
  /** The link (a secret or the runtime infra created) and the runtime's ARN, for IAM. */
  AgentRuntime?: {
    link: sst.Secret | sst.Linkable<{ value: $util.Output<string> }>;
    arn: $util.Input<string>;
  };
}

/**
 * A handler's function, from `packages/functions/src/handlers.ts`: its path, the pinned
 * runtime and bundle, exactly the links the list declares for it (taken from `available`;
 * one missing there is an error, not a silent omission) and the AgentCore actions it
 * calls, granted on the runtime's ARN only. `extra` adds settings (timeout, memory) and
 * permissions that are the trigger's, not the code's.
 */
export function handler(
  name: HandlerName,
  available: Linkables,
  extra: Pick<sst.aws.FunctionArgs, "timeout" | "memory"> & { permissions?: Permission[] } = {},
): sst.aws.FunctionArgs {
  const spec = handlers[name];
  const link = spec.links.map((linkName: LinkName) => {
    const resource = available[linkName];
    if (!resource) throw new Error(`${name} links ${linkName}, which this infra file does not pass to it`);
    return linkName === "AgentRuntime" ? (resource as NonNullable<Linkables["AgentRuntime"]>).link : resource;
  });
  const permissions: Permission[] = [];
  if (spec.agentcore.length > 0) {
    const runtime = available.AgentRuntime;
    if (!runtime) throw new Error(`${name} calls AgentCore but has no AgentRuntime to call`);
    permissions.push({
      actions: spec.agentcore.map((action) => `bedrock-agentcore:${action}`),
      // The runtime and its endpoints (InvokeAgentRuntime authorizes against both).
      resources: [runtime.arn, $interpolate`${runtime.arn}/runtime-endpoint/*`],
    });
  }
  return {
    description: `Conveyor ${name} (${spec.file})`,
    ...extra,
    handler: `packages/functions/src/${spec.file}.handler`,
    runtime: RUNTIME,
    architecture: "arm64",
    // The same bundle `pnpm build` makes and `pnpm bench:bundles` measures (infra/bundle.ts).
    nodejs: {
      ...NODEJS,
      esbuild: {
        ...NODEJS.esbuild,
        mainFields: [...NODEJS.esbuild.mainFields],
        external: [...NODEJS.esbuild.external],
      },
    },
    link,
    permissions: [...permissions, ...(extra.permissions ?? [])],
  };
}

interface Permission {
  actions: string[];
  resources: $util.Input<string>[];
}

/** The handlers a trigger kind starts, in handlers.ts order: `http`, `queue`, `ws`, `stream`, `cron`. */
export function handlersOf(kind: "http" | "queue" | "ws" | "stream" | "cron") {
  return (Object.keys(handlers) as HandlerName[])
    .map((name) => {
      const [trigger, source = ""] = handlers[name].trigger.split(/:(.*)/s) as [string, string?];
      return { name, trigger, source };
    })
    .filter((h) => h.trigger === kind);
}
