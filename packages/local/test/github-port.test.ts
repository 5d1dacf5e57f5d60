import { defaultLimits } from "@conveyor/core/config";
import { CommentGone, GitHubError, GitHubRateLimited } from "@conveyor/core/github";
import { octokitGitHub } from "@conveyor/core/github/octokit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "./fake-github.ts";

const target = (issueNumber: number) => ({
  taskId: "01JBQ7ZK3M4N5P6Q7R8S9T0V1W",
  owner: "acme",
  repo: "api",
  issueNumber,
});

describe("the Octokit GitHub port against the fake", () => {
  let github: FakeGitHub;
  const port = (limits: Partial<typeof defaultLimits> = {}) =>
    octokitGitHub({
      apiUrl: github.url,
      token: "test",
      limits: { ...defaultLimits, githubWriteGapMs: 0, githubRetryBaseMs: 10, ...limits },
    });
  beforeAll(async () => {
    github = await startFakeGitHub();
  });
  afterAll(() => github?.stop());

  it("creates, edits, lists across Link-header pages and deletes, knowing who it writes as", async () => {
    const gh = port();
    for (let i = 0; i < 230; i++) github.addComment("acme", "api", 1, `note ${i}`);
    const id = await gh.createComment(target(1), "hello");
    await gh.updateComment(target(1), id, "hello again");
    expect(github.comment(id)?.body).toBe("hello again");
    const listed = [];
    for await (const c of gh.listComments(target(1))) listed.push(c);
    expect(listed).toHaveLength(231);
    expect(listed.at(-1)).toEqual({ id, body: "hello again", author: "conveyor-bot" });
    expect(github.log.filter((r) => r.method === "GET" && r.issueNumber === 1).map((r) => r.query)).toEqual([
      "?per_page=100",
      "?per_page=100&page=2",
      "?per_page=100&page=3",
    ]);
    expect(await gh.author()).toBe("conveyor-bot");
    await gh.deleteComment(target(1), id);
    await gh.deleteComment(target(1), id); // already gone: fine
    await expect(gh.updateComment(target(1), id, "x")).rejects.toBeInstanceOf(CommentGone);
  });

  it("reacts (twice is fine), replies, reads roles by role_name, and knows a PR's head repository", async () => {
    const gh = port();
    const asked = github.addComment("acme", "api", 30, "/conveyor do it", "octo");
    await gh.addReaction({ owner: "acme", repo: "api" }, asked.id, "eyes");
    await gh.addReaction({ owner: "acme", repo: "api" }, asked.id, "eyes");
    expect(github.reactions(asked.id).map((r) => r.content)).toEqual(["eyes"]);
    const gone = await gh.addReaction({ owner: "acme", repo: "api" }, 999, "eyes").catch((e) => e);
    expect(gone).toBeInstanceOf(GitHubError);
    expect(gone.status).toBe(404);

    const replyId = await gh.reply({ owner: "acme", repo: "api", issueNumber: 30 }, "noted");
    expect(github.comment(replyId)).toMatchObject({ issueNumber: 30, body: "noted", author: "conveyor-bot" });

    github.setRole("acme", "api", "keeper", "maintain");
    github.setRole("acme", "api", "sorter", "triage");
    github.forgetUser("ghost");
    const repo = { owner: "acme", repo: "api" };
    expect(await gh.permission(repo, "keeper")).toBe("maintain");
    expect(await gh.permission(repo, "sorter")).toBe("triage");
    expect(await gh.permission(repo, "passer-by")).toBe("read");
    expect(await gh.permission(repo, "ghost")).toBe("none");

    const own = github.addPullRequest("acme", "api", { head: "feature" });
    const fork = github.addPullRequest("acme", "api", { head: "patch-1", headOwner: "someone" });
    expect(await gh.getPullRequest(repo, own.number)).toMatchObject({
      head: "feature",
      headRepo: "acme/api",
    });
    expect(await gh.getPullRequest(repo, fork.number)).toMatchObject({
      head: "patch-1",
      headRepo: "someone/api",
    });
  });

  it("turns GitHub's refusals into permanent errors, and retries 5xx", async () => {
    const gh = port();
    const tooLong = await gh.createComment(target(2), "x".repeat(70_000)).catch((e) => e);
    expect(tooLong).toBeInstanceOf(GitHubError);
    expect(tooLong.status).toBe(422);
    expect(tooLong.permanent).toBe(true);
    github.failNext(2, 503);
    const id = await gh.createComment(target(2), "after two 503s");
    expect(github.comment(id)?.body).toBe("after two 503s");
    const bad = octokitGitHub({
      apiUrl: github.url,
      token: "nope",
      limits: defaultLimits,
    });
    const denied = await bad.createComment(target(2), "x").catch((e) => e);
    expect(denied.status).toBe(401);
    expect(denied.permanent).toBe(true);
  });

  it("opens a pull request once per branch, reads it back, and reports GitHub's refusals", async () => {
    const gh = port();
    const repo = { owner: "acme", repo: "web" };
    const opened = await gh.openPullRequest(repo, {
      title: "Add a greeting",
      body: "Done.",
      head: "conveyor/one",
      base: "main",
    });
    expect(opened).toEqual({
      number: 1,
      url: "https://github.com/acme/web/pull/1",
      head: "conveyor/one",
      base: "main",
      state: "open",
      headRepo: "acme/web",
    });
    // A retried run opens nothing more: the open PR from that branch is returned.
    const again = await gh.openPullRequest(repo, {
      title: "x",
      body: "",
      head: "conveyor/one",
      base: "main",
    });
    expect(again.number).toBe(1);
    expect(github.pulls("acme", "web")).toHaveLength(1);
    expect(await gh.getPullRequest(repo, 1)).toEqual(opened);

    const missing = await gh.getPullRequest(repo, 99).catch((e) => e);
    expect(missing).toBeInstanceOf(GitHubError);
    expect(missing.status).toBe(404);
    const same = await gh
      .openPullRequest(repo, { title: "x", body: "", head: "main", base: "main" })
      .catch((e) => e);
    expect(same).toBeInstanceOf(GitHubError);
    expect(same.status).toBe(422);
  });

  it("waits out a secondary limit, then refuses at once while one outlasts what a call may wait", async () => {
    const gh = port({ githubMaxWaitMs: 5_000 });
    github.secondaryLimit({ retryAfterSeconds: 1 });
    const started = Date.now();
    await gh.createComment(target(3), "after the limit");
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(github.violations).toBe(0);

    // No Retry-After: GitHub asks for at least a minute, longer than this port may wait.
    github.secondaryLimit({ retryAfterSeconds: 2, withRetryAfter: false });
    const limited = await gh.createComment(target(3), "x").catch((e) => e);
    expect(limited).toBeInstanceOf(GitHubError);
    const sent = github.log.length;
    const refused = await gh.createComment(target(3), "y").catch((e) => e);
    expect(refused).toBeInstanceOf(GitHubRateLimited);
    expect(refused.permanent).toBe(false);
    expect(github.log.length).toBe(sent);
  });
});
