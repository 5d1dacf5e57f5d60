import { ApiError, type ApprovalWire } from "@conveyor/client/api";
import { useState } from "preact/hooks";
import type { Ctx } from "../app.tsx";
import { inWords } from "../errors.ts";
import type { PendingApproval } from "../timeline.ts";

/**
 * Approvals waiting for a decision (an `approval.requested` event without its
 * `approval.decided`), each with Approve and Deny and an optional comment. One answered from
 * this page stays, saying how it ended, so a refusal (decided elsewhere first) is not lost
 * when the decision's event removes the question.
 */
export function Approvals({
  ctx,
  taskId,
  approvals,
}: {
  ctx: Ctx;
  taskId: string;
  approvals: PendingApproval[];
}) {
  const [answered, setAnswered] = useState<ReadonlySet<string>>(new Set());
  const shown = approvals.filter((a) => !a.decided || answered.has(a.approvalId));
  if (shown.length === 0) return null;
  return (
    <section class="approvals" aria-label="Approvals">
      {shown.map((approval) => (
        <ApprovalCard
          key={approval.approvalId}
          ctx={ctx}
          taskId={taskId}
          approval={approval}
          onAnswer={() => setAnswered((a) => new Set(a).add(approval.approvalId))}
        />
      ))}
    </section>
  );
}

function ApprovalCard({
  ctx,
  taskId,
  approval,
  onAnswer,
}: {
  ctx: Ctx;
  taskId: string;
  approval: PendingApproval;
  onAnswer: () => void;
}) {
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ text: string; error?: boolean }>();

  const decide = async (decision: "approve" | "deny") => {
    onAnswer();
    setBusy(true);
    setNote(undefined);
    try {
      await ctx.api.decide(taskId, approval.approvalId, { decision, ...(comment.trim() ? { comment } : {}) });
      setNote({ text: decision === "approve" ? "Approved." : "Denied." });
    } catch (failure) {
      setNote({ text: conflictInWords(failure), error: true });
    } finally {
      setBusy(false);
    }
  };

  const outcome = approval.decided;
  return (
    <div class="approval" data-approval-id={approval.approvalId}>
      <p>
        <strong>{outcome ? "The agent asked to run" : "The agent asks to run"}</strong>{" "}
        <code class="approval-detail">{approval.detail}</code>{" "}
        <span class="muted small">
          ({approval.action}
          {outcome ? "" : `; denied automatically at ${new Date(approval.expiresAt).toLocaleTimeString()}`})
        </span>
      </p>
      {outcome && !busy ? (
        <p class="muted small" data-outcome={outcome.decision}>
          {outcome.decision === "approve" ? "Approved" : "Denied"} by {outcome.by}
          {outcome.comment ? `: ${outcome.comment}` : "."}
        </p>
      ) : (
        <div class="row">
          <input
            aria-label="Comment for the agent (optional)"
            placeholder="Comment (optional)"
            value={comment}
            maxLength={2000}
            onInput={(e) => setComment((e.target as HTMLInputElement).value)}
          />
          <button type="button" disabled={busy} onClick={() => decide("approve")}>
            Approve
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => decide("deny")}>
            Deny
          </button>
        </div>
      )}
      {note && (note.error || !outcome) ? (
        <p class={note.error ? "field-error" : "muted small"} role={note.error ? "alert" : "status"}>
          {note.text}
        </p>
      ) : null}
    </div>
  );
}

/** A 409 names why: someone decided first, or the approval ran out of time. */
function conflictInWords(error: unknown) {
  if (error instanceof ApiError && error.status === 409) {
    const approval = (error.details as { approval?: ApprovalWire } | undefined)?.approval;
    if (error.reason === "approval.expired") return "Too late: this approval expired and was denied.";
    if (error.reason === "approval.decided")
      return `Already decided: ${approval?.decision === "approve" ? "approved" : "denied"}${approval?.by ? ` by ${approval.by}` : ""}.`;
  }
  return inWords(error);
}
