import type { ApprovalWire, DecisionBody, SubmitBody } from "@conveyor/client/api";
import * as Rules from "@conveyor/core/approval/rules";
import * as v from "valibot";

/**
 * Human approval gates on the CLI's side (the approvals contract): the API's replies are
 * typed by the shared client; what it cannot type (a 409's details) is checked here.
 */

/** Modes, rule ids and timeout bounds are core's (`@conveyor/core/approval/rules`), shared with the server. */
export const APPROVAL_MODES = Rules.APPROVAL_MODES;
export const APPROVAL_RULES = Rules.RULE_IDS;
export const APPROVAL_TIMEOUT_S = { min: Rules.MIN_TIMEOUT_S, max: Rules.MAX_TIMEOUT_S } as const;

/** The submit body's `approvals` field, as the server types it. */
export type ApprovalsSetting = NonNullable<SubmitBody["approvals"]>;
export type Decision = DecisionBody["decision"];

/**
 * The 409 a decision gets when the approval was answered (or expired) first. Error details
 * are free-form to the typed client, so the approval they carry is checked before it is read;
 * `alreadyDecided` returning it as an `ApprovalWire` keeps this schema in step with the server.
 */
const Conflict = v.object({
  reason: v.picklist(["approval.decided", "approval.expired"]),
  approval: v.object({
    approvalId: v.string(),
    taskId: v.string(),
    action: v.string(),
    detail: v.string(),
    status: v.picklist(["pending", "approved", "denied"]),
    createdAt: v.string(),
    expiresAt: v.string(),
    decision: v.optional(v.picklist(["approve", "deny"])),
    by: v.optional(v.string()),
    comment: v.optional(v.string()),
    decidedAt: v.optional(v.string()),
  }),
});

/** The approval a 409's details carry, when the conflict is that it was already decided. */
export function alreadyDecided(details: unknown): ApprovalWire | undefined {
  const parsed = v.safeParse(Conflict, details);
  return parsed.success ? parsed.output.approval : undefined;
}

/** "approved by alice — looks right", "denied by timeout", "approved by policy". */
export function decidedBy(decision: Decision, by: string, comment?: string | null): string {
  const done = decision === "approve" ? "approved" : "denied";
  return `${done} by ${by}${comment ? ` — ${comment}` : ""}`;
}

/** How an approval that is no longer pending was settled: "approved by alice — ok", "denied by timeout". */
export function settledInWords(approval: ApprovalWire): string {
  const decision = approval.decision ?? (approval.status === "approved" ? "approve" : "deny");
  return decidedBy(decision, approval.by ?? "someone", approval.comment);
}

/** "in 5m", "in 40s", "in 2h": how long until `iso`, rounded to one unit. */
export function timeUntil(iso: string, now: number): string | undefined {
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return `in ${span(ms)}`;
}

/** "40s", "5m", "2h", "3d": a duration rounded to one unit. */
export function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m}m`;
  const h = Math.round(m / 60);
  return h < 36 ? `${h}h` : `${Math.round(h / 24)}d`;
}
