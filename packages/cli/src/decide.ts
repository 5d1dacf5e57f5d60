import { ApiError, type ApprovalWire } from "@conveyor/client/api";
import { alreadyDecided, type Decision, settledInWords } from "./approval.ts";
import type { Invocation } from "./args.ts";
import type { Context } from "./commands.ts";
import { clip } from "./format.ts";
import { CONVEYOR } from "./help.ts";

type DecideInvocation = Extract<Invocation, { command: "approve" | "deny" }>;

/**
 * `approve` / `deny`: answers one pending approval; without an approval id, the task's
 * only pending one. Answering what was already answered the same way is done (exit 0),
 * as with cancel; answered the other way, or expired, it says by whom and exits 1.
 */
export async function decide(ctx: Context, inv: DecideInvocation): Promise<number> {
  const { api, out, signal } = ctx;
  const decision: Decision = inv.command;
  const { taskId } = inv;
  let approvalId = inv.approvalId;
  if (!approvalId) {
    const only = await onlyPending(ctx, inv);
    if (!only) return 1;
    approvalId = only.approvalId;
  }
  try {
    const approval = await api.decide(
      taskId,
      approvalId,
      { decision, ...(inv.comment ? { comment: inv.comment } : {}) },
      signal,
    );
    const what = `${approval.action}: ${clip(approval.detail, 120)}`;
    out.data(
      out.json
        ? pretty({ approval })
        : decision === "approve"
          ? `Approved ${what} (${approvalId}); the agent goes on.`
          : `Denied ${what} (${approvalId}); the agent is told no.`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 404) {
      out.error(`No approval ${approvalId} on task ${taskId} (no such task or approval, or not yours).`);
      return 1;
    }
    const settled = error.status === 409 ? alreadyDecided(error.details) : undefined;
    if (!settled) throw error;
    if (out.json) out.data(pretty({ approval: settled }));
    // An expired approval is denied by timeout; the 409's reason says which happened.
    const how = alreadyExpired(error.details)
      ? `expired unanswered: ${settledInWords(settled)}`
      : settledInWords(settled);
    const said = `Approval ${approvalId} (${settled.action}: ${clip(settled.detail, 120)}) was already ${how}`;
    if (settled.decision === decision) {
      out.info(`${said}.`);
      return 0;
    }
    out.error(`${said}; your answer was not recorded.`);
    return 1;
  }
}

/** The task's one pending approval; otherwise says what there is, and how to name one. */
async function onlyPending(ctx: Context, inv: DecideInvocation): Promise<ApprovalWire | undefined> {
  const { api, out, signal } = ctx;
  const { taskId, command } = inv;
  let approvals: ApprovalWire[];
  try {
    approvals = await api.approvals(taskId, signal);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    out.error(`No task ${taskId} (or it is not yours).`);
    return undefined;
  }
  const pending = approvals.filter((approval) => approval.status === "pending");
  if (pending.length === 1) return pending[0];
  if (pending.length === 0) {
    const last = approvals.at(-1);
    out.error(
      `Task ${taskId} has no pending approval` +
        (last
          ? `; the last one, ${last.approvalId} (${last.action}: ${clip(last.detail, 80)}), was ${settledInWords(last)}.`
          : "."),
    );
    return undefined;
  }
  const width = Math.max(...pending.map((approval) => approval.approvalId.length));
  out.error(
    [
      `Task ${taskId} has ${pending.length} pending approvals; name the one to ${command}:`,
      ...pending.map(
        (approval) =>
          `  ${CONVEYOR} ${command} ${taskId} ${approval.approvalId.padEnd(width)}  # ${approval.action}: ${clip(approval.detail, 60)}`,
      ),
    ].join("\n"),
  );
  return undefined;
}

const alreadyExpired = (details: unknown) =>
  (details as { reason?: unknown } | undefined)?.reason === "approval.expired";

const pretty = (value: unknown) => JSON.stringify(value, null, 2);
