/** Where a task's comment lives. `taskId` lets a port that keys by task (the file port) find it. */
export interface CommentTarget {
  taskId: string;
  owner: string;
  repo: string;
  /** The PR or issue number (PRs are issues to this API). */
  issueNumber: number;
}

export interface GitHubComment {
  id: number;
  body: string;
  /** The login that wrote it, when the port knows. */
  author?: string;
}

/** A repository on GitHub. */
export interface RepoRef {
  owner: string;
  repo: string;
}

export interface PullRequest {
  number: number;
  /** Where a person opens it. */
  url: string;
  /** The branch it merges from (in the same repository) and into. */
  head: string;
  base: string;
  state: "open" | "closed";
  /** `owner/name` of the repository `head` lives in (another one for a fork; absent when that fork is gone). */
  headRepo?: string;
}

/** A PR or issue thread, for replies that belong to no task. */
export interface IssueRef extends RepoRef {
  issueNumber: number;
}

/** The reactions Conveyor puts on a comment. */
export type Reaction = "eyes" | "confused";

/** A person's role on a repository, finest first as GitHub names it (`role_name`). */
export type RepoRole = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface OpenPullRequest {
  title: string;
  body: string;
  head: string;
  base: string;
}

/**
 * The issue-comment API the status comment needs (DESIGN §6), and the pull requests an agent opens or updates. `api` talks to GitHub,
 * `file` writes each render to disk (the local stack without a token), `disabled` is
 * the absence of both.
 */
export interface GitHubPort {
  readonly kind: "api" | "file" | "disabled";
  /** The login comments are written as, if it can be known (an App installation token cannot ask). */
  author(): Promise<string | undefined>;
  createComment(target: CommentTarget, body: string): Promise<number>;
  /** Throws CommentGone when the comment no longer exists. */
  updateComment(target: CommentTarget, commentId: number, body: string): Promise<void>;
  /** A comment already gone is fine. */
  deleteComment(target: CommentTarget, commentId: number): Promise<void>;
  /** Every comment on the PR or issue, oldest first, fetched page by page as iterated. */
  listComments(target: CommentTarget): AsyncIterable<GitHubComment>;
  /** Opens a pull request from `head`; one already open from that branch is returned instead. */
  openPullRequest(repo: RepoRef, input: OpenPullRequest): Promise<PullRequest>;
  /** Throws GitHubError 404 when there is no such pull request. */
  getPullRequest(repo: RepoRef, number: number): Promise<PullRequest>;
  /** Reacts to an issue comment; reacting twice with the same content is fine. */
  addReaction(repo: RepoRef, commentId: number, content: Reaction): Promise<void>;
  /** A comment on a thread that belongs to no task (answers to commands); returns its id. */
  reply(thread: IssueRef, body: string): Promise<number>;
  /** A login's role on a repository ("none" for a stranger). */
  permission(repo: RepoRef, login: string): Promise<RepoRole>;
}

/** GitHub answered an error; `status` is its HTTP status (0: no answer). */
export class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "GitHubError";
  }
  /** Writing again would fail the same way (bad token, no access, gone repository, invalid body). */
  get permanent() {
    return [400, 401, 403, 404, 410, 422, 451].includes(this.status);
  }
}

/** The comment was deleted (404/410 on it): create it again. */
export class CommentGone extends GitHubError {
  constructor(readonly commentId: number) {
    super(404, `comment ${commentId} is gone`);
    this.name = "CommentGone";
  }
}

/** A rate limit is in force for longer than one delivery may wait; nothing was sent. */
export class GitHubRateLimited extends GitHubError {
  constructor(readonly untilMs: number) {
    super(429, `GitHub rate limit in force until ${new Date(untilMs).toISOString()}`);
    this.name = "GitHubRateLimited";
  }
  override get permanent() {
    return false;
  }
}
