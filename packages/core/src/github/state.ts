import * as v from "valibot";
import type { Core } from "../core.ts";
import { swapCommentState } from "../task/comment-state.ts";

/**
 * What the Task item's `github` attribute holds: where the comment is, what was last
 * written to it, and who is writing it now. Every change is a compare-and-set on `seq`,
 * so two writers (the stream subscriber and the reconciler) never both believe they
 * wrote last. It is written alone, never bumping the task's `rev`.
 */
export const CommentState = v.object({
  commentId: v.optional(v.number()),
  /** The task `rev` of the last render written (or found identical). */
  renderedRev: v.optional(v.number(), 0),
  /** The newest event that render saw. */
  renderedEventId: v.optional(v.string()),
  renderedAt: v.optional(v.number()),
  bodyHash: v.optional(v.string()),
  significantHash: v.optional(v.string()),
  /** A permanent GitHub refusal (no access, gone PR): retried only now and then, and at the end. */
  failure: v.optional(v.object({ status: v.number(), message: v.string(), at: v.number() })),
  seq: v.optional(v.number(), 0),
  /** A writer holds the comment until leaseUntil (epoch ms). */
  lease: v.optional(v.string()),
  leaseUntil: v.optional(v.number()),
});
export type CommentState = v.InferOutput<typeof CommentState>;

/** The stored state; anything unreadable counts as none (the comment is then found by its marker). */
export function parseState(raw: unknown): CommentState {
  const parsed = v.safeParse(CommentState, raw ?? {});
  return parsed.success ? parsed.output : { renderedRev: 0, seq: 0 };
}

/** Replaces the state if nobody changed it since `previous` was read; false otherwise. */
export function compareAndSet(
  core: Core,
  taskId: string,
  previous: CommentState,
  next: Omit<CommentState, "seq">,
): Promise<boolean> {
  return swapCommentState(core, taskId, previous.seq, { ...next, seq: previous.seq + 1 });
}
