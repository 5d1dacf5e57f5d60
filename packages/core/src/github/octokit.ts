import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Octokit } from "@octokit/core";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import Bottleneck from "bottleneck";
import type { Limits } from "../config.ts";
import { logger } from "../log.ts";
import {
  CommentGone,
  type GitHubComment,
  GitHubError,
  type GitHubPort,
  GitHubRateLimited,
  type PullRequest,
  type RepoRole,
} from "./port.ts";

// Throttling outside retry: rate limits (403/429) are the throttling plugin's, everything else ≥ 500 the retry plugin's.
const Client = Octokit.plugin(retry, throttling);

/** GitHub asks for at least a minute when a secondary limit names no Retry-After. */
const SECONDARY_FALLBACK_S = 60;
const REQUEST_TIMEOUT_MS = 15_000;

export interface OctokitGitHubOptions {
  apiUrl: string;
  token: string;
  limits: Pick<Limits, "githubWriteGapMs" | "githubMaxWaitMs" | "githubRetryBaseMs">;
  /** The fetch the client sends with (tests may count or fail requests). */
  fetch?: typeof fetch;
}

/**
 * The issue-comment API over Octokit: throttled (mutative requests one at a time and
 * `githubWriteGapMs` apart, as GitHub asks), rate limits honoured and shared by every
 * request of the process (a 403/429 with Retry-After, or x-ratelimit-remaining 0 until
 * x-ratelimit-reset, pauses them all), 5xx and network failures retried with backoff.
 * A wait longer than `githubMaxWaitMs` is not waited out: the call fails with
 * GitHubRateLimited before sending anything, and the caller retries later.
 *
 * @example
 * const github = octokitGitHub({ apiUrl: "https://api.github.com", token, limits: defaultLimits });
 * await github.createComment({ taskId, owner: "acme", repo: "api", issueNumber: 7 }, "hello");
 */
export function octokitGitHub(opts: OctokitGitHubOptions): GitHubPort {
  const { githubWriteGapMs: gap, githubMaxWaitMs: maxWaitMs } = opts.limits;
  const send = opts.fetch ?? globalThis.fetch;
  let pausedUntil = 0;
  const pause = (untilMs: number, why: string) => {
    if (untilMs <= pausedUntil) return;
    pausedUntil = untilMs;
    logger.warn("GitHub rate limit: requests paused", {
      why,
      until: new Date(untilMs).toISOString(),
    });
  };

  /** Every request the client sends, retries included, waits out a pause first and teaches it. */
  const gatedFetch: typeof fetch = async (input, init) => {
    const wait = Math.min(pausedUntil - Date.now(), maxWaitMs);
    if (wait > 0) await sleep(wait);
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let response: Response;
    try {
      response = await send(input, {
        ...init,
        signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout,
      });
    } catch (error) {
      // A TypeError becomes a retryable 500 in Octokit; an abort would not be retried.
      if (timeout.aborted) throw new TypeError(`GitHub did not answer within ${REQUEST_TIMEOUT_MS} ms`);
      throw error;
    }
    await observe(response);
    return response;
  };

  async function observe(response: Response) {
    const headers = response.headers;
    const remaining = headers.get("x-ratelimit-remaining");
    const reset = Number(headers.get("x-ratelimit-reset"));
    if (remaining === "0" && reset > 0) pause(reset * 1_000 + 1_000, "primary");
    if (response.status !== 403 && response.status !== 429) return;
    const retryAfter = Number(headers.get("retry-after"));
    if (retryAfter > 0) return pause(Date.now() + retryAfter * 1_000, "retry-after");
    if (remaining === "0") return;
    // A 403 is also "no permission": only a secondary limit's message pauses everyone.
    const message = await response
      .clone()
      .json()
      .then((body: unknown) => String((body as { message?: unknown } | null)?.message ?? ""))
      .catch(() => "");
    if (response.status === 429 || /secondary rate/i.test(message)) {
      pause(Date.now() + SECONDARY_FALLBACK_S * 1_000, "secondary");
    }
  }

  const retryWithin = (retryAfterS: number, options: { method?: string; url?: string }, kind: string) => {
    const wanted = retryAfterS * 1_000 <= maxWaitMs;
    logger.warn(`GitHub ${kind} rate limit`, {
      request: `${options.method} ${options.url}`,
      retryAfterS,
      retrying: wanted,
    });
    return wanted;
  };

  const octokit = new Client({
    auth: opts.token,
    baseUrl: opts.apiUrl.replace(/\/+$/, ""),
    userAgent: "conveyor-status-comment",
    request: { fetch: gatedFetch },
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    retry: {
      retries: 3,
      retryAfterBaseValue: opts.limits.githubRetryBaseMs,
      // 403 and 429 are the throttling plugin's to decide.
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
    },
    throttle: {
      // Groups of our own: the plugin's defaults are shared module-wide with fixed spacing.
      id: randomUUID(),
      write: new Bottleneck.Group({ maxConcurrent: 1, minTime: gap }),
      notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: gap }),
      onRateLimit: (after: number, options: { method?: string; url?: string }, _o: unknown, count: number) =>
        count < 2 && retryWithin(after, options, "primary"),
      onSecondaryRateLimit: (
        after: number,
        options: { method?: string; url?: string },
        _o: unknown,
        count: number,
      ) => count < 3 && retryWithin(after, options, "secondary"),
    },
  });

  /** Refuses at once when the pause outlasts what one call may wait. */
  function enter() {
    if (pausedUntil - Date.now() > maxWaitMs) throw new GitHubRateLimited(pausedUntil);
  }

  function failure(error: unknown): GitHubError {
    if (error instanceof GitHubError) return error;
    const status = (error as { status?: number }).status ?? 0;
    if ((status === 403 || status === 429) && pausedUntil > Date.now())
      return new GitHubRateLimited(pausedUntil);
    return new GitHubError(status, `GitHub: ${(error as Error).message ?? String(error)}`);
  }

  let login: Promise<string | undefined> | undefined;
  const pull = (p: {
    number: number;
    html_url: string;
    state: string;
    head: { ref: string; repo?: { full_name?: string } | null };
    base: { ref: string };
  }): PullRequest => ({
    number: p.number,
    url: p.html_url,
    head: p.head.ref,
    base: p.base.ref,
    state: p.state === "open" ? "open" : "closed",
    ...(p.head.repo?.full_name ? { headRepo: p.head.repo.full_name } : {}),
  });
  const paths = (t: { owner: string; repo: string }) => ({ owner: t.owner, repo: t.repo });

  return {
    kind: "api",
    author() {
      // A personal token knows its user; an installation token is refused here (then: marker only).
      login ??= (async () => {
        enter();
        const res = await octokit.request("GET /user");
        return (res.data as { login?: string }).login;
      })().catch((error) => {
        const refused = failure(error);
        if (!(refused instanceof GitHubRateLimited) && [401, 403, 404].includes(refused.status))
          return undefined;
        // Transient: ask again next time rather than search without knowing who we are.
        login = undefined;
        throw refused;
      });
      return login;
    },
    async createComment(target, body) {
      enter();
      try {
        const res = await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          ...paths(target),
          issue_number: target.issueNumber,
          body,
        });
        return (res.data as { id: number }).id;
      } catch (error) {
        throw failure(error);
      }
    },
    async updateComment(target, commentId, body) {
      enter();
      try {
        await octokit.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
          ...paths(target),
          comment_id: commentId,
          body,
        });
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 404 || status === 410) throw new CommentGone(commentId);
        throw failure(error);
      }
    },
    async deleteComment(target, commentId) {
      enter();
      try {
        await octokit.request("DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}", {
          ...paths(target),
          comment_id: commentId,
        });
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 404 || status === 410) return;
        throw failure(error);
      }
    },
    async *listComments(target) {
      let url: string | undefined = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments";
      let params: Record<string, unknown> = {
        ...paths(target),
        issue_number: target.issueNumber,
        per_page: 100,
      };
      while (url) {
        enter();
        let res: { data: unknown; headers: { link?: string } };
        try {
          res = await octokit.request(url, params);
        } catch (error) {
          throw failure(error);
        }
        for (const c of res.data as { id: number; body?: string; user?: { login?: string } | null }[]) {
          const comment: GitHubComment = { id: c.id, body: c.body ?? "", author: c.user?.login };
          yield comment;
        }
        // Pages as GitHub links them: its Link header's rel="next" is the next page, or there is none.
        const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.link ?? "")?.[1];
        url = next ? `GET ${next}` : undefined;
        params = {};
      }
    },
    async openPullRequest(repo, input) {
      enter();
      try {
        const res = await octokit.request("POST /repos/{owner}/{repo}/pulls", { ...paths(repo), ...input });
        return pull(res.data as Parameters<typeof pull>[0]);
      } catch (error) {
        if ((error as { status?: number }).status !== 422) throw failure(error);
        // One is already open from this branch (a retried run): that one is ours.
        const open = await octokit
          .request("GET /repos/{owner}/{repo}/pulls", {
            ...paths(repo),
            head: `${repo.owner}:${input.head}`,
            state: "open",
          })
          .catch((again) => {
            throw failure(again);
          });
        const existing = (open.data as Parameters<typeof pull>[0][])[0];
        if (!existing) throw failure(error);
        return pull(existing);
      }
    },
    async getPullRequest(repo, number) {
      enter();
      try {
        const res = await octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
          ...paths(repo),
          pull_number: number,
        });
        return pull(res.data as Parameters<typeof pull>[0]);
      } catch (error) {
        throw failure(error);
      }
    },
    async addReaction(repo, commentId, content) {
      enter();
      try {
        // 201 when added, 200 when this login had already reacted so.
        await octokit.request("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", {
          ...paths(repo),
          comment_id: commentId,
          content,
        });
      } catch (error) {
        throw failure(error);
      }
    },
    async reply(thread, body) {
      enter();
      try {
        const res = await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          ...paths(thread),
          issue_number: thread.issueNumber,
          body,
        });
        return (res.data as { id: number }).id;
      } catch (error) {
        throw failure(error);
      }
    },
    async permission(repo, login) {
      enter();
      try {
        const res = await octokit.request("GET /repos/{owner}/{repo}/collaborators/{username}/permission", {
          ...paths(repo),
          username: login,
        });
        // `permission` folds maintain into write and triage into read; `role_name` keeps them apart.
        const data = res.data as { permission?: string; role_name?: string };
        return roleOf(data.role_name) ?? roleOf(data.permission) ?? "none";
      } catch (error) {
        // 404: no such user, or a repository this token cannot see; either way no say here.
        if ((error as { status?: number }).status === 404) return "none";
        throw failure(error);
      }
    },
  };
}

const ROLES: readonly RepoRole[] = ["admin", "maintain", "write", "triage", "read", "none"];
const roleOf = (name: string | undefined) => ROLES.find((r) => r === name);
