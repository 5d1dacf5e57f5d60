/**
 * The GitHub status comment against the fake GitHub: requests per task for tasks of 10,
 * 50 and 200 events beside the naive one edit per event, and the time from a task's
 * terminal event to the terminal comment. Production settings unless told otherwise:
 * a 3 s batching window, 3 s between edits of one task, 1 s between writes of the process.
 *
 *   pnpm bench:github    (TASKS=4 GAP_MS=25 WINDOW_MS=3000 THROTTLE_MS=3000 WRITE_GAP_MS=1000 LATENCY_MS=0 to change it)
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Actor } from "@conveyor/core/actor";
import { TaskEvent } from "@conveyor/core/event";
import { Task } from "@conveyor/core/task";
import { startLocalStack } from "@conveyor/local/stack";
import { startFakeGitHub } from "../../packages/local/test/fake-github.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const TASKS = env("TASKS", 4);
const GAP_MS = env("GAP_MS", 25);
const WINDOW_MS = env("WINDOW_MS", 3_000);
const THROTTLE_MS = env("THROTTLE_MS", 3_000);
const WRITE_GAP_MS = env("WRITE_GAP_MS", 1_000);
const SIZES = [10, 50, 200];

const github = await startFakeGitHub({ tokens: { bench: "conveyor-bot" }, latencyMs: env("LATENCY_MS", 0) });
const stack = await startLocalStack({
  port: 0,
  stateDir: mkdtempSync(join(tmpdir(), "conveyor-bench-")),
  dispatch: false,
  reconcileMs: 0,
  githubApiUrl: github.url,
  githubToken: "bench",
  githubBatchingWindowMs: WINDOW_MS,
  limits: { activePerUser: 1_000, githubThrottleMs: THROTTLE_MS, githubWriteGapMs: WRITE_GAP_MS },
});
const user = { type: "user" as const, tenantId: "local", userId: "dev" };
const system = { type: "system" as const, name: "bench-agent" };
let nextPr = 1;

/**
 * Plays an agent whose task has `total` events: submitted, STARTING, RUNNING, three
 * milestones (plan, halfway, PR opened), turns with tool calls, results and costs, COMPLETED.
 * Answers when the terminal transition committed.
 */
async function play(total: number) {
  const prNumber = nextPr++;
  const { task } = await Actor.provide(user, () =>
    Task.submit(
      { ...stack.core, queue: { send: async () => undefined } },
      { repo: "acme/api", description: `bench task of ${total} events`, prNumber },
    ),
  );
  const taskId = task.taskId;
  const gap = () => new Promise((r) => setTimeout(r, GAP_MS));
  let written = 1;
  await Actor.provide(system, async () => {
    await Task.transition(stack.core, taskId, { to: "STARTING", reason: "claimed" });
    await Task.transition(stack.core, taskId, { to: "RUNNING", reason: "agent_started" });
    await TaskEvent.append(stack.core, taskId, "agent.milestone", { name: "plan", detail: "the plan" });
    written += 3;
    const body = total - written - 3; // halfway and PR milestones, COMPLETED
    const kinds = ["agent.turn", "agent.tool_call", "agent.tool_result", "agent.cost"] as const;
    for (let i = 0, turn = 0; i < body; i++) {
      await gap();
      const kind = kinds[i % kinds.length]!;
      if (kind === "agent.turn") {
        turn++;
        await Task.recordProgress(stack.core, taskId, { turns: turn });
        await TaskEvent.append(stack.core, taskId, kind, { turn, text: `turn ${turn}` });
      } else if (kind === "agent.tool_call") {
        await TaskEvent.append(stack.core, taskId, kind, {
          toolCallId: `c${i}`,
          name: "edit_file",
          input: {},
        });
      } else if (kind === "agent.tool_result") {
        await TaskEvent.append(stack.core, taskId, kind, {
          toolCallId: `c${i}`,
          isError: false,
          output: "ok",
        });
      } else {
        await Task.recordProgress(stack.core, taskId, { costUsd: 0.002 });
        await TaskEvent.append(stack.core, taskId, kind, {
          costUsd: 0.002,
          inputTokens: 1_000,
          outputTokens: 200,
        });
      }
      if (i === Math.floor(body / 2)) {
        await TaskEvent.append(stack.core, taskId, "agent.milestone", { name: "halfway" });
        written++;
      }
      written++;
    }
    await gap();
    const prUrl = `https://github.com/acme/api/pull/${5_000 + prNumber}`;
    await TaskEvent.append(stack.core, taskId, "agent.milestone", {
      name: "pull request opened",
      url: prUrl,
    });
    await Task.transition(stack.core, taskId, {
      to: "COMPLETED",
      reason: "completed",
      result: { summary: "done", prUrl },
    });
  });
  const terminalAt = Date.now();
  const events = (await TaskEvent.list(stack.core, taskId, { limit: 1_000 })).length;
  // Wait for the terminal comment.
  const deadline = Date.now() + 300_000;
  for (;;) {
    const landed = github
      .writes(prNumber)
      .find((w) => w.status < 300 && w.body?.includes("**COMPLETED**") && w.at >= terminalAt - 1_000);
    if (landed) return { prNumber, events, latencyMs: Math.max(0, landed.at - terminalAt) };
    if (Date.now() > deadline) throw new Error(`no terminal comment for PR ${prNumber}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const q = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;

const rows: string[] = [];
const latencies: number[] = [];
for (const size of SIZES) {
  const results = await Promise.all(Array.from({ length: TASKS }, () => play(size)));
  // Let stragglers (none expected after the terminal write) show up before counting.
  await new Promise((r) => setTimeout(r, 200));
  const requests = results.map((r) => github.requests(r.prNumber).length);
  const writes = results.map((r) => github.writes(r.prNumber).length);
  const events = results.map((r) => r.events);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ms = results.map((r) => r.latencyMs).sort((a, b) => a - b);
  latencies.push(...ms);
  rows.push(
    `  ${String(avg(events).toFixed(0)).padStart(4)} events   ${avg(requests).toFixed(1).padStart(5)} requests/task (${avg(writes).toFixed(1)} writes)   naive ${avg(events).toFixed(0).padStart(4)}   ratio ${(avg(events) / avg(requests)).toFixed(1).padStart(5)}x   terminal -> comment p50 ${q(ms, 0.5)} ms, max ${ms.at(-1)} ms`,
  );
}
const sorted = latencies.sort((a, b) => a - b);
const userCalls = github.log.filter((r) => r.path === "/user").length;
await stack.stop();
await github.stop();

console.log(`
GitHub status comment: ${TASKS} tasks at once per size, an event every ${GAP_MS} ms per task
batching window ${WINDOW_MS} ms, ${THROTTLE_MS} ms between edits of a task, ${WRITE_GAP_MS} ms between writes
(requests per task: the marker search GET, the POST, the PATCHes; plus ${userCalls} GET /user per process)
${rows.join("\n")}
  terminal event -> terminal comment over all ${sorted.length} tasks: p50 ${q(sorted, 0.5)} ms, p99 ${q(sorted, 0.99)} ms
  secondary-limit violations: ${github.violations}
`);
process.exit(0);
