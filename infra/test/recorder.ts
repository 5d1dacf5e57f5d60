/**
 * A recording stand-in for SST's globals: runs `sst.config.ts`'s `app()` and `run()` as SST
 * would, minus Pulumi and AWS. Every component and resource is recorded with its arguments;
 * outputs are tokens (`{{Tasks.arn}}`) that stringify, interpolate and `apply` like Pulumi
 * outputs do, so arguments can be compared. Only what is modelled here exists: an infra file
 * reaching for another global or component fails loudly instead of passing unchecked.
 */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./analyze.ts";

/** SST's argument bags and Pulumi outputs, recorded as they are: whatever infra passes. */
// biome-ignore lint/suspicious/noExplicitAny: the recorded graph is untyped by nature (SST's and Pulumi's argument bags).
export type Loose = any;

export interface Resource {
  /** `sst.aws.Dynamo`, `aws.cloudwatch.MetricAlarm`, ... */
  type: string;
  name: string;
  args: Loose;
  opts?: Loose;
  /** The component object infra holds (links point at these). */
  instance: object;
}

/** A function SST would create: from a route, a subscription or a cron. */
export interface FunctionDef {
  /** How it was created: `Api.route($default)`, `TaskQueue.subscribe`, `Events.subscribe(EventsFanout)`, `Reconcile`. */
  via: string;
  /** The component it hangs off. */
  parent: Resource;
  kind: "route" | "subscribe" | "cron";
  /** Route key (`$default`, `$connect`) or subscriber name. */
  key?: string;
  args: Loose;
  /** Subscription arguments (filters, batch, transform). */
  subscription?: Loose;
}

export interface Recording {
  stage: string;
  /** The environment the config saw (RunOptions.env). */
  env: Record<string, string>;
  app: Loose;
  outputs: Record<string, unknown>;
  resources: Resource[];
  functions: FunctionDef[];
  /** The recorded resource behind a component object (a link target), if any. */
  resourceOf(instance: unknown): Resource | undefined;
}

const TOKEN = Symbol("token");

/** A stand-in output: any property is another token, `apply` hands the token to the callback. */
export function token(path: string): Loose {
  const target = () => undefined;
  return new Proxy(target, {
    get(_, prop) {
      if (prop === TOKEN) return path;
      if (prop === Symbol.toPrimitive || prop === "toString" || prop === "toJSON") return () => `{{${path}}}`;
      if (prop === "apply") return (fn: (value: Loose) => unknown) => fn(token(path));
      if (prop === "then" || typeof prop === "symbol") return undefined;
      return token(`${path}.${prop}`);
    },
  });
}

export const isToken = (value: unknown) =>
  typeof value === "function" && (value as Loose)[TOKEN] !== undefined;

/** A token's or a string's text, for comparisons. */
export const text = (value: unknown) => (isToken(value) ? `{{${(value as Loose)[TOKEN]}}}` : String(value));

export interface RunOptions {
  stage: string;
  dev?: boolean;
  /** Environment seen by the config (CONVEYOR_AGENT_IMAGE, CONVEYOR_AGENT_MODEL, CONVEYOR_ALARM_EMAIL). */
  env?: Record<string, string>;
  /** Secrets set for the stage (`sst secret set`); none by default, as on a first deploy. */
  secrets?: Record<string, string>;
}

/** The variables infra reads: cleared before each run so the machine's own never leak in. */
const CONFIG_ENV = ["CONVEYOR_AGENT_IMAGE", "CONVEYOR_AGENT_MODEL", "CONVEYOR_ALARM_EMAIL"];

/**
 * Evaluates sst.config.ts for a stage. Modules are evaluated afresh each time (the caller
 * resets vitest's module registry), so runs do not share components.
 */
export async function runConfig(opts: RunOptions): Promise<Recording> {
  const resources: Resource[] = [];
  const functions: FunctionDef[] = [];
  const byInstance = new WeakMap<object, Resource>();
  const g = globalThis as Loose;

  const record = (type: string, name: string, args: Loose, opts: Loose, instance: object) => {
    if (resources.some((r) => r.type === type && r.name === name)) {
      throw new Error(`Two ${type} named ${name}`);
    }
    const resource = { type, name, args, opts, instance };
    resources.push(resource);
    byInstance.set(instance, resource);
    return resource;
  };

  /** A component: known getters become tokens, methods are given by `methods`. */
  const component = (
    type: string,
    methods: (self: Resource) => Record<string, (...args: Loose[]) => unknown> = () => ({}),
  ) =>
    function Component(this: unknown, name: string, args?: Loose, opts?: Loose) {
      if (!new.target) throw new Error(`${type} must be constructed with new`);
      const instance: Record<string | symbol, unknown> = {};
      const proxy = new Proxy(instance, {
        get(target, prop) {
          if (prop in target) return target[prop];
          if (typeof prop === "symbol" || prop === "then") return undefined;
          return token(`${name}.${prop}`);
        },
      });
      Object.assign(instance, methods(record(type, name, args ?? {}, opts, proxy)));
      return proxy;
    } as unknown as new (
      ...args: Loose[]
    ) => Loose;

  const addFunction = (def: FunctionDef) => {
    functions.push(def);
    return token(def.via);
  };

  const subscribedQueues = new Set<string>();
  const secret = component("sst.Secret");
  const setSecrets = opts.secrets ?? {};
  const sst = strict("sst", {
    aws: strict("sst.aws", {
      Dynamo: component("sst.aws.Dynamo", (self) => ({
        subscribe(name: string, subscriber: Loose, args?: Loose) {
          if (typeof name !== "string" || typeof subscriber !== "object") {
            throw new Error(`${self.name}.subscribe(name, subscriber, args): use the v4 form with a name`);
          }
          if (!self.args.stream)
            throw new Error(`Cannot subscribe to "${self.name}" because stream is not enabled.`);
          return addFunction({
            via: `${self.name}.subscribe(${name})`,
            parent: self,
            kind: "subscribe",
            key: name,
            args: subscriber,
            subscription: args ?? {},
          });
        },
      })),
      Queue: component("sst.aws.Queue", (self) => ({
        subscribe(subscriber: Loose, args?: Loose, opts?: Loose) {
          if (subscribedQueues.has(self.name)) {
            throw new Error(`Cannot subscribe to the "${self.name}" queue multiple times.`);
          }
          subscribedQueues.add(self.name);
          return addFunction({
            via: `${self.name}.subscribe`,
            parent: self,
            kind: "subscribe",
            args: subscriber,
            subscription: { ...(args ?? {}), opts },
          });
        },
      })),
      ApiGatewayV2: component("sst.aws.ApiGatewayV2", (self) => ({
        route(route: string, handler: Loose, args?: Loose) {
          if (route !== "$default" && !/^(ANY|DELETE|GET|HEAD|OPTIONS|PATCH|POST|PUT) \//.test(route)) {
            throw new Error(`Invalid route ${route}`);
          }
          return addFunction({
            via: `${self.name}.route(${route})`,
            parent: self,
            kind: "route",
            key: route,
            args: handler,
            subscription: args ?? {},
          });
        },
      })),
      ApiGatewayWebSocket: component("sst.aws.ApiGatewayWebSocket", (self) => ({
        route(route: string, handler: Loose, args?: Loose) {
          return addFunction({
            via: `${self.name}.route(${route})`,
            parent: self,
            kind: "route",
            key: route,
            args: handler,
            subscription: args ?? {},
          });
        },
      })),
      StaticSite: component("sst.aws.StaticSite"),
      CronV2: function CronV2(this: unknown, name: string, args: Loose) {
        if (!new.target) throw new Error("CronV2 must be constructed with new");
        const proxy = new Proxy(
          {},
          {
            get: (_, prop) =>
              typeof prop === "string" && prop !== "then" ? token(`${name}.${prop}`) : undefined,
          },
        );
        const self = record("sst.aws.CronV2", name, args, undefined, proxy);
        if (args.function) functions.push({ via: name, parent: self, kind: "cron", args: args.function });
        return proxy;
      },
    }),
    // Like SST at deploy: a secret with no placeholder must have been set, or the deploy stops.
    Secret: function Secret(this: unknown, name: string, placeholder?: string) {
      if (!new.target) throw new Error("sst.Secret must be constructed with new");
      if (placeholder === undefined && !(name in setSecrets)) {
        throw new Error(`Set a value for ${name} with \`sst secret set ${name} <value>\``);
      }
      return new secret(name, placeholder);
    },
    Linkable: component("sst.Linkable"),
  });
  const aws = strict("aws", {
    sns: strict("aws.sns", {
      Topic: component("aws.sns.Topic"),
      TopicSubscription: component("aws.sns.TopicSubscription"),
    }),
    cloudwatch: strict("aws.cloudwatch", { MetricAlarm: component("aws.cloudwatch.MetricAlarm") }),
    iam: strict("aws.iam", { Role: component("aws.iam.Role"), RolePolicy: component("aws.iam.RolePolicy") }),
    bedrock: strict("aws.bedrock", { AgentcoreAgentRuntime: component("aws.bedrock.AgentcoreAgentRuntime") }),
    getRegionOutput: () => token("aws.getRegion"),
    getCallerIdentityOutput: () => token("aws.getCallerIdentity"),
  });

  const saved = Object.fromEntries(
    ["$config", "$app", "$dev", "$interpolate", "$jsonStringify", "sst", "aws"].map((k) => [k, g[k]]),
  );
  const savedEnv = { ...process.env };
  try {
    for (const key of CONFIG_ENV) delete process.env[key];
    Object.assign(process.env, opts.env ?? {});
    g.$config = (config: unknown) => config;
    g.$dev = opts.dev ?? false;
    g.$interpolate = (strings: TemplateStringsArray, ...values: unknown[]) =>
      strings.reduce((out, s, i) => out + s + (i < values.length ? text(values[i]) : ""), "");
    g.$jsonStringify = (value: unknown) => JSON.stringify(value);
    g.sst = sst;
    g.aws = aws;
    // app() runs before $app exists, as in SST.
    g.$app = undefined;
    const url = pathToFileURL(join(ROOT, "sst.config.ts")).href;
    const config = (await import(/* @vite-ignore */ url)).default;
    const app = config.app({ stage: opts.stage });
    g.$app = Object.freeze({
      name: app.name,
      stage: opts.stage,
      removal: app.removal ?? "retain",
      protect: app.protect ?? false,
      providers: app.providers,
    });
    const outputs = (await config.run()) ?? {};
    return {
      stage: opts.stage,
      env: opts.env ?? {},
      app,
      outputs,
      resources,
      functions,
      resourceOf: (i) => byInstance.get(i as object),
    };
  } finally {
    Object.assign(g, saved);
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  }
}

/** A namespace whose unknown members throw: infra may use only what the stand-in models. */
function strict<T extends object>(path: string, members: T): T {
  return new Proxy(members, {
    get(target, prop) {
      if (typeof prop === "symbol" || prop === "then") return undefined;
      if (!(prop in target)) {
        throw new Error(
          `${path}.${prop} is not modelled by infra/test/recorder.ts: add it there, with its checks`,
        );
      }
      return (target as Loose)[prop];
    },
  });
}
