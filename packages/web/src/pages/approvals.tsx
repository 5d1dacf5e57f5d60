import { ApiError, type ApprovalWire } from "@conveyor/client/api";
import { useState } from "preact/hooks";
import type { Ctx } from "../app.tsx";
import { inWords } from "../errors.ts";
import type { PendingApproval } from "../timeline.ts";

/**
 * Approvals waiting for a decision (an `approval.requested` event without its
 * `approval.decided`), each with Approve and Deny and an optional comment.
 */
export function Approvals({
  ctx,
  taskId,
  pending,
}: {
  ctx: Ctx;
  taskId: string;
  pending: PendingApproval[];
}) {
  return (
    <section class="approvals" aria-label="Approvals waiting for you">
      {pending.map((approval) => (
        <ApprovalCard key={approval.approvalId} ctx={ctx} taskId={taskId} approval={approval} />
      ))}
    </section>
  );
}

function ApprovalCard({ ctx, taskId, approval }: { ctx: Ctx; taskId: string; approval: PendingApproval }) {
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ text: string; error?: boolean }>();

  const decide = async (decision: "approve" | "deny") => {
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

  return (
    <div class="approval">
      <p>
        <strong>The agent asks to run</strong> <code>{approval.detail}</code>{" "}
        <span class="muted small">
          ({approval.action}; denied automatically at {new Date(approval.expiresAt).toLocaleTimeString()})
        </span>
      </p>
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
      {note ? (
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
