import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommentTarget, GitHubComment, GitHubPort } from "@conveyor/core/github";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { main, markerOf } from "../../scripts/github/preview-comment.ts";
import { ROOT } from "./analyze.ts";
import type { Loose } from "./recorder.ts";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  steps: Step[];
}
interface Workflow {
  on: Record<string, Loose>;
  permissions: Record<string, string>;
  concurrency: { group: string; "cancel-in-progress": boolean };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

/** A GitHub Actions expression, `${{ <expr> }}`, as it is written in the YAML. */
const gh = (expr: string) => ["$", "{{ ", expr, " }}"].join("");
const workflow = (name: string) =>
  parse(readFileSync(join(ROOT, ".github/workflows", name), "utf8")) as Workflow;
const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts as Record<
  string,
  string
>;

/** Index of the first step matching, -1 if none. */
const stepIndex = (job: Job, match: (s: Step) => boolean) => job.steps.findIndex(match);
const runs = (job: Job, command: string) => stepIndex(job, (s) => s.run?.includes(command) ?? false);
const credentials = (job: Job) =>
  stepIndex(job, (s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@") ?? false);

/** Every `pnpm <script>` and `tsx <file>` a workflow runs exists. */
function checkCommands(job: Job) {
  for (const step of job.steps) {
    for (const [, script] of (step.run ?? "").matchAll(/\bpnpm (?!install|sst|vitest|tsx)([\w:-]+)/g)) {
      expect(scripts, `pnpm ${script}`).toHaveProperty(script!);
    }
    for (const [, file] of (step.run ?? "").matchAll(/\btsx (\S+\.ts)/g)) {
      expect(existsSync(join(ROOT, file!)), file).toBe(true);
    }
    if (step.run?.startsWith(".ci/")) expect(existsSync(join(ROOT, step.run))).toBe(true);
  }
}

/**
 * The least major version of each action that runs on Node 24 (GitHub removed Node 20 from
 * its runners in September 2026). An action missing here is refused until its version is checked.
 */
const NODE24_MAJOR: Record<string, number> = {
  "actions/checkout": 5,
  "actions/setup-node": 5,
  "actions/setup-java": 5,
  "pnpm/action-setup": 5,
  "aws-actions/configure-aws-credentials": 6,
};

describe.each(["preview.yml", "deploy.yml"])(".github/workflows/%s", (name) => {
  test("every action is at a version that runs on Node 24", () => {
    const uses = Object.values(workflow(name).jobs).flatMap((job) =>
      job.steps.flatMap((step) => (step.uses ? [step.uses] : [])),
    );
    expect(uses.length).toBeGreaterThan(0);
    for (const ref of uses) {
      const [action = "", version = ""] = ref.split("@");
      expect(NODE24_MAJOR, ref).toHaveProperty([action]);
      expect(Number(/^v(\d+)/.exec(version)?.[1]), ref).toBeGreaterThanOrEqual(NODE24_MAJOR[action]!);
    }
  });
});

describe(".github/workflows/preview.yml", () => {
  const wf = workflow("preview.yml");

  test("runs on pull requests opened, pushed to, reopened and closed", () => {
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    expect([...wf.on.pull_request.types].sort()).toEqual(["closed", "opened", "reopened", "synchronize"]);
  });

  test("may mint an OIDC token and write PR comments, nothing more", () => {
    expect(wf.permissions).toEqual({ "id-token": "write", contents: "read", "pull-requests": "write" });
  });

  test("one run per PR at a time, never cancelled halfway", () => {
    expect(wf.concurrency.group).toContain(gh("github.event.number"));
    expect(wf.concurrency["cancel-in-progress"]).toBe(false);
  });

  test("deploys stage pr-<number> with OIDC credentials, then updates the sticky comment", () => {
    const job = wf.jobs.deploy!;
    expect(job.if).toContain("github.event.action != 'closed'");
    // Forks get neither an OIDC token nor AWS.
    expect(job.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
    const creds = job.steps[credentials(job)]!;
    expect(creds.with).toMatchObject({ "role-to-assume": expect.stringContaining("vars.") });
    const deploy = runs(job, `sst deploy --stage pr-${gh("github.event.number")}`);
    const comment = runs(job, "scripts/github/preview-comment.ts deployed");
    expect(credentials(job)).toBeGreaterThan(-1);
    expect(deploy).toBeGreaterThan(credentials(job));
    expect(comment).toBeGreaterThan(deploy);
    expect(job.steps[comment]!.env).toEqual({ GITHUB_TOKEN: gh("secrets.GITHUB_TOKEN") });
    expect(runs(job, "pnpm typecheck:infra")).toBeLessThan(deploy);
    expect(runs(job, "vitest run infra")).toBeLessThan(deploy);
    expect(wf.env).toMatchObject({
      STAGE: `pr-${gh("github.event.number")}`,
      PR_NUMBER: gh("github.event.number"),
    });
    checkCommands(job);
  });

  test("removes the stage when the PR closes, and says so in the comment", () => {
    const job = wf.jobs.remove!;
    expect(job.if).toContain("github.event.action == 'closed'");
    const remove = runs(job, `sst remove --stage pr-${gh("github.event.number")}`);
    expect(remove).toBeGreaterThan(credentials(job));
    expect(credentials(job)).toBeGreaterThan(-1);
    expect(runs(job, "scripts/github/preview-comment.ts removed")).toBeGreaterThan(remove);
    expect(runs(job, "sst deploy")).toBe(-1);
    checkCommands(job);
  });
});

describe(".github/workflows/deploy.yml", () => {
  const wf = workflow("deploy.yml");

  test("deploys production from main after the full check, with OIDC, one deploy at a time", () => {
    expect(wf.on.push).toEqual({ branches: ["main"] });
    expect(wf.permissions).toEqual({ "id-token": "write", contents: "read" });
    expect(wf.concurrency).toEqual({ group: "deploy-production", "cancel-in-progress": false });
    const job = wf.jobs.deploy!;
    expect(job.needs).toBe("check");
    expect(runs(wf.jobs.check!, ".ci/run")).toBeGreaterThan(-1);
    expect(runs(job, "sst deploy --stage production")).toBeGreaterThan(credentials(job));
    expect(credentials(job)).toBeGreaterThan(-1);
    checkCommands(job);
    checkCommands(wf.jobs.check!);
  });
});

describe("scripts/github/preview-comment.ts", () => {
  /** An in-memory PR: the GitHubPort core's status comment uses, without GitHub. */
  function fakePort(author?: string) {
    const comments: (GitHubComment & { author?: string })[] = [{ id: 1, body: "LGTM", author: "alice" }];
    let next = 10;
    const port: GitHubPort = {
      kind: "api",
      author: async () => author,
      async createComment(_t: CommentTarget, body: string) {
        comments.push({ id: next, body, author: author ?? "github-actions[bot]" });
        return next++;
      },
      async updateComment(_t, id, body) {
        const comment = comments.find((c) => c.id === id);
        if (!comment) throw new Error("gone");
        comment.body = body;
      },
      async deleteComment(_t, id) {
        comments.splice(
          comments.findIndex((c) => c.id === id),
          1,
        );
      },
      async *listComments() {
        yield* comments.map((c) => ({ ...c }));
      },
      openPullRequest: async () => {
        throw new Error("not used here");
      },
      getPullRequest: async () => {
        throw new Error("not used here");
      },
      addReaction: async () => {
        throw new Error("not used here");
      },
      reply: async () => {
        throw new Error("not used here");
      },
      permission: async () => "none",
    };
    return { port, comments };
  }

  const dir = mkdtempSync(join(tmpdir(), "conveyor-preview-"));
  const outputs = join(dir, "outputs.json");
  writeFileSync(
    outputs,
    JSON.stringify({
      api: "https://abc.execute-api.us-east-1.amazonaws.com",
      ws: "wss://def.execute-api.us-east-1.amazonaws.com/$default",
    }),
  );
  const env = {
    GITHUB_REPOSITORY: "acme/api",
    PR_NUMBER: "12",
    OUTPUTS: outputs,
    GITHUB_SHA: "0123456789abcdef",
  };

  test("one comment, created once and edited in place, then marked removed", async () => {
    const { port, comments } = fakePort();
    expect((await main(["deployed"], env, port)).action).toBe("created");
    expect((await main(["deployed"], { ...env, GITHUB_SHA: "fedcba9876543210" }, port)).action).toBe(
      "updated",
    );
    expect(comments).toHaveLength(2);
    const mine = comments.find((c) => c.body.startsWith(markerOf("pr-12")))!;
    expect(mine.body).toContain("`https://abc.execute-api.us-east-1.amazonaws.com`");
    expect(mine.body).toContain("`wss://def.execute-api.us-east-1.amazonaws.com/$default`");
    expect(mine.body).toContain("`fedcba9`");
    await main(["removed"], env, port);
    expect(comments).toHaveLength(2);
    expect(mine.body).toContain("was removed");
    expect(comments[0]!.body).toBe("LGTM");
  });

  test("duplicates are cleaned up when the token knows its login, and a foreign marker is left alone", async () => {
    const { port, comments } = fakePort("conveyor-bot");
    comments.push({ id: 2, body: `${markerOf("pr-12")}\nforged`, author: "mallory" });
    comments.push({ id: 3, body: `${markerOf("pr-12")}\nold`, author: "conveyor-bot" });
    comments.push({ id: 4, body: `${markerOf("pr-12")}\nolder twin`, author: "conveyor-bot" });
    expect(await main(["deployed"], env, port)).toMatchObject({ id: 3, action: "updated" });
    expect(comments.map((c) => c.id)).toEqual([1, 2, 3]);
    expect(comments.find((c) => c.id === 2)!.body).toContain("forged");
  });

  test("URLs that are not https/wss are not rendered", async () => {
    const { port, comments } = fakePort();
    writeFileSync(outputs, JSON.stringify({ api: "javascript:alert(1)", ws: "wss://x `y`" }));
    await main(["deployed"], env, port);
    const body = comments.at(-1)!.body;
    expect(body).not.toContain("javascript:");
    expect(body).not.toContain("`y`");
    expect(body).toContain("(missing from the outputs)");
  });
});
