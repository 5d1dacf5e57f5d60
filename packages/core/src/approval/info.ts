import * as v from "valibot";

/** An approval as the domain sees it (times in epoch ms; `deadline` is served as `expiresAt`). */
export const Info = v.object({
  approvalId: v.string(),
  taskId: v.string(),
  tenantId: v.string(),
  userId: v.string(),
  action: v.string(),
  detail: v.string(),
  status: v.picklist(["pending", "approved", "denied"]),
  createdAt: v.number(),
  deadline: v.number(),
  decision: v.optional(v.picklist(["approve", "deny"])),
  by: v.optional(v.string()),
  comment: v.optional(v.string()),
  decidedAt: v.optional(v.number()),
});
export type Info = v.InferOutput<typeof Info>;

export function serialize(item: unknown): Info {
  return v.parse(Info, item);
}

/** The wire shape (APPROVALS.md): ISO times, no tenant internals. */
export function present(a: Info) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    approvalId: a.approvalId,
    taskId: a.taskId,
    action: a.action,
    detail: a.detail,
    status: a.status,
    createdAt: iso(a.createdAt),
    expiresAt: iso(a.deadline),
    decision: a.decision,
    by: a.by,
    comment: a.comment,
    decidedAt: a.decidedAt === undefined ? undefined : iso(a.decidedAt),
  };
}
