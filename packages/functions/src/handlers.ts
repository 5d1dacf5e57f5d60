/**
 * Every Lambda handler Conveyor has, and what triggers it: the one list that infra
 * (`infra/*.ts`), the local stack and the contract test all read. A handler added to
 * infra but missing here, or the other way round, fails the contract test.
 *
 * `file` is relative to `packages/functions/src`, without extension; each exports `handler`.
 */
export const handlers = {
  Api: { file: "api/index", trigger: "http" },
  Dispatch: { file: "queue/dispatch", trigger: "queue:TaskQueue" },
  DlqDrain: { file: "queue/dlq", trigger: "queue:TaskDlq" },
  WsConnect: { file: "ws/connect", trigger: "ws:$connect" },
  WsDisconnect: { file: "ws/disconnect", trigger: "ws:$disconnect" },
  WsDefault: { file: "ws/default", trigger: "ws:$default" },
  EventsFanout: { file: "stream/fanout", trigger: "stream:Events" },
  NudgesDispatch: { file: "stream/nudge", trigger: "stream:Nudges" },
  Reconcile: { file: "cron/reconcile", trigger: "cron" },
} as const;

export type HandlerName = keyof typeof handlers;
