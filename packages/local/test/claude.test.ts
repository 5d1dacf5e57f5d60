import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { type FakeGitHub, startFakeGitHub } from "./fake-github.ts";
import { bareRepo, git } from "./git-fixture.ts";
import { apiClient, sleep, startTestStack } from "./harness.ts";
import {
  callTools,
  fail,
  hang,
  type ModelStandin,
  type Reply,
  type StandinRequest,
  say,
  startModelStandin,
  userTexts,
} from "./model-standin.ts";

type Api = ReturnType<typeof apiClient>;
type Event = { type: string; data: Record<string, unknown> };

/**
 * The claude brain end to end: the local stack's real emulators, the real Claude Agent SDK and
 * its Claude Code binary, a model stand-in scripted per task, bare git repositories on disk and
 * the fake GitHub.
 */
describe("the claude brain", () => {
  let stack: LocalStack;
  let api: Api;
  let model: ModelStandin;
  let github: FakeGitHub;
  const root = mkdtempSync(join(tmpdir(), "conveyor-claude-"));
  const gitBase = join(root, "git");
  const scratch = join(root, "scratch");
  const outside = join(root, "outside");

  /** Each task's model: keyed by a case tag in its description, which every request carries. */
  const scripts = new Map<string, (req: StandinRequest, index: number) => Reply>();
  const seen = new Map<string, StandinRequest[]>();
  const caseOf = (req: StandinRequest) => /\[case:([\w-]+)\]/.exec(userTexts(req.body).join("\n"))?.[1];
  const requestsOf = (tag: string) => seen.get(tag) ?? [];

  /** A bare repository `<gitBase>/owner/name.git` with one seeded commit on main. */
  const seededRepo = (repo: string) => bareRepo(gitBase, repo, { "README.md": "# api\n" });

  beforeAll(async () => {
    mkdirSync(outside, { recursive: true });
    seededRepo("acme/api");
    model = await startModelStandin((req, index) => {
      const tag = caseOf(req);
      const script = tag ? scripts.get(tag) : undefined;
      if (!tag || !script) return say("Nothing to do.");
      const mine = seen.get(tag) ?? [];
      mine.push(req);
      seen.set(tag, mine);
      return script(req, index);
    });
    github = await startFakeGitHub({
      branchExists: (owner, repo, branch) => {
        try {
          git(
            join(gitBase, `${owner}/${repo}.git`),
            "rev-parse",
            "--verify",
            "--quiet",
            `refs/heads/${branch}`,
          );
          return true;
        } catch {
          return false;
        }
      },
    });
    stack = await startTestStack({
      reconcileMs: 0,
      githubApiUrl: github.url,
      githubToken: "test",
      githubBatchingWindowMs: 100,
      brain: "claude",
      agentEnv: {
        ANTHROPIC_BASE_URL: model.url,
        ANTHROPIC_API_KEY: "sk-ant-standin",
        CONVEYOR_GIT_BASE: gitBase,
        CONVEYOR_SCRATCH_DIR: scratch,
        CONVEYOR_MODEL_MAX_RETRIES: "2",
      },
      limits: { heartbeatMs: 500 },
    });
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(async () => {
    await stack?.stop();
    await model?.close();
    await github?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** Submits a task whose model follows `script` (a list of replies, then "Done."). */
  async function submit(
    tag: string,
    script: Reply[] | ((req: StandinRequest, index: number) => Reply),
    body: Record<string, unknown> = {},
  ) {
    const replies = Array.isArray(script) ? [...script] : undefined;
    scripts.set(tag, Array.isArray(script) ? () => replies?.shift() ?? say("Done.") : script);
    const res = await api.submit({ repo: "acme/api", description: `Add a greeting [case:${tag}]`, ...body });
    expect(res.status).toBe(201);
    return res.body.task.taskId as string;
  }
  const events = async (taskId: string): Promise<Event[]> => api.allEvents(taskId);
  async function waitForEvent(taskId: string, match: (e: Event) => boolean) {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const found = (await events(taskId)).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such event on ${taskId}`);
      await sleep(200);
    }
  }
  const done = (taskId: string) =>
    api.waitFor(taskId, ["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"], 180_000);
  const scratchLeft = () => (existsSync(scratch) ? readdirSync(scratch) : []);

  it("edits and runs commands in a clone, then pushes conveyor/<taskId> and opens one pull request", async () => {
    const taskId = await submit("happy", [
      callTools(
        { name: "Write", input: { file_path: "greeting.txt", content: "hello\n" } },
        { text: "Writing it." },
      ),
      callTools({ name: "Bash", input: { command: "printf ran > bash-output.txt && ls" } }),
      say("Added greeting.txt and ran a command."),
    ]);
    const task = await done(taskId);
    expect(task.status).toBe("COMPLETED");

    const bare = join(gitBase, "acme/api.git");
    const branch = `conveyor/${taskId}`;
    expect(git(bare, "show", `${branch}:greeting.txt`)).toBe("hello");
    expect(git(bare, "show", `${branch}:bash-output.txt`)).toBe("ran");
    expect(git(bare, "log", "-1", "--format=%an <%ae>", branch)).toBe(
      "Conveyor <conveyor@users.noreply.github.com>",
    );
    const pulls = github.pulls("acme", "api");
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ head: branch, base: "main", state: "open" });
    expect(task.result.prUrl).toBe(`https://github.com/acme/api/pull/${pulls[0]!.number}`);

    const all = await events(taskId);
    const types = all.map((e) => e.type);
    expect(types.filter((t) => t === "agent.turn").length).toBeGreaterThanOrEqual(3);
    const calls = all.filter((e) => e.type === "agent.tool_call").map((e) => e.data.name);
    expect(calls).toEqual(expect.arrayContaining(["Write", "Bash"]));
    const results = all.filter((e) => e.type === "agent.tool_result");
    expect(results.length).toBeGreaterThanOrEqual(2);
    expect(results.every((e) => e.data.isError === false)).toBe(true);
    const cost = all.filter((e) => e.type === "agent.cost");
    expect(cost.length).toBeGreaterThan(0);
    expect(cost.some((e) => Number(e.data.inputTokens) > 0)).toBe(true);
    expect(
      all.find((e) => e.type === "agent.milestone" && e.data.name === "pull request opened")?.data.url,
    ).toBe(task.result.prUrl);
    // The terminal event carries it too, for watchers that only read events.
    expect(all.at(-1)).toMatchObject({
      type: "task.status",
      data: { to: "COMPLETED", prUrl: task.result.prUrl },
    });
    // The model was told where it works and what done means.
    expect(userTexts(requestsOf("happy")[0]!.body).join("\n")).toContain(`branch \`${branch}\``);
    expect(scratchLeft().filter((d) => d.includes(taskId))).toEqual([]);
  }, 240_000);

  it("pushes a nudge sent mid-run into the conversation, acknowledged once; nothing changed means no PR", async () => {
    const nudge = "also mention the weather";
    // The model keeps working until it has read the nudge, whenever it arrives.
    const taskId = await submit("nudge", (req) =>
      userTexts(req.body).some((t) => t.includes(nudge))
        ? say("Noted the weather.")
        : callTools({ name: "Bash", input: { command: "sleep 1" } }),
    );
    await waitForEvent(taskId, (e) => e.type === "agent.tool_call");
    const sent = await api.call("POST", `/v1/tasks/${taskId}/nudges`, { message: nudge });
    expect(sent.status).toBe(202);
    const task = await done(taskId);
    expect(task.status).toBe("COMPLETED");
    expect(task.result.prUrl).toBeUndefined();
    expect(task.result.summary).toContain("No changes to commit");

    const mine = requestsOf("nudge");
    const first = mine.findIndex((r) => userTexts(r.body).some((t) => t.includes(nudge)));
    expect(first).toBeGreaterThan(0);
    const acks = (await events(taskId)).filter(
      (e) => e.type === "nudge.acknowledged" && e.data.nudgeId === sent.body.nudge.nudgeId,
    );
    expect(acks).toHaveLength(1);
    expect(github.pulls("acme", "api").every((p) => !p.head.includes(taskId))).toBe(true);
  }, 240_000);

  it("interrupts the turn in flight for an interrupt-mode nudge: the model reads it while that turn still hangs", async () => {
    const nudge = "stop, the spec changed";
    // The first request never ends: without an interrupt this turn would never finish.
    const taskId = await submit("interrupt", (req) =>
      userTexts(req.body).some((t) => t.includes(nudge))
        ? say("Switched to the new spec.")
        : hang({ afterStart: true }),
    );
    while (requestsOf("interrupt").length === 0) await sleep(200);
    const sent = await api.call("POST", `/v1/tasks/${taskId}/nudges`, { message: nudge, mode: "interrupt" });
    expect(sent.status).toBe(202);
    expect(sent.body.nudge).toMatchObject({ mode: "interrupt", status: "pending" });
    const task = await done(taskId);
    expect(task.status).toBe("COMPLETED");
    const mine = requestsOf("interrupt");
    // The hung request, then one carrying the nudge.
    expect(userTexts(mine[0]!.body).some((t) => t.includes(nudge))).toBe(false);
    expect(mine.findIndex((r) => userTexts(r.body).some((t) => t.includes(nudge)))).toBeGreaterThan(0);
    const all = await events(taskId);
    const nudgeId = sent.body.nudge.nudgeId;
    for (const type of ["nudge.received", "nudge.acknowledged"]) {
      const found = all.filter((e) => e.type === type && e.data.nudgeId === nudgeId);
      expect(found, type).toHaveLength(1);
      expect(found[0]!.data.mode).toBe("interrupt");
    }
  }, 240_000);

  it("cancels mid-run: CANCELLED, and the model receives no request after it", async () => {
    // A command that runs until interrupted and says when it has started (Claude Code refuses
    // a standalone sleep of 25 s or more, so no plain `sleep 60`).
    const started = join(outside, "cancel-started");
    const taskId = await submit("cancel", [
      callTools({ name: "Bash", input: { command: `touch ${started} && while true; do sleep 1; done` } }),
    ]);
    while (!existsSync(started)) await sleep(200);
    const asked = await api.call("POST", `/v1/tasks/${taskId}/cancel`);
    expect(asked.status).toBe(202);
    const task = await api.waitFor(taskId, ["CANCELLED", "COMPLETED", "FAILED"], 60_000);
    expect(task.status).toBe("CANCELLED");
    const before = requestsOf("cancel").length;
    // Long enough for a Bash result to have gone back to the model, had the run gone on.
    await sleep(3_000);
    expect(requestsOf("cancel").length).toBe(before);
    expect(before).toBe(1);
    expect(git(join(gitBase, "acme/api.git"), "branch", "--list", `conveyor/${taskId}`)).toBe("");
  }, 240_000);

  it("cancels while the model is answering: the request is dropped and none follows", async () => {
    const taskId = await submit("cancel-hang", () => hang({ afterStart: true }));
    await waitForEvent(taskId, (e) => e.type === "agent.milestone" && e.data.name === "workspace ready");
    while (requestsOf("cancel-hang").length === 0) await sleep(200);
    expect((await api.call("POST", `/v1/tasks/${taskId}/cancel`)).status).toBe(202);
    const task = await api.waitFor(taskId, ["CANCELLED", "COMPLETED", "FAILED"], 60_000);
    expect(task.status).toBe("CANCELLED");
    await sleep(3_000);
    expect(requestsOf("cancel-hang")).toHaveLength(1);
  }, 240_000);

  it("retries a 429 and goes on", async () => {
    const taskId = await submit("retry", [fail(429), say("Looked, nothing to change.")]);
    const task = await done(taskId);
    expect(task.status).toBe("COMPLETED");
    expect(requestsOf("retry").map((r) => r.reply?.kind)).toEqual(["error", "message"]);
  }, 240_000);

  it("fails model_unavailable with the provider's message when the model stays overloaded", async () => {
    const taskId = await submit("overloaded", () => fail(529, { message: "Overloaded" }));
    const task = await done(taskId);
    expect(task.status).toBe("FAILED");
    expect(task.error.code).toBe("model_unavailable");
    expect(task.error.message).toContain("Overloaded");
    expect(task.error.message).not.toMatch(/\n\s+at /);
    // The first try and CONVEYOR_MODEL_MAX_RETRIES=2 retries.
    expect(requestsOf("overloaded")).toHaveLength(3);
  }, 240_000);

  it("fails repo_unavailable at once when the repository cannot be cloned", async () => {
    scripts.set("missing", () => say("unreachable"));
    const res = await api.submit({ repo: "acme/missing", description: "Nothing [case:missing]" });
    const task = await done(res.body.task.taskId);
    expect(task.status).toBe("FAILED");
    expect(task.error.code).toBe("repo_unavailable");
    expect(task.error.message).toContain("Could not clone acme/missing");
    expect(requestsOf("missing")).toHaveLength(0);
  }, 240_000);

  it("fails max_turns when the task's turn limit is reached", async () => {
    const taskId = await submit("turns", () => callTools({ name: "Bash", input: { command: "true" } }), {
      maxTurns: 2,
    });
    const task = await done(taskId);
    expect(task.status).toBe("FAILED");
    expect(task.error).toEqual({ code: "max_turns", message: "Reached the task's limit of 2 turns" });
    expect(requestsOf("turns")).toHaveLength(2);
  }, 240_000);

  it("fails max_budget when the task's budget is spent", async () => {
    const big = { input_tokens: 2_000_000, output_tokens: 10_000 };
    const taskId = await submit(
      "budget",
      () => callTools({ name: "Bash", input: { command: "true" } }, { usage: big }),
      { maxBudgetUsd: 0.5 },
    );
    const task = await done(taskId);
    expect(task.status).toBe("FAILED");
    expect(task.error.code).toBe("max_budget");
    expect(task.error.message).toContain("budget of $0.5");
    expect(task.costUsd).toBeGreaterThan(0.5);
  }, 240_000);

  it("denies a write outside the workspace and goes on", async () => {
    const target = join(outside, "planted.txt");
    const taskId = await submit("deny", [
      callTools({ name: "Write", input: { file_path: target, content: "x" } }),
      callTools({ name: "Write", input: { file_path: "inside.txt", content: "fine\n" } }),
      say("Wrote inside instead."),
    ]);
    const task = await done(taskId);
    expect(task.status).toBe("COMPLETED");
    expect(existsSync(target)).toBe(false);
    const results = (await events(taskId)).filter((e) => e.type === "agent.tool_result");
    expect(results[0]?.data).toMatchObject({
      isError: true,
      output: expect.stringContaining("outside the workspace"),
    });
    expect(results[1]?.data.isError).toBe(false);
    expect(git(join(gitBase, "acme/api.git"), "show", `conveyor/${taskId}:inside.txt`)).toBe("fine");
    // The model read the denial and went on.
    expect(JSON.stringify(requestsOf("deny")[1]?.body.messages)).toContain("outside the workspace");
  }, 240_000);

  /** Waits for the task's one pending approval. */
  async function pendingApproval(taskId: string) {
    await api.waitFor(taskId, ["AWAITING_APPROVAL"], 120_000);
    const listed = await api.call("GET", `/v1/tasks/${taskId}/approvals`);
    expect(listed.status).toBe(200);
    const pending = listed.body.approvals.filter((a: { status: string }) => a.status === "pending");
    expect(pending).toHaveLength(1);
    return pending[0] as { approvalId: string; action: string; detail: string };
  }
  const remoteBranch = (name: string) => git(join(gitBase, "acme/api.git"), "branch", "--list", name);

  it("asks before a force push, and runs it once approved", async () => {
    const command = "git push --force origin HEAD:refs/heads/gated-approve";
    const taskId = await submit("gate-approve", [
      callTools({ name: "Bash", input: { command } }),
      say("Pushed."),
    ]);
    const approval = await pendingApproval(taskId);
    expect(approval).toMatchObject({ action: "force-push", detail: command });
    // Nothing ran while it waited.
    expect(remoteBranch("gated-approve")).toBe("");
    const ok = await api.call("POST", `/v1/tasks/${taskId}/approvals/${approval.approvalId}`, {
      decision: "approve",
    });
    expect(ok.status).toBe(200);
    const task = await done(taskId);
    expect(task.status).toBe("COMPLETED");
    expect(remoteBranch("gated-approve")).toContain("gated-approve");
    const all = await events(taskId);
    expect(all.find((e) => e.type === "approval.decided")?.data).toMatchObject({
      decision: "approve",
      by: "dev",
    });
    expect(all.filter((e) => e.type === "agent.tool_result").every((e) => e.data.isError === false)).toBe(
      true,
    );
  }, 240_000);

  it("tells the model a denied force push was not approved, and the run goes on", async () => {
    const command = "git push --force origin HEAD:refs/heads/gated-deny";
    const taskId = await submit("gate-deny", [
      callTools({ name: "Bash", input: { command } }),
      callTools({ name: "Write", input: { file_path: "after.txt", content: "went on\n" } }),
      say("Went on without it."),
    ]);
    const approval = await pendingApproval(taskId);
    const no = await api.call("POST", `/v1/tasks/${taskId}/approvals/${approval.approvalId}`, {
      decision: "deny",
      comment: "never on main",
    });
    expect(no.status).toBe(200);
    const task = await done(taskId);
    expect(task.status).toBe("COMPLETED");
    expect(remoteBranch("gated-deny")).toBe("");
    expect(git(join(gitBase, "acme/api.git"), "show", `conveyor/${taskId}:after.txt`)).toBe("went on");
    const results = (await events(taskId)).filter((e) => e.type === "agent.tool_result");
    expect(results[0]?.data).toMatchObject({
      isError: true,
      output: expect.stringContaining("Not approved"),
    });
    const told = JSON.stringify(requestsOf("gate-deny")[1]?.body.messages);
    expect(told).toContain("Not approved");
    expect(told).toContain("never on main");
  }, 240_000);

  it("never pauses in mode auto, but records the gate as approved by policy", async () => {
    const command = "git push --force origin HEAD:refs/heads/gated-auto";
    const taskId = await submit(
      "gate-auto",
      [callTools({ name: "Bash", input: { command } }), say("Pushed.")],
      {
        approvals: { mode: "auto" },
      },
    );
    const task = await done(taskId);
    expect(task.status).toBe("COMPLETED");
    expect(remoteBranch("gated-auto")).toContain("gated-auto");
    const all = await events(taskId);
    expect(all.some((e) => e.type === "task.status" && e.data.to === "AWAITING_APPROVAL")).toBe(false);
    expect(all.find((e) => e.type === "approval.requested")?.data).toMatchObject({
      action: "force-push",
      detail: command,
    });
    expect(all.find((e) => e.type === "approval.decided")?.data).toMatchObject({
      decision: "approve",
      by: "policy",
    });
  }, 240_000);
});
