import * as comment from "./comment.ts";
import * as lagging from "./lagging.ts";
import { marker, render as renderComment } from "./render.ts";
import * as syncing from "./sync.ts";

export { githubPort } from "./adapter.ts";
export {
  CommentGone,
  type CommentTarget,
  type GitHubComment,
  GitHubError,
  type GitHubPort,
  GitHubRateLimited,
  type OpenPullRequest,
  type PullRequest,
  type RepoRef,
} from "./port.ts";
export { MAX_BODY, type StatusExtras, type StatusView } from "./render.ts";

/**
 * One comment per task on its PR or issue, created once and edited in place as the
 * task moves (DESIGN §6). Split by use case: sync.ts (bringing one comment up to date),
 * comment.ts (writing it, finding it by its marker), lagging.ts (the reconciler's sweep).
 */
export namespace StatusComment {
  /** `<!-- conveyor:task=<taskId> -->`, the first line of every status comment. */
  export const markerOf = marker;

  /** The comment's Markdown for a task snapshot and its recent events (DESIGN §6). Pure. */
  export const render = renderComment;

  /** What a call to `sync` did. */
  export type Outcome = syncing.Outcome;

  /** The PR or issue a task reports on; undefined for a task bound to neither. */
  export const targetOf = syncing.targetOf;

  /** Brings a task's comment up to date with its latest snapshot, however often it is called. */
  export const sync = syncing.sync;

  /** The task's comment among every comment on its PR, found by its marker; duplicates are deleted. */
  export const findByMarker = comment.findByMarker;

  /** For the reconciler: re-renders the comments whose rendered `rev` lags their task's. */
  export const renderLagging = lagging.renderLagging;
}
