import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileGitHub } from "./file.ts";
import { GitHubError } from "./port.ts";

describe("the file port's pull requests", () => {
  it("records each under the state dir, numbered per repository, once per branch", async () => {
    const state = mkdtempSync(join(tmpdir(), "conveyor-pulls-"));
    const gh = fileGitHub(join(state, "comments"));
    const repo = { owner: "acme", repo: "api" };
    const first = await gh.openPullRequest(repo, {
      title: "One",
      body: "b",
      head: "conveyor/a",
      base: "main",
    });
    const second = await gh.openPullRequest(repo, {
      title: "Two",
      body: "b",
      head: "conveyor/b",
      base: "main",
    });
    expect([first.number, second.number]).toEqual([1, 2]);
    expect(first.url).toBe("https://github.com/acme/api/compare/main...conveyor%2Fa");
    expect(
      (await gh.openPullRequest(repo, { title: "x", body: "", head: "conveyor/a", base: "main" })).number,
    ).toBe(1);
    expect(JSON.parse(readFileSync(join(state, "pulls", "acme", "api", "2.json"), "utf8"))).toMatchObject({
      title: "Two",
      head: "conveyor/b",
    });
    expect(await gh.getPullRequest(repo, 2)).toEqual(second);
  });

  it("answers 404 for a pull request it never recorded, or a repository name that is not one", async () => {
    const gh = fileGitHub(join(mkdtempSync(join(tmpdir(), "conveyor-pulls-")), "comments"));
    const missing = await gh.getPullRequest({ owner: "acme", repo: "api" }, 7).catch((e) => e);
    expect(missing).toBeInstanceOf(GitHubError);
    expect(missing.status).toBe(404);
    const outside = await gh.getPullRequest({ owner: "..", repo: "x" }, 1).catch((e) => e);
    expect(outside.status).toBe(404);
  });
});

describe("the file port's answers to commands", () => {
  it("appends replies per thread and reactions per repository; everyone counts as a writer", async () => {
    const state = mkdtempSync(join(tmpdir(), "conveyor-threads-"));
    const gh = fileGitHub(join(state, "comments"));
    const repo = { owner: "acme", repo: "api" };
    const first = await gh.reply({ ...repo, issueNumber: 7 }, "one");
    const second = await gh.reply({ ...repo, issueNumber: 7 }, "two");
    await gh.addReaction(repo, 42, "eyes");
    expect(second).toBeGreaterThan(first);
    const lines = (file: string) =>
      readFileSync(join(state, "threads", "acme", "api", file), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
    expect(lines("7.jsonl")).toMatchObject([
      { reply: first, body: "one" },
      { reply: second, body: "two" },
    ]);
    expect(lines("reactions.jsonl")).toMatchObject([{ reaction: "eyes", commentId: 42 }]);
    expect(await gh.permission(repo, "anyone")).toBe("write");
    await expect(gh.reply({ owner: "..", repo: "x", issueNumber: 1 }, "x")).rejects.toBeInstanceOf(
      GitHubError,
    );
  });
});
