import { Actor } from "@conveyor/core/actor";
import { TaskEvent } from "@conveyor/core/event";
import { Fanout } from "@conveyor/core/fanout";
import { githubRoute } from "@conveyor/core/fanout/github";
import { StatusComment } from "@conveyor/core/github";
import { store } from "@conveyor/core/store";
import { Task } from "@conveyor/core/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { type FakeGitHub, startFakeGitHub } from "./fake-github.ts";
import { apiClient, sleep, startTestStack } from "./harness.ts";

const dev = { type: "user" as const, tenantId: "local", userId: "dev" };
const system = { type: "system" as const, name: "test-writer" };
const noQueue = { send: async () => undefined };
const OWNER = "acme";
const REPO = "api";

/** Prints to the terminal even when the test passes (vitest keeps console output for failures). */
const report = (line: string) => process.stderr.write(`${line}\n`);

describe("GitHub status comment", () => {
  let github: FakeGitHub;
  let stack: LocalStack;
  let api: ReturnType<typeof apiClient>;
  let nextPr = 100;
  const pr = () => nextPr++;

  beforeAll(async () => {
    github = await startFakeGitHub();
    stack = await startTestStack({
      githubApiUrl: github.url,
      githubToken: "test",
      // Short windows so the suite waits milliseconds; the rules are the production ones.
      githubBatchingWindowMs: 150,
      streamPollMs: 25,
      reconcileMs: 0,
      limits: {
        activePerUser: 100,
        githubThrottleMs: 200,
        githubWriteGapMs: 0,
        githubRetryBaseMs: 20,
        githubMaxWaitMs: 5_000,
      },
    });
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(async () => {
    await stack?.stop();
    await github?.stop();
  });

  /** A task bound to a PR that nobody dispatches: the test plays the agent. */
  async function quietTask(prNumber: number) {
    const { task } = await Actor.provide(dev, () =>
      Task.submit(
        { ...stack.core, queue: noQueue },
        { repo: `${OWNER}/${REPO}`, description: "quiet", prNumber },
      ),
    );
    return task.taskId;
  }

  const start = (taskId: string) =>
    Actor.provide(system, async () => {
      await Task.transition(stack.core, taskId, { to: "STARTING", reason: "claimed" });
      await Task.transition(stack.core, taskId, { to: "RUNNING", reason: "agent_started" });
    });

  /** One visible step: a turn (progress) and a milestone naming it (what the comment lists). */
  async function step(taskId: string, n: number) {
    await Task.recordProgress(stack.core, taskId, { turns: n, costUsd: 0.01 });
    await TaskEvent.append(stack.core, taskId, "agent.turn", { turn: n, text: `turn ${n}` });
    await TaskEvent.append(stack.core, taskId, "agent.milestone", { name: `step ${n}` });
  }

  const complete = (taskId: string, prUrl = "https://github.com/acme/api/pull/9001") =>
    Actor.provide(system, () =>
      Task.transition(stack.core, taskId, {
        to: "COMPLETED",
        reason: "completed",
        result: { summary: "all done", prUrl },
      }),
    );

  async function waitFor<T>(
    what: string,
    probe: () => T | undefined | false,
    timeoutMs = 20_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  }

  const ours = (prNumber: number) =>
    github.comments(OWNER, REPO, prNumber).filter((c) => c.author === "conveyor-bot");
  const terminalComment = (prNumber: number, status = "COMPLETED") =>
    waitFor(`the ${status} comment on #${prNumber}`, () =>
      ours(prNumber).find((c) => c.body.includes(`**${status}**`)),
    );
  const stepShown = (body: string) =>
    Math.max(0, ...[...body.matchAll(/step (\d+)/g)].map((m) => Number(m[1])));

  it("keeps exactly one comment on the PR, edited in place, ending with the terminal status and the agent's PR", async () => {
    const prNumber = pr();
    const submitted = await api.submit({
      repo: `${OWNER}/${REPO}`,
      description: "Add a health check",
      prNumber,
      options: { turns: 4, stepMs: 30 },
    });
    expect(submitted.status).toBe(201);
    const task = await api.waitFor(submitted.body.task.taskId, ["COMPLETED"]);
    const comment = await terminalComment(prNumber);

    expect(github.comments(OWNER, REPO, prNumber)).toHaveLength(1);
    expect(comment.body.startsWith(`<!-- conveyor:task=${task.taskId} -->`)).toBe(true);
    expect(comment.body).toContain(`](${task.result.prUrl})`);
    const writes = github.writes(prNumber);
    expect(writes.filter((w) => w.method === "POST")).toHaveLength(1);
    expect(writes.filter((w) => w.method === "PATCH").every((w) => w.commentId === comment.id)).toBe(true);
    expect(writes.every((w) => w.status < 300)).toBe(true);
    // GitHub refuses If-Match here; we never send it.
    expect(github.log.some((r) => r.headers["if-match"])).toBe(false);
  });

  it("writes at most status changes + milestones + 2 times for a 50-turn task", async () => {
    const prNumber = pr();
    const submitted = await api.submit({
      repo: `${OWNER}/${REPO}`,
      description: "A long one",
      prNumber,
      options: { turns: 50, stepMs: 5 },
    });
    const taskId = submitted.body.task.taskId;
    await api.waitFor(taskId, ["COMPLETED"], 60_000);
    await terminalComment(prNumber);
    const events = await api.allEvents(taskId);
    const statusChanges = events.filter((e) => e.type === "task.status").length;
    const milestones = events.filter((e) => e.type === "agent.milestone").length;
    const writes = github.writes(prNumber).length;
    const requests = github.requests(prNumber).length;
    report(
      `github: 50-turn task: ${events.length} events (${statusChanges} status changes, ${milestones} milestones) -> ` +
        `${writes} GitHub writes, ${requests} requests (naive one edit per event: ${events.length})`,
    );
    expect(writes).toBeLessThanOrEqual(statusChanges + milestones + 2);
    expect(ours(prNumber)).toHaveLength(1);
  });

  it("never takes the comment back to an older state, whatever the order or duplication of deliveries", async () => {
    const prNumber = pr();
    const taskId = await quietTask(prNumber);
    await start(taskId);
    const delivered: TaskEvent.Info[] = [];
    let seq = 0;
    const record = (event: TaskEvent.Info) => ({ sequenceNumber: String(++seq), event });
    for (let n = 1; n <= 12; n++) {
      await step(taskId, n);
      delivered.push(...(await TaskEvent.list(stack.core, taskId, { after: delivered.at(-1)?.eventId })));
      // The same events again and again, shuffled and duplicated, by three routers at once
      // (beside the stack's own GitHub subscription, also at work).
      const batch = [...delivered, ...delivered.slice(-5)].sort(() => Math.random() - 0.5).map(record);
      await Promise.all(
        [0, 1, 2].map(() =>
          Fanout.route(
            stack.core,
            [...batch].sort(() => Math.random() - 0.5),
            [githubRoute],
          ),
        ),
      );
    }
    await complete(taskId);
    await Fanout.route(stack.core, delivered.map(record).reverse(), [githubRoute]);
    const comment = await terminalComment(prNumber);

    // Every body GitHub accepted, in the order it accepted them, shows a step at least as late as the one before.
    const accepted = github.writes(prNumber).filter((w) => w.status < 300 && w.body !== undefined);
    const shown = accepted.map((w) => stepShown(w.body!));
    report(
      `github: shuffled deliveries: ${accepted.length} writes, steps shown in order: ${shown.join(",")}`,
    );
    for (let i = 1; i < shown.length; i++) expect(shown[i]).toBeGreaterThanOrEqual(shown[i - 1]!);
    expect(stepShown(comment.body)).toBe(12);
    expect(github.comments(OWNER, REPO, prNumber)).toHaveLength(1);
    const task = await Task.get(stack.core, taskId);
    expect(task?.github?.renderedRev).toBe(task?.rev);
  });

  it("creates the comment again, once, when someone deletes it mid-run", async () => {
    const prNumber = pr();
    const taskId = await quietTask(prNumber);
    await start(taskId);
    await step(taskId, 1);
    const first = await waitFor("the first comment", () =>
      ours(prNumber).find((c) => stepShown(c.body) === 1),
    );
    github.deleteComment(first.id);
    for (let n = 2; n <= 4; n++) {
      await step(taskId, n);
      await sleep(60);
    }
    await complete(taskId);
    const comment = await terminalComment(prNumber);

    expect(comment.id).not.toBe(first.id);
    expect(github.comments(OWNER, REPO, prNumber)).toHaveLength(1);
    const writes = github.writes(prNumber);
    expect(writes.filter((w) => w.method === "POST")).toHaveLength(2);
    expect(writes.filter((w) => w.status === 404)).toHaveLength(1);
    // Recorded just after GitHub answers, so it may trail the comment by a moment.
    await expect
      .poll(async () => (await Task.get(stack.core, taskId))?.github?.commentId, { timeout: 30_000 })
      .toBe(comment.id);
  });

  it("finds its comment by the marker across pages when the commentId is lost, creating no duplicate", async () => {
    const prNumber = pr();
    const taskId = await quietTask(prNumber);
    // A busy PR: 150 comments by people before ours, one of them quoting our marker.
    for (let i = 0; i < 150; i++) github.addComment(OWNER, REPO, prNumber, `review note ${i}`, "octocat");
    github.addComment(OWNER, REPO, prNumber, `<!-- conveyor:task=${taskId} -->\nnot Conveyor's`, "mallory");
    await start(taskId);
    await step(taskId, 1);
    const mine = await waitFor("our comment", () => ours(prNumber).find((c) => stepShown(c.body) === 1));

    // The stored state is lost (say, the write after the create never landed).
    await store(stack.core).task.patch({ taskId }).remove(["github"]).go();
    const listed = github.log.length;
    await step(taskId, 2);
    await complete(taskId);
    const comment = await terminalComment(prNumber);

    expect(comment.id).toBe(mine.id);
    expect(ours(prNumber)).toHaveLength(1);
    expect(github.writes(prNumber).filter((w) => w.method === "POST")).toHaveLength(1);
    expect(github.comments(OWNER, REPO, prNumber).find((c) => c.author === "mallory")?.body).toContain(
      "not Conveyor's",
    );
    // It read past the first page to find it.
    expect(github.log.slice(listed).some((r) => r.method === "GET" && /page=2/.test(r.query))).toBe(true);
  });

  it("pauses every write until Retry-After on a secondary rate limit, and the final state still lands", async () => {
    const prNumber = pr();
    const taskId = await quietTask(prNumber);
    await start(taskId);
    await step(taskId, 1);
    await waitFor("the first comment", () => ours(prNumber)[0]);
    const violations = github.violations;
    github.secondaryLimit({ retryAfterSeconds: 1 });
    for (let n = 2; n <= 5; n++) {
      await step(taskId, n);
      await sleep(80);
    }
    await complete(taskId);
    const comment = await terminalComment(prNumber);

    const limited = github.log.findIndex((r) => r.status === 403);
    expect(limited).toBeGreaterThanOrEqual(0);
    const after = github.log.slice(limited + 1);
    // Nothing was sent while the limit was in force, and the first request after it waited it out.
    expect(github.violations).toBe(violations);
    expect(after[0]!.at).toBeGreaterThanOrEqual(github.limitedUntil - 50);
    report(
      `github: secondary limit: 403 at +0 ms, next request at +${after[0]!.at - github.log[limited]!.at} ms (Retry-After 1 s)`,
    );
    expect(stepShown(comment.body)).toBe(5);
  });

  it("retries 5xx answers with backoff and honours an exhausted primary limit until its reset", async () => {
    const prNumber = pr();
    const taskId = await quietTask(prNumber);
    await start(taskId);
    await step(taskId, 1);
    await waitFor("the first comment", () => ours(prNumber)[0]);
    github.failNext(2, 502);
    await step(taskId, 2);
    await waitFor("step 2 shown", () => ours(prNumber).find((c) => stepShown(c.body) === 2));
    const failed = github.log.filter((r) => r.status === 502);
    expect(failed).toHaveLength(2);

    github.exhaustPrimary(2);
    const exhaustedAt = Date.now();
    await step(taskId, 3);
    await complete(taskId);
    const comment = await terminalComment(prNumber);
    expect(stepShown(comment.body)).toBe(3);
    // At most the one refused request hit the exhausted limit; the rest waited for the reset.
    expect(github.log.filter((r) => r.at >= exhaustedAt && r.status === 403).length).toBeLessThanOrEqual(1);
  });

  it("leaves tasks without a PR or issue alone", async () => {
    const { task } = await Actor.provide(dev, () =>
      Task.submit({ ...stack.core, queue: noQueue }, { repo: `${OWNER}/${REPO}`, description: "no PR" }),
    );
    const before = github.log.length;
    await start(task.taskId);
    expect(await StatusComment.sync(stack.core, task.taskId)).toBe("unbound");
    await sleep(300);
    expect(github.log.slice(before).filter((r) => r.method !== "GET")).toHaveLength(0);
  });

  it("re-renders, for the reconciler, comments whose render lags their task", async () => {
    const prNumber = pr();
    const taskId = await quietTask(prNumber);
    await start(taskId);
    await waitFor("the first comment", () => ours(prNumber).find((c) => c.body.includes("**RUNNING**")));
    await sleep(300);
    // A write that no event announces (a nudge stored, say): only the reconciler sees the lag.
    await Task.touch(stack.core, taskId);
    const first = await StatusComment.renderLagging(stack.core);
    expect(first.lagging).toBeGreaterThanOrEqual(1);
    expect(first.failed).toBe(0);
    const task = await Task.get(stack.core, taskId);
    expect(task?.github?.renderedRev).toBe(task?.rev);
    const again = await StatusComment.renderLagging(stack.core);
    expect(again.lagging).toBe(0);
  });
});
