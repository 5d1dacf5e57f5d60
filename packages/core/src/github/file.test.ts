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
