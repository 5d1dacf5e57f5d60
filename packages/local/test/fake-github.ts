import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** An issue comment as the fake keeps it. */
export interface FakeComment {
  id: number;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  author: string;
  createdAt: string;
  updatedAt: string;
}

/** A pull request as the fake keeps it. */
export interface FakePullRequest {
  number: number;
  owner: string;
  repo: string;
  title: string;
  body: string;
  head: string;
  base: string;
  state: "open" | "closed";
  author: string;
  /** Where the head branch lives when it is not this repository (a fork). */
  headOwner?: string;
}

/** A reaction on an issue comment, as the fake keeps it. */
export interface FakeReaction {
  id: number;
  commentId: number;
  content: string;
  login: string;
}

/** GitHub's reaction contents (anything else is 422). */
const REACTIONS = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"];

/** One request as the fake saw it, and what it answered. */
export interface LoggedRequest {
  at: number;
  method: string;
  path: string;
  query: string;
  status: number;
  /** The PR or issue the request is about, when it can be told (comment routes: from the comment). */
  issueNumber?: number;
  commentId?: number;
  /** The comment body sent (POST/PATCH). */
  body?: string;
  headers: Record<string, string | string[] | undefined>;
}

const DOCS = "https://docs.github.com/rest";
const MAX_BODY = 65_536;

/**
 * A GitHub REST server for tests that behaves like GitHub where the status comment
 * cares, errors included (JSON `{ message, documentation_url }` bodies, statuses and
 * headers as GitHub sends them):
 *
 * - pull requests: `POST /repos/{o}/{r}/pulls` (422 without title/head/base, when head is base,
 *   when the head branch does not exist (`branchExists`), or when one is already open from it),
 *   `GET /repos/{o}/{r}/pulls?head=owner:branch&state=`, `GET /repos/{o}/{r}/pulls/{n}` (404);
 * - reactions: `POST /repos/{o}/{r}/issues/comments/{id}/reactions` (201, or 200 when that login
 *   already reacted so; 422 for an unknown content; 404 for a missing comment);
 * - roles: `GET /repos/{o}/{r}/collaborators/{user}/permission` (`permission` folds maintain into
 *   write and triage into read, `role_name` keeps them; a stranger on a public repo reads "read";
 *   404 for a login GitHub does not know, see `unknownUsers`);
 * - issue comments: `POST/GET /repos/{o}/{r}/issues/{n}/comments` (Link-header pagination,
 *   per_page up to 100, page), `GET/PATCH/DELETE /repos/{o}/{r}/issues/comments/{id}`,
 *   `GET /user`; 404 for a deleted comment, 422 over 65,536 characters, 400 when a
 *   conditional header (If-Match) is sent on PATCH, 401 without a known token;
 * - primary rate-limit headers on every answer, and the limit itself once exhausted
 *   (403, x-ratelimit-remaining 0, x-ratelimit-reset);
 * - on demand: a secondary rate limit (403 with Retry-After; every request until it ends
 *   is refused and counted as a violation), 5xx answers, latency;
 * - a request log to assert on.
 *
 * @example
 * const github = await startFakeGitHub();
 * const stack = await startTestStack({ githubApiUrl: github.url, githubToken: "test" });
 * expect(github.comments("acme", "api", 7)).toHaveLength(1);
 */
export async function startFakeGitHub(
  opts: {
    /** token -> login. Default `{ test: "conveyor-bot" }`. */
    tokens?: Record<string, string>;
    /** Primary limit per hour. Default 5,000. */
    rateLimit?: number;
    /** Delay before each answer. */
    latencyMs?: number;
    /** Whether a branch exists (GitHub refuses a PR from a branch never pushed). Default: every branch. */
    branchExists?: (owner: string, repo: string, branch: string) => boolean | Promise<boolean>;
  } = {},
) {
  const tokens = opts.tokens ?? { test: "conveyor-bot" };
  const comments = new Map<number, FakeComment>();
  // Deleted comments, so requests about them are still told apart by PR in the log.
  const deleted = new Map<number, FakeComment>();
  const remove = (id: number) => {
    const comment = comments.get(id);
    if (comment) deleted.set(id, comment);
    return comments.delete(id);
  };
  const log: LoggedRequest[] = [];
  const pulls: FakePullRequest[] = [];
  const reactions: FakeReaction[] = [];
  /** `owner/repo/login` (lower case) -> role_name. */
  const roles = new Map<string, string>();
  const unknownUsers = new Set<string>();
  let nextId = 1_000_001;
  let limit = opts.rateLimit ?? 5_000;
  let used = 0;
  let resetAt = Math.floor(Date.now() / 1_000) + 3_600;
  let failures: number[] = [];
  /** Failures kept for requests whose path matches (`failOn`). */
  let pathFailures: { path: RegExp; status: number }[] = [];
  let secondary: { armed: number; retryAfterS: number; withHeader: boolean } | undefined;
  let limitedUntil = 0;
  let limitedRetryAfter = true;
  let violations = 0;
  let latencyMs = opts.latencyMs ?? 0;

  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      raw += chunk;
    });
    req.on("end", () => {
      const respond = () => handle(req, res, raw).catch(() => reply(res, 500, { message: "fake crashed" }));
      if (latencyMs > 0) setTimeout(respond, latencyMs);
      else void respond();
    });
  });

  function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    const now = Math.floor(Date.now() / 1_000);
    if (now >= resetAt) {
      used = 0;
      resetAt = now + 3_600;
    }
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "x-github-api-version-selected": "2022-11-28",
      "x-github-request-id": randomBytes(8).toString("hex").toUpperCase(),
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(Math.max(0, limit - used)),
      "x-ratelimit-used": String(used),
      "x-ratelimit-reset": String(resetAt),
      "x-ratelimit-resource": "core",
      ...headers,
    });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  const error = (message: string, doc: string, extra: Record<string, unknown> = {}) => ({
    message,
    documentation_url: `${DOCS}/${doc}`,
    ...extra,
  });

  const present = (c: FakeComment, base: string) => ({
    id: c.id,
    node_id: `IC_${Buffer.from(String(c.id)).toString("base64url")}`,
    url: `${base}/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
    html_url: `https://github.com/${c.owner}/${c.repo}/pull/${c.issueNumber}#issuecomment-${c.id}`,
    issue_url: `${base}/repos/${c.owner}/${c.repo}/issues/${c.issueNumber}`,
    body: c.body,
    user: { login: c.author, id: 1, type: c.author.endsWith("[bot]") ? "Bot" : "User" },
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    author_association: "NONE",
  });

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string) {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://fake");
    const base = `http://${req.headers.host}`;
    const entry: LoggedRequest = {
      at: Date.now(),
      method,
      path: url.pathname,
      query: url.search,
      status: 0,
      headers: { ...req.headers },
    };
    log.push(entry);
    const send = (status: number, body?: unknown, headers?: Record<string, string>) => {
      entry.status = status;
      reply(res, status, body, headers);
    };

    const auth = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (!auth) return send(401, error("Requires authentication", "overview/resources-in-the-rest-api"));
    const login = tokens[auth];
    if (!login) return send(401, error("Bad credentials", "rest"));

    const mutative = method !== "GET" && method !== "HEAD";
    const now = Date.now();
    if (now < limitedUntil) {
      violations++;
      const left = String(Math.ceil((limitedUntil - now) / 1_000));
      return send(
        403,
        error(
          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
          "overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        ),
        limitedRetryAfter ? { "retry-after": left } : {},
      );
    }
    if (secondary && mutative && --secondary.armed <= 0) {
      limitedUntil = now + secondary.retryAfterS * 1_000;
      limitedRetryAfter = secondary.withHeader;
      const after = String(secondary.retryAfterS);
      const withHeader = secondary.withHeader;
      secondary = undefined;
      return send(
        403,
        error(
          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
          "overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        ),
        withHeader ? { "retry-after": after } : {},
      );
    }
    if (used >= limit && Math.floor(now / 1_000) < resetAt) {
      return send(
        403,
        error(
          "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
          "overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
        ),
      );
    }
    used++;
    const aimed = pathFailures.findIndex((f) => f.path.test(url.pathname));
    if (aimed >= 0) {
      const [hit] = pathFailures.splice(aimed, 1);
      return send(hit!.status, { message: "Server Error" });
    }
    const failure = failures.shift();
    if (failure !== undefined) return send(failure, { message: "Server Error" });

    if (url.pathname === "/user" && method === "GET") {
      return send(200, { login, id: 1, type: login.endsWith("[bot]") ? "Bot" : "User" });
    }

    let body: { body?: unknown; title?: unknown; head?: unknown; base?: unknown } = {};
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(400, error("Problems parsing JSON", "rest"));
      }
    }
    const tooLong = (text: string) =>
      send(
        422,
        error("Validation Failed", "issues/comments", {
          errors: [
            {
              resource: "IssueComment",
              code: "unprocessable",
              field: "data",
              message: `Body is too long (maximum is ${MAX_BODY} characters)`,
            },
          ],
          status: "422",
        }),
        { "x-body-length": String(text.length) },
      );

    const onPulls = /^\/repos\/([^/]+)\/([^/]+)\/pulls(?:\/(\d+))?$/.exec(url.pathname);
    if (onPulls) {
      const [, owner, repo, n] = onPulls as unknown as [string, string, string, string | undefined];
      const presentPull = (p: FakePullRequest) => ({
        number: p.number,
        html_url: `https://github.com/${p.owner}/${p.repo}/pull/${p.number}`,
        url: `${base}/repos/${p.owner}/${p.repo}/pulls/${p.number}`,
        state: p.state,
        title: p.title,
        body: p.body,
        user: { login: p.author },
        head: {
          ref: p.head,
          label: `${p.headOwner ?? p.owner}:${p.head}`,
          repo: {
            name: p.repo,
            full_name: `${p.headOwner ?? p.owner}/${p.repo}`,
            owner: { login: p.headOwner ?? p.owner },
            fork: p.headOwner !== undefined && p.headOwner !== p.owner,
          },
        },
        base: { ref: p.base, label: `${p.owner}:${p.base}` },
      });
      const invalid = (message: string) =>
        send(
          422,
          error("Validation Failed", "pulls/pulls#create-a-pull-request", {
            errors: [{ resource: "PullRequest", code: "custom", message }],
            status: "422",
          }),
        );
      if (n !== undefined) {
        entry.issueNumber = Number(n);
        const found = pulls.find((p) => p.owner === owner && p.repo === repo && p.number === Number(n));
        if (method !== "GET" || !found)
          return send(404, error("Not Found", "pulls/pulls#get-a-pull-request", { status: "404" }));
        return send(200, presentPull(found));
      }
      if (method === "GET") {
        const head = url.searchParams.get("head");
        const state = url.searchParams.get("state") ?? "open";
        return send(
          200,
          pulls
            .filter((p) => p.owner === owner && p.repo === repo)
            .filter((p) => state === "all" || p.state === state)
            .filter((p) => !head || `${p.owner}:${p.head}` === head)
            .map(presentPull),
        );
      }
      if (method !== "POST") return send(404, error("Not Found", "rest"));
      const { title, head, base: into } = body;
      if (typeof title !== "string" || typeof head !== "string" || typeof into !== "string") {
        return invalid("title, head and base are required");
      }
      if (head === into) return invalid(`No commits between ${into} and ${head}`);
      if (opts.branchExists && !(await opts.branchExists(owner, repo, head))) {
        return send(
          422,
          error("Validation Failed", "pulls/pulls#create-a-pull-request", {
            errors: [{ resource: "PullRequest", field: "head", code: "invalid" }],
            status: "422",
          }),
        );
      }
      if (pulls.some((p) => p.owner === owner && p.repo === repo && p.head === head && p.state === "open")) {
        return invalid(`A pull request already exists for ${owner}:${head}.`);
      }
      const number = pulls.filter((p) => p.owner === owner && p.repo === repo).length + 1;
      const pr: FakePullRequest = {
        number,
        owner,
        repo,
        title,
        body: typeof body.body === "string" ? body.body : "",
        head,
        base: into,
        state: "open",
        author: login,
      };
      pulls.push(pr);
      entry.issueNumber = number;
      return send(201, presentPull(pr));
    }

    const onRole = /^\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)\/permission$/.exec(url.pathname);
    if (onRole && method === "GET") {
      const [, owner, repo, user] = onRole as unknown as [string, string, string, string];
      if (unknownUsers.has(user.toLowerCase())) {
        return send(
          404,
          error("Not Found", "collaborators/collaborators#get-repository-permissions-for-a-user", {
            status: "404",
          }),
        );
      }
      const role = roles.get(`${owner}/${repo}/${user}`.toLowerCase()) ?? "read";
      const permission = role === "maintain" ? "write" : role === "triage" ? "read" : role;
      return send(200, {
        permission,
        role_name: role,
        user: {
          login: user,
          id: 2,
          type: "User",
          permissions: {
            admin: role === "admin",
            push: permission === "write" || role === "admin",
            pull: role !== "none",
          },
        },
      });
    }

    const onReactions = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)\/reactions$/.exec(url.pathname);
    if (onReactions && method === "POST") {
      const [, owner, repo, id] = onReactions as unknown as [string, string, string, string];
      const comment = comments.get(Number(id));
      entry.commentId = Number(id);
      entry.issueNumber = comment?.issueNumber;
      if (!comment || comment.owner !== owner || comment.repo !== repo) {
        return send(
          404,
          error("Not Found", "reactions/reactions#create-reaction-for-an-issue-comment", { status: "404" }),
        );
      }
      const content = (body as { content?: unknown }).content;
      if (typeof content !== "string" || !REACTIONS.includes(content)) {
        return send(
          422,
          error("Validation Failed", "reactions/reactions#create-reaction-for-an-issue-comment", {
            errors: [
              {
                resource: "Reaction",
                code: "custom",
                field: "content",
                message: "content is not included in the list",
              },
            ],
            status: "422",
          }),
        );
      }
      const presentReaction = (r: FakeReaction) => ({
        id: r.id,
        node_id: `REA_${Buffer.from(String(r.id)).toString("base64url")}`,
        user: { login: r.login, id: 1, type: r.login.endsWith("[bot]") ? "Bot" : "User" },
        content: r.content,
        created_at: new Date().toISOString(),
      });
      const existing = reactions.find(
        (r) => r.commentId === comment.id && r.content === content && r.login === login,
      );
      if (existing) return send(200, presentReaction(existing));
      const reaction: FakeReaction = { id: nextId++, commentId: comment.id, content, login };
      reactions.push(reaction);
      return send(201, presentReaction(reaction));
    }

    const onIssue = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname);
    if (onIssue) {
      const [, owner, repo, n] = onIssue as unknown as [string, string, string, string];
      const issueNumber = Number(n);
      entry.issueNumber = issueNumber;
      if (method === "POST") {
        if (typeof body.body !== "string") {
          return send(422, error('Invalid request.\n\n"body" wasn\'t supplied.', "issues/comments"));
        }
        entry.body = body.body;
        if (Array.from(body.body).length > MAX_BODY) return tooLong(body.body);
        const at = new Date().toISOString();
        const comment: FakeComment = {
          id: nextId++,
          owner,
          repo,
          issueNumber,
          body: body.body,
          author: login,
          createdAt: at,
          updatedAt: at,
        };
        comments.set(comment.id, comment);
        entry.commentId = comment.id;
        return send(201, present(comment, base), { location: present(comment, base).url });
      }
      if (method === "GET") {
        const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get("per_page") ?? 30) || 30));
        const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
        const all = onIssueComments(owner, repo, issueNumber);
        const last = Math.max(1, Math.ceil(all.length / perPage));
        const link = (p: number, rel: string) =>
          `<${base}/repos/${owner}/${repo}/issues/${issueNumber}/comments?per_page=${perPage}&page=${p}>; rel="${rel}"`;
        const links = [
          ...(page > 1 ? [link(page - 1, "prev")] : []),
          ...(page < last ? [link(page + 1, "next"), link(last, "last")] : []),
          ...(page > 1 ? [link(1, "first")] : []),
        ];
        return send(
          200,
          all.slice((page - 1) * perPage, page * perPage).map((c) => present(c, base)),
          links.length > 0 ? { link: links.join(", ") } : {},
        );
      }
      return send(404, error("Not Found", "issues/comments"));
    }

    const onComment = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (onComment) {
      const [, owner, repo, id] = onComment as unknown as [string, string, string, string];
      const comment = comments.get(Number(id));
      entry.commentId = Number(id);
      entry.issueNumber = (comment ?? deleted.get(Number(id)))?.issueNumber;
      const found = comment && comment.owner === owner && comment.repo === repo ? comment : undefined;
      if (method === "PATCH") {
        if (typeof body.body === "string") entry.body = body.body;
        // GitHub refuses conditional headers on this unsafe request: no optimistic concurrency here.
        if (req.headers["if-match"] || req.headers["if-unmodified-since"]) {
          return send(
            400,
            error(
              "Conditional request headers are not allowed in unsafe requests unless supported by the endpoint",
              "issues/comments#update-an-issue-comment",
            ),
          );
        }
        if (!found)
          return send(404, error("Not Found", "issues/comments#update-an-issue-comment", { status: "404" }));
        if (typeof body.body !== "string") {
          return send(422, error('Invalid request.\n\n"body" wasn\'t supplied.', "issues/comments"));
        }
        if (Array.from(body.body).length > MAX_BODY) return tooLong(body.body);
        found.body = body.body;
        found.updatedAt = new Date().toISOString();
        return send(200, present(found, base));
      }
      if (method === "DELETE") {
        if (!found)
          return send(404, error("Not Found", "issues/comments#delete-an-issue-comment", { status: "404" }));
        remove(found.id);
        return send(204);
      }
      if (method === "GET") {
        if (!found)
          return send(404, error("Not Found", "issues/comments#get-an-issue-comment", { status: "404" }));
        return send(200, present(found, base));
      }
    }
    return send(404, error("Not Found", "rest"));
  }

  function onIssueComments(owner: string, repo: string, issueNumber: number) {
    return [...comments.values()]
      .filter((c) => c.owner === owner && c.repo === repo && c.issueNumber === issueNumber)
      .sort((a, b) => a.id - b.id);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    /** Every request, oldest first. */
    log,
    /** The comments on a PR or issue, oldest first. */
    comments: (owner: string, repo: string, issueNumber: number) => onIssueComments(owner, repo, issueNumber),
    comment: (id: number) => comments.get(id),
    /** A comment written by someone (a person, another bot), e.g. to seed pages before ours. */
    addComment(owner: string, repo: string, issueNumber: number, body: string, author = "octocat") {
      const at = new Date().toISOString();
      const comment: FakeComment = {
        id: nextId++,
        owner,
        repo,
        issueNumber,
        body,
        author,
        createdAt: at,
        updatedAt: at,
      };
      comments.set(comment.id, comment);
      return comment;
    },
    /** The reactions on a comment, oldest first. */
    reactions: (commentId: number) => reactions.filter((r) => r.commentId === commentId),
    /** Gives a login a role on a repository (`role_name`: admin, maintain, write, triage, read, none). */
    setRole(owner: string, repo: string, login: string, role: string) {
      roles.set(`${owner}/${repo}/${login}`.toLowerCase(), role);
    },
    /** A login GitHub does not know: its permission lookup is 404. */
    forgetUser(login: string) {
      unknownUsers.add(login.toLowerCase());
    },
    /** The pull requests of a repository, oldest first. */
    pulls: (owner: string, repo: string) => pulls.filter((p) => p.owner === owner && p.repo === repo),
    /** A pull request someone opened (not logged as a request). */
    addPullRequest(
      owner: string,
      repo: string,
      pr: { head: string; base?: string; title?: string; headOwner?: string; state?: "open" | "closed" },
    ) {
      const created: FakePullRequest = {
        number: pulls.filter((p) => p.owner === owner && p.repo === repo).length + 1,
        owner,
        repo,
        title: pr.title ?? pr.head,
        body: "",
        head: pr.head,
        base: pr.base ?? "main",
        state: pr.state ?? "open",
        author: "octocat",
        ...(pr.headOwner ? { headOwner: pr.headOwner } : {}),
      };
      pulls.push(created);
      return created;
    },
    /** Deletes a comment as a person would in the web UI (not logged as a request). */
    deleteComment: (id: number) => remove(id),
    /** The next `count` requests answer `status` (a 5xx). */
    failNext(count: number, status = 502) {
      failures = [...failures, ...Array.from({ length: count }, () => status)];
    },
    /** The next `count` requests to a path matching `path` answer `status`; others are unaffected. */
    failOn(path: RegExp, count: number, status = 502) {
      pathFailures = [...pathFailures, ...Array.from({ length: count }, () => ({ path, status }))];
    },
    /**
     * The `nth` next mutative request (default the next) trips a secondary rate limit: it and
     * every request for `retryAfterSeconds` after are refused with 403 (and Retry-After, unless
     * `withRetryAfter` is false); requests sent meanwhile are counted in `violations`.
     */
    secondaryLimit(o: { retryAfterSeconds: number; nth?: number; withRetryAfter?: boolean }) {
      secondary = {
        armed: o.nth ?? 1,
        retryAfterS: o.retryAfterSeconds,
        withHeader: o.withRetryAfter ?? true,
      };
    },
    /** Uses the primary limit up, until `resetInSeconds` from now. */
    exhaustPrimary(resetInSeconds: number) {
      used = limit;
      resetAt = Math.floor(Date.now() / 1_000) + resetInSeconds;
    },
    setRateLimit(perHour: number) {
      limit = perHour;
    },
    setLatency(ms: number) {
      latencyMs = ms;
    },
    /** Requests that arrived while a secondary limit was in force (after the one that tripped it). */
    get violations() {
      return violations;
    },
    /** When the current secondary limit ends (epoch ms; 0 when none has been tripped). */
    get limitedUntil() {
      return limitedUntil;
    },
    /** The mutative requests (POST, PATCH, DELETE), optionally for one PR or issue. */
    writes(issueNumber?: number) {
      return log.filter(
        (r) => r.method !== "GET" && (issueNumber === undefined || r.issueNumber === issueNumber),
      );
    },
    /** Every request about one PR or issue. */
    requests(issueNumber: number) {
      return log.filter((r) => r.issueNumber === issueNumber);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeGitHub = Awaited<ReturnType<typeof startFakeGitHub>>;
