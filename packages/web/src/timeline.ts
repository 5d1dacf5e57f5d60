import { oneLine } from "./format.ts";

/** An event as the API and the WebSocket serve it (DESIGN §4). */
export interface TaskEventLike {
  taskId: string;
  eventId: string;
  type: string;
  at: string;
  data: unknown;
}

export type RowKind =
  | "status"
  | "turn"
  | "tool"
  | "milestone"
  | "error"
  | "cost"
  | "steer"
  | "approval"
  | "other";

/** One line of the timeline: an event, or a tool call together with its result. */
export interface Row {
  /** The eventId of the event the row stands for (the call, for a tool row). */
  id: string;
  kind: RowKind;
  at: string;
  label: string;
  text: string;
  event: TaskEventLike;
  /** A tool call's result, once it arrived. */
  result?: TaskEventLike;
  /** Failed tool results and agent errors: shown highlighted. */
  error?: boolean;
}

export interface PendingApproval {
  approvalId: string;
  action: string;
  detail: string;
  expiresAt: string;
  eventId: string;
  /** Once an `approval.decided` arrived. */
  decided?: { decision: "approve" | "deny"; by: string; comment?: string };
}

type Data = Record<string, unknown>;
const str = (value: unknown) =>
  typeof value === "string" ? value : value === undefined ? "" : String(value);

/**
 * The task page's model of a task's events: each event once (by eventId), rows kept in
 * eventId order however the events arrive, a tool call's result folded into the call's row,
 * and the approvals still waiting for a decision.
 */
export class Timeline {
  readonly rows: Row[] = [];
  private readonly seen = new Set<string>();
  private readonly tools = new Map<string, Row>();
  /** Results that arrived before their call (writers' clocks may differ a little). */
  private readonly early = new Map<string, TaskEventLike>();
  private readonly requested = new Map<string, PendingApproval>();
  private readonly decided = new Map<string, NonNullable<PendingApproval["decided"]>>();

  get size() {
    return this.seen.size;
  }

  /** Adds an event; false when it was already here. */
  add(event: TaskEventLike): boolean {
    if (this.seen.has(event.eventId)) return false;
    this.seen.add(event.eventId);
    const data = (event.data ?? {}) as Data;
    switch (event.type) {
      case "agent.tool_result": {
        const id = str(data.toolCallId);
        const row = this.tools.get(id);
        if (row) {
          row.result = event;
          row.error = data.isError === true;
          row.text = toolText(row.event, event);
        } else this.early.set(id, event);
        return true;
      }
      case "approval.requested":
        this.requested.set(str(data.approvalId), {
          approvalId: str(data.approvalId),
          action: str(data.action),
          detail: str(data.detail),
          expiresAt: str(data.expiresAt),
          eventId: event.eventId,
        });
        break;
      case "approval.decided":
        this.decided.set(str(data.approvalId), {
          decision: data.decision === "approve" ? "approve" : "deny",
          by: str(data.by),
          ...(data.comment ? { comment: str(data.comment) } : {}),
        });
        break;
    }
    const row = toRow(event);
    if (event.type === "agent.tool_call") {
      const id = str(data.toolCallId);
      this.tools.set(id, row);
      const result = this.early.get(id);
      if (result) {
        this.early.delete(id);
        row.result = result;
        row.error = (result.data as Data).isError === true;
        row.text = toolText(event, result);
      }
    }
    this.insert(row);
    return true;
  }

  /** Every `approval.requested`, oldest first, with its decision once `approval.decided` came. */
  approvals(): PendingApproval[] {
    return [...this.requested.values()].map((a) => {
      const decided = this.decided.get(a.approvalId);
      return decided ? { ...a, decided } : a;
    });
  }

  /** `approval.requested` without a matching `approval.decided`, oldest first. */
  pendingApprovals(): PendingApproval[] {
    return this.approvals().filter((a) => !a.decided);
  }

  private insert(row: Row) {
    const rows = this.rows;
    // Nearly always the newest: append; otherwise find its place.
    if (rows.length === 0 || (rows.at(-1) as Row).id < row.id) {
      rows.push(row);
      return;
    }
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((rows[mid] as Row).id < row.id) lo = mid + 1;
      else hi = mid;
    }
    rows.splice(lo, 0, row);
  }
}

function toolText(call: TaskEventLike, result?: TaskEventLike) {
  const data = call.data as Data;
  const input = oneLine(data.input, 80);
  if (!result) return `${input}  …running`;
  return `${input}  →  ${oneLine((result.data as Data).output, 100)}`;
}

function toRow(event: TaskEventLike): Row {
  const data = (event.data ?? {}) as Data;
  const base = { id: event.eventId, at: event.at, event };
  switch (event.type) {
    case "task.submitted":
      return { ...base, kind: "status", label: "submitted", text: "Task accepted" };
    case "task.status":
      return {
        ...base,
        kind: "status",
        label: "status",
        text: `${str(data.from)} → ${str(data.to)}${data.reason ? ` (${str(data.reason)})` : ""}`,
        error: data.to === "FAILED" || data.to === "TIMED_OUT",
      };
    case "agent.turn":
      return { ...base, kind: "turn", label: `turn ${str(data.turn)}`, text: oneLine(data.text) };
    case "agent.tool_call":
      return { ...base, kind: "tool", label: str(data.name) || "tool", text: toolText(event) };
    case "agent.tool_result":
      return {
        ...base,
        kind: "tool",
        label: "result",
        text: oneLine(data.output),
        error: data.isError === true,
      };
    case "agent.milestone":
      return {
        ...base,
        kind: "milestone",
        label: "milestone",
        text: `${str(data.name)}${data.detail ? `: ${str(data.detail)}` : ""}`,
      };
    case "agent.cost":
      return {
        ...base,
        kind: "cost",
        label: "cost",
        text: `+$${Number(data.costUsd ?? 0).toFixed(4)} (${str(data.inputTokens)} in, ${str(data.outputTokens)} out)`,
      };
    case "agent.error":
      return {
        ...base,
        kind: "error",
        label: data.fatal ? "fatal error" : "error",
        text: oneLine(data.message),
        error: true,
      };
    case "nudge.received":
    case "nudge.acknowledged":
    case "nudge.expired":
      return {
        ...base,
        kind: "steer",
        label: event.type.replace("nudge.", "nudge "),
        text: oneLine(data.message ?? data.nudgeId),
      };
    case "cancel.requested":
      return { ...base, kind: "steer", label: "cancel", text: "Cancel requested" };
    case "approval.requested":
      return {
        ...base,
        kind: "approval",
        label: "approval asked",
        text: `${str(data.action)}: ${oneLine(data.detail)}`,
      };
    case "approval.decided":
      return {
        ...base,
        kind: "approval",
        label: `${str(data.decision) === "approve" ? "approved" : "denied"}`,
        text: `by ${str(data.by)}${data.comment ? `: ${oneLine(data.comment)}` : ""}`,
        error: data.decision === "deny",
      };
    default:
      return { ...base, kind: "other", label: event.type, text: oneLine(data) };
  }
}
