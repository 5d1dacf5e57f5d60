import type { Core } from "../core.ts";
import { logger } from "../log.ts";
import { CommentGone, type CommentTarget } from "./port.ts";
import { marker } from "./render.ts";

/** Edits the comment, or creates it: again after a 404, or once the marker search finds none. */
export async function put(
  core: Core,
  target: CommentTarget,
  commentId: number | undefined,
  body: string,
): Promise<{ commentId: number; created: boolean }> {
  const github = core.github;
  if (commentId !== undefined) {
    try {
      await github.updateComment(target, commentId, body);
      return { commentId, created: false };
    } catch (error) {
      if (!(error instanceof CommentGone)) throw error;
      logger.warn("status comment was deleted; creating it again", {
        taskId: target.taskId,
        commentId,
      });
      return { commentId: await github.createComment(target, body), created: true };
    }
  }
  const found = await findByMarker(core, target);
  if (found) {
    logger.info("status comment found by its marker", {
      taskId: target.taskId,
      commentId: found.id,
    });
    if (found.body !== body) await github.updateComment(target, found.id, body);
    return { commentId: found.id, created: false };
  }
  return { commentId: await github.createComment(target, body), created: true };
}

/**
 * The task's comment among every comment on its PR: it starts with the marker and, when
 * GitHub says who we are, is ours. Should two exist (a crash between create and record,
 * twice), the oldest is kept and the others are deleted.
 */
export async function findByMarker(core: Core, target: CommentTarget) {
  const author = await core.github.author();
  const tag = marker(target.taskId);
  const mine = [];
  for await (const comment of core.github.listComments(target)) {
    if (!comment.body.startsWith(tag)) continue;
    if (author !== undefined && comment.author !== author) continue;
    mine.push(comment);
  }
  if (author !== undefined) {
    for (const extra of mine.slice(1)) {
      logger.warn("duplicate status comment deleted", {
        taskId: target.taskId,
        commentId: extra.id,
      });
      await core.github.deleteComment(target, extra.id);
    }
  }
  return mine[0];
}
