/**
 * Every Lambda handler Conveyor has, what triggers it, and what it may touch: the one list
 * that infra (`infra/*.ts`), the local stack and the contract test all read. A handler added
 * to infra but missing here, or the other way round, fails the contract test.
 *
 * - `file` is relative to `packages/functions/src`, without extension; each exports `handler`.
 * - `trigger`: `http`, `queue:<Queue>`, `ws:<route>`, `stream:<Table>` (its mapping's settings
 *   are `streamSubscriptions[<name>]` in core's tables.ts), `cron`.
 * - `links`: exactly the resources its code uses (least privilege). Infra links these and
 *   nothing else; `infra/test/contract.test.ts` reads the handler's code and fails when this
 *   list says more or less than the code uses.
 * - `agentcore`: the AgentCore actions it calls (`core.runtime.invoke` / `.stop`), granted on
 *   the runtime's ARN only.
 */
export const handlers = {
  Api: {
    file: "api/index",
    trigger: "http",
    // GitHubToken and GitHubWebhookSecret: `/conveyor` comments (verified, answered with reactions and replies).
    links: ["Tasks", "Events", "Nudges", "TaskQueue", "AgentRuntime", "GitHubToken", "GitHubWebhookSecret"],
    // Cancel: a `{kind: "cancel"}` push to a RUNNING task, StopRuntimeSession for a STARTING one.
    agentcore: ["InvokeAgentRuntime", "StopRuntimeSession"],
  },
  Dispatch: {
    file: "queue/dispatch",
    trigger: "queue:TaskQueue",
    links: ["Tasks", "Events", "Nudges", "TaskQueue", "AgentRuntime"],
    agentcore: ["InvokeAgentRuntime"],
  },
  DlqDrain: {
    file: "queue/dlq",
    trigger: "queue:TaskDlq",
    links: ["Tasks", "Events", "Nudges", "TaskQueue"],
    agentcore: [],
  },
  WsConnect: { file: "ws/connect", trigger: "ws:$connect", links: ["Tasks", "Connections"], agentcore: [] },
  WsDisconnect: { file: "ws/disconnect", trigger: "ws:$disconnect", links: ["Connections"], agentcore: [] },
  WsDefault: {
    file: "ws/default",
    trigger: "ws:$default",
    links: ["Tasks", "Events", "Connections", "Realtime"],
    agentcore: [],
  },
  EventsFanout: {
    file: "stream/fanout",
    trigger: "stream:Events",
    links: ["Connections", "Realtime"],
    agentcore: [],
  },
  EventsGithub: {
    file: "stream/github",
    trigger: "stream:Events",
    // WebhookQueue: the same subscription queues outgoing webhook deliveries.
    links: ["Tasks", "Events", "Nudges", "GitHubToken", "WebhookQueue"],
    agentcore: [],
  },
  WebhookDeliver: {
    file: "queue/webhook",
    trigger: "queue:WebhookQueue",
    // WebhookQueue: a failed delivery's backoff is a visibility change on its message.
    links: ["Tasks", "WebhookQueue"],
    agentcore: [],
  },
  NudgesPush: {
    file: "stream/nudge",
    trigger: "stream:Nudges",
    links: ["Tasks", "Events", "Nudges", "AgentRuntime"],
    agentcore: ["InvokeAgentRuntime"],
  },
  Reconcile: {
    file: "cron/reconcile",
    trigger: "cron",
    // GitHubToken: comments that fell behind are re-rendered (StatusComment.renderLagging).
    links: ["Tasks", "Events", "Nudges", "TaskQueue", "AgentRuntime", "GitHubToken"],
    // An approval past its deadline is denied and the waiting agent told (`{kind: "approval"}`).
    agentcore: ["InvokeAgentRuntime", "StopRuntimeSession"],
  },
} as const satisfies Record<string, HandlerSpec>;

export type HandlerName = keyof typeof handlers;

/** What a function may be linked to: the names handlers read through `Resource` (DESIGN §12.2). */
export type LinkName =
  | "Tasks"
  | "Events"
  | "Nudges"
  | "Connections"
  | "TaskQueue"
  | "TaskDlq"
  | "WebhookQueue"
  | "AgentRuntime"
  | "Realtime"
  | "GitHubToken"
  | "GitHubWebhookSecret";

export interface HandlerSpec {
  file: string;
  trigger: "http" | "cron" | `queue:${string}` | `ws:${string}` | `stream:${string}`;
  links: readonly LinkName[];
  agentcore: readonly ("InvokeAgentRuntime" | "StopRuntimeSession")[];
}
