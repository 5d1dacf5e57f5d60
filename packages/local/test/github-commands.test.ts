import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { type FakeGitHub, startFakeGitHub } from "./fake-github.ts";
import { deliver, issueCommentPayload } from "./github-webhook.ts";
import { apiClient, sleep, startTestStack } from "./harness.ts";

const SECRET = "webhook-test-secret";
const OWNER = "acme";
const REPO = "api";
type Event = { type: string; data: Record<string, unknown> };

/** `/conveyor` comments end to end: signed deliveries, the fake GitHub, the real local stack and agents. */
describe("GitHub comments as commands", () => {
  let github: FakeGitHub;
  let stack: LocalStack;
  let api: ReturnType<typeof apiClient>;
  let nextIssue = 200;
  const issue = () => nextIssue++;

  beforeAll(async () => {
    github = await startFakeGitHub();
    stack = await startTestStack({
      githubApiUrl: github.url,
      githubToken: "test",
      githubWebhookSecret: SECRET,
      githubUsers: "octo-dev:dev,reader:dev",
      githubBatchingWindowMs: 100,
      streamPollMs: 25,
      reconcileMs: 0,
      limits: {
        activePerUser: 100,
        heartbeatMs: 200,
        githubThrottleMs: 100,
        githubWriteGapMs: 0,
        githubRetryBaseMs: 20,
      },
    });
    github.setRole(OWNER, REPO, "octo-dev", "write");
    github.setRole(OWNER, REPO, "reader", "triage");
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(async () => {
    await stack?.stop();
    await github?.stop();
  });

  /** A comment someone writes on a thread, and its signed `issue_comment` delivery. */
  async function comment(
    issueNumber: number,
    body: string,
    o: { author?: string; pullRequest?: boolean; userType?: "User" | "Bot"; deliveryId?: string } = {},
  ) {
    const written = github.addComment(OWNER, REPO, issueNumber, body, o.author ?? "octo-dev");
    const payload = issueCommentPayload(written, o);
    const res = await deliver(stack.apiUrl, SECRET, "issue_comment", payload, { deliveryId: o.deliveryId });
    return { ...res, comment: written, payload };
  }

  /** dev's tasks on a thread (the API's own list, newest first). */
  async function tasksOn(issueNumber: number, key: "issueNumber" | "prNumber" = "issueNumber") {
    const res = await api.call("GET", "/v1/tasks?limit=100");
    expect(res.status).toBe(200);
    return (res.body.tasks as Record<string, unknown>[]).filter((t) => t[key] === issueNumber);
  }

  /** Waits for a condition the system reaches by itself (no fixed sleeps). */
  async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 60_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  const replies = (issueNumber: number) =>
    github.comments(OWNER, REPO, issueNumber).filter((c) => c.body.startsWith("<!-- conveyor:reply -->"));
  const statusComment = (issueNumber: number, taskId: string) =>
    github
      .comments(OWNER, REPO, issueNumber)
      .find((c) => c.body.startsWith(`<!-- conveyor:task=${taskId} -->`));

  it("a signed command becomes one task on that thread, acknowledged with eyes and reported in its status comment", async () => {
    const n = issue();
    const res = await comment(n, "/conveyor fix the flaky login test\nIt fails on CI about once a day.");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: "accepted", taskId: expect.any(String) });
    const taskId = res.body?.taskId as string;

    const task = (await api.task(taskId)).body.task;
    expect(task).toMatchObject({
      repo: `${OWNER}/${REPO}`,
      issueNumber: n,
      source: "github",
      description: "fix the flaky login test\nIt fails on CI about once a day.",
    });
    expect(github.reactions(res.comment.id).map((r) => [r.content, r.login])).toEqual([
      ["eyes", "conveyor-bot"],
    ]);
    await api.waitFor(taskId, ["COMPLETED"], 60_000);
    const status = await until("the status comment", () => {
      const c = statusComment(n, taskId);
      return c?.body.includes("COMPLETED") ? c : undefined;
    });
    expect(status.author).toBe("conveyor-bot");
    expect(replies(n)).toEqual([]);
  });

  it("the same delivery twice (even at once) makes one task; the repeat answers 200 duplicate", async () => {
    const n = issue();
    const written = github.addComment(OWNER, REPO, n, "/conveyor bump the lockfile", "octo-dev");
    const payload = issueCommentPayload(written);
    const deliveryId = "8e1f2a30-0000-11ef-9000-000000000001";
    const [a, b] = await Promise.all([
      deliver(stack.apiUrl, SECRET, "issue_comment", payload, { deliveryId }),
      deliver(stack.apiUrl, SECRET, "issue_comment", payload, { deliveryId }),
    ]);
    const again = await deliver(stack.apiUrl, SECRET, "issue_comment", payload, { deliveryId });
    const outcomes = [a, b, again].map((r) => [r.status, r.body?.outcome]);
    expect(outcomes.filter(([, o]) => o === "accepted")).toHaveLength(1);
    expect(outcomes.filter(([, o]) => o === "duplicate")).toEqual([
      [200, "duplicate"],
      [200, "duplicate"],
    ]);
    expect(await tasksOn(n)).toHaveLength(1);
    expect(github.reactions(written.id)).toHaveLength(1);
  });

  it("a bad or missing signature is 401 and nothing is written", async () => {
    const n = issue();
    const written = github.addComment(OWNER, REPO, n, "/conveyor delete everything", "octo-dev");
    const payload = issueCommentPayload(written);
    const raw = JSON.stringify(payload);
    const wrongSecret = await deliver(stack.apiUrl, "not-the-secret", "issue_comment", payload);
    const missing = await deliver(stack.apiUrl, SECRET, "issue_comment", payload, { signature: null });
    const sha1 = await deliver(stack.apiUrl, SECRET, "issue_comment", payload, {
      signature: "sha1=0000000000000000000000000000000000000000",
    });
    // Signed for one body, sent with another (a tampered payload).
    const tampered = await deliver(stack.apiUrl, SECRET, "issue_comment", payload, {
      raw: raw.replace("delete everything", "delete everything now"),
      signature: (await import("./github-webhook.ts")).sign(SECRET, raw),
    });
    for (const res of [wrongSecret, missing, sha1, tampered]) {
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: { code: "UNAUTHORIZED" } });
    }
    expect(github.requests(n)).toEqual([]);
    expect(await tasksOn(n)).toEqual([]);

    // The refused delivery ids were not remembered: the genuine one is still acted on.
    const genuine = await deliver(stack.apiUrl, SECRET, "issue_comment", payload, {
      deliveryId: wrongSecret.deliveryId,
    });
    expect(genuine.body).toMatchObject({ outcome: "accepted" });
    await api.waitFor(genuine.body?.taskId as string, ["COMPLETED"], 60_000);
  });

  it("a commenter without write access gets a polite refusal and no task; an unlinked one is told how to link", async () => {
    const n = issue();
    const triage = await comment(n, "/conveyor rewrite the README", { author: "reader" });
    expect(triage.body).toMatchObject({ status: 200, outcome: "refused" });
    const unlinked = await comment(n, "/conveyor rewrite the README", { author: "stranger" });
    expect(unlinked.body).toMatchObject({ outcome: "refused" });

    expect(await tasksOn(n)).toEqual([]);
    const [refusal, howToLink] = replies(n);
    expect(refusal?.body).toContain("only people with write, maintain or admin access");
    expect(howToLink?.body).toContain("not linked to a Conveyor user");
    expect(howToLink?.body).toContain("CONVEYOR_GITHUB_USERS");
    expect(github.reactions(triage.comment.id)).toEqual([]);
    // The role was asked of GitHub's collaborators API.
    expect(github.log.some((r) => r.path === `/repos/${OWNER}/${REPO}/collaborators/reader/permission`)).toBe(
      true,
    );
  });

  it("nudge and cancel from comments reach the thread's live task", async () => {
    const n = issue();
    const submitted = await api.submit({
      repo: `${OWNER}/${REPO}`,
      description: "a long one",
      issueNumber: n,
      options: { turns: 200, stepMs: 100 },
    });
    const taskId = submitted.body.task.taskId as string;
    await api.waitFor(taskId, ["RUNNING"], 60_000);

    const nudged = await comment(n, "/conveyor nudge use pnpm, not npm");
    expect(nudged.body).toMatchObject({ outcome: "accepted", taskId });
    await until("the nudge taken", async () =>
      (await api.allEvents(taskId)).find(
        (e: Event) => e.type === "nudge.acknowledged" || e.type === "nudge.received",
      ),
    );
    const nudges = (await api.allEvents(taskId)).filter((e: Event) => e.type === "nudge.received");
    expect(JSON.stringify(nudges)).toContain("use pnpm, not npm");

    const cancelled = await comment(n, "/conveyor cancel");
    expect(cancelled.body).toMatchObject({ outcome: "accepted", taskId });
    expect((await api.waitFor(taskId, ["CANCELLED"], 60_000)).status).toBe("CANCELLED");
    expect(github.reactions(cancelled.comment.id).map((r) => r.content)).toEqual(["eyes"]);

    // Nothing is live on the thread any more: the next steering command is refused, not guessed.
    const late = await comment(n, "/conveyor cancel");
    expect(late.body).toMatchObject({ outcome: "refused" });
  });

  it("approve from a comment answers the pending gate as the linked user", async () => {
    const n = issue();
    const submitted = await api.submit({
      repo: `${OWNER}/${REPO}`,
      description: "gated",
      issueNumber: n,
      options: { turns: 3, stepMs: 20, approveAt: 2 },
    });
    const taskId = submitted.body.task.taskId as string;
    await api.waitFor(taskId, ["AWAITING_APPROVAL"], 60_000);

    const res = await comment(n, "/conveyor approve\nLooks safe to me.");
    expect(res.body).toMatchObject({ outcome: "accepted", taskId });
    await api.waitFor(taskId, ["COMPLETED"], 60_000);
    const approvals = (await api.call("GET", `/v1/tasks/${taskId}/approvals`)).body.approvals;
    expect(approvals).toMatchObject([
      { status: "approved", decision: "approve", by: "dev", comment: "Looks safe to me." },
    ]);
  });

  it("deny with an approval id from a comment", async () => {
    const n = issue();
    const submitted = await api.submit({
      repo: `${OWNER}/${REPO}`,
      description: "gated",
      issueNumber: n,
      options: { turns: 3, stepMs: 20, approveAt: 1 },
    });
    const taskId = submitted.body.task.taskId as string;
    await api.waitFor(taskId, ["AWAITING_APPROVAL"], 60_000);
    const [pending] = (await api.call("GET", `/v1/tasks/${taskId}/approvals`)).body.approvals;

    const res = await comment(n, `/conveyor deny ${pending.approvalId}`);
    expect(res.body).toMatchObject({ outcome: "accepted", taskId });
    await api.waitFor(taskId, ["COMPLETED", "FAILED", "CANCELLED"], 60_000);
    const [decided] = (await api.call("GET", `/v1/tasks/${taskId}/approvals`)).body.approvals;
    expect(decided).toMatchObject({ approvalId: pending.approvalId, decision: "deny", by: "dev" });
  });

  it("comments by bots, our own included, are never commands", async () => {
    const n = issue();
    const own = await comment(n, "/conveyor do it again", { author: "conveyor-bot" });
    const app = await comment(n, "/conveyor do it again", { author: "renovate[bot]" });
    const typed = await comment(n, "/conveyor do it again", { author: "octo-dev", userType: "Bot" });
    for (const res of [own, app, typed]) {
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ outcome: "ignored", reason: "written by a bot" });
    }
    expect(await tasksOn(n)).toEqual([]);
    expect(replies(n)).toEqual([]);
  });

  it("events and comments that are not commands are acknowledged with 202 and change nothing", async () => {
    const n = issue();
    const plain = await comment(n, "LGTM, but /conveyor should not see this");
    expect(plain).toMatchObject({ status: 202, body: { outcome: "ignored", reason: "not a command" } });
    const push = await deliver(stack.apiUrl, SECRET, "push", { ref: "refs/heads/main" });
    expect(push).toMatchObject({ status: 202, body: { outcome: "ignored" } });
    const ping = await deliver(stack.apiUrl, SECRET, "ping", { zen: "Keep it logically awesome." });
    expect(ping).toMatchObject({ status: 200, body: { outcome: "pong" } });
    const edited = github.addComment(OWNER, REPO, n, "/conveyor do it", "octo-dev");
    const res = await deliver(
      stack.apiUrl,
      SECRET,
      "issue_comment",
      issueCommentPayload(edited, { action: "edited" }),
    );
    expect(res).toMatchObject({ status: 202, body: { outcome: "ignored" } });
    expect(await tasksOn(n)).toEqual([]);
  });

  it("on a pull request the task works on the PR (its head branch); a fork's PR is refused", async () => {
    const pr = github.addPullRequest(OWNER, REPO, { head: "feature/login" });
    const res = await comment(pr.number, "/conveyor add a test for this", { pullRequest: true });
    expect(res.body).toMatchObject({ outcome: "accepted" });
    const task = (await api.task(res.body?.taskId as string)).body.task;
    expect(task).toMatchObject({ prNumber: pr.number });
    expect(task.issueNumber).toBeUndefined();
    await api.waitFor(task.taskId, ["COMPLETED"], 60_000);

    const fork = github.addPullRequest(OWNER, REPO, { head: "patch-1", headOwner: "someone" });
    const refused = await comment(fork.number, "/conveyor add a test for this", { pullRequest: true });
    expect(refused.body).toMatchObject({ outcome: "refused" });
    expect(replies(fork.number)[0]?.body).toContain("fork");
  });

  it("a delivery that fails midway is forgotten, so GitHub's redelivery of it is acted on", async () => {
    const pr = github.addPullRequest(OWNER, REPO, { head: "feature/retry" });
    const written = github.addComment(OWNER, REPO, pr.number, "/conveyor rebase this", "octo-dev");
    const payload = issueCommentPayload(written, { pullRequest: true });
    // Reading the PR fails past the client's retries (1 + 3): GitHub is down for this delivery.
    github.failOn(new RegExp(`/pulls/${pr.number}$`), 4, 502);
    const first = await deliver(stack.apiUrl, SECRET, "issue_comment", payload);
    expect(first.status).toBe(500);
    expect(await tasksOn(pr.number, "prNumber")).toEqual([]);

    const redelivered = await deliver(stack.apiUrl, SECRET, "issue_comment", payload, {
      deliveryId: first.deliveryId,
    });
    expect(redelivered.body).toMatchObject({ outcome: "accepted" });
    expect(await tasksOn(pr.number, "prNumber")).toHaveLength(1);
    await api.waitFor(redelivered.body?.taskId as string, ["COMPLETED"], 60_000);
  });

  it("hostile command text is stored as plain text and inert in the status comment", async () => {
    const n = issue();
    const hostile =
      '<img src=x onerror="alert(1)"> [click](javascript:alert(1)) @acme/security-team see #1 **bold** <!-- hidden -->';
    const res = await comment(n, `/conveyor ${hostile}`);
    const taskId = res.body?.taskId as string;
    expect((await api.task(taskId)).body.task.description).toBe(hostile);
    await api.waitFor(taskId, ["COMPLETED"], 60_000);
    const status = await until("the status comment", () => {
      const c = statusComment(n, taskId);
      return c?.body.includes("COMPLETED") ? c : undefined;
    });
    expect(status.body).not.toContain("<img");
    expect(status.body).not.toContain("<!-- hidden");
    expect(status.body).not.toContain("](javascript:");
    expect(status.body).not.toContain("@acme/security-team");
    expect(status.body).not.toMatch(/(^|[^\\])#1\b/);
    expect(status.body).toContain("&lt;img");
  });
});
