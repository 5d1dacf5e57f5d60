import { setTimeout as sleep } from "node:timers/promises";
import { AgentOptions } from "@conveyor/core/agent/options";
import * as v from "valibot";
import { AgentCancelled, AgentFailure, type Brain } from "./run.ts";

const TOOLS = ["read_file", "search_code", "edit_file", "run_tests"] as const;

/**
 * A deterministic agent for offline use and tests: the same task yields the same
 * turns, tool calls, milestones and costs every time.
 *
 * @example submit `{ repo: "acme/api", description: "add a health check", options: { turns: 3, stepMs: 50 } }`
 */
export const scripted =
  (hooks: { crash?: () => never } = {}): Brain =>
  async ({ task, progress, signal, nudges, approvals, interrupts }) => {
    const opts = v.parse(AgentOptions.Scripted, task.options ?? {});
    const crash = hooks.crash ?? (() => process.kill(process.pid, "SIGKILL") as never);
    const subject = task.description.split("\n")[0]!.slice(0, 80);
    const turns = Math.min(opts.turns, task.maxTurns);
    let spent = task.costUsd;

    await progress.milestone("plan", `Plan for "${subject}" in ${plural(turns, "turn")}`);
    const boundary = () => {
      if (signal.aborted && !opts.ignoreCancel) throw new AgentCancelled();
    };
    let steer = "";
    for (let turn = 1; turn <= turns; turn++) {
      boundary();
      if (opts.crashAtTurn === turn) crash();
      // The turn's work; a cancel wakes it early unless this agent ignores cancels, and an
      // interrupt-mode nudge cuts it short so the nudge is taken now.
      if (opts.stepMs > 0) {
        const cut = new AbortController();
        const off = interrupts.on(() => cut.abort());
        const wake = opts.ignoreCancel ? cut.signal : AbortSignal.any([signal, cut.signal]);
        await sleep(opts.stepMs, undefined, { signal: wake }).catch(() => undefined);
        off();
      }
      boundary();
      // Nudges taken at the boundary shape this turn.
      const taken = opts.ignoreNudges ? [] : await nudges.take();
      if (taken.length > 0) steer = taken.map((n) => n.message).join("; ");

      const tool = TOOLS[(turn - 1) % TOOLS.length]!;
      const steering = taken.length > 0 ? ` (acting on nudge: "${steer}")` : "";
      // A gate before this turn's tool call: a denied one skips the call and the run goes on.
      let gate = "";
      if (opts.approveAt === turn) {
        const answer = await approvals.request({
          action: "scripted",
          detail: `${tool} at turn ${turn} of "${subject}"`,
          ...(opts.approvalTimeoutS ? { timeoutS: opts.approvalTimeoutS } : {}),
        });
        gate =
          answer.decision === "approve"
            ? ` (approved by ${answer.by})`
            : ` (denied by ${answer.by}: ${tool} skipped)`;
      }
      await progress.turn(
        turn,
        `Turn ${turn}/${turns}: working on "${subject}" with ${tool}${steering}${gate}`,
      );
      if (gate.includes("denied")) continue;
      const callId = await progress.toolCall(tool, {
        path: `src/${tool === "run_tests" ? "test" : "app"}-${turn}.ts`,
      });
      await progress.toolResult(
        callId,
        tool === "run_tests" ? `${turn * 3} tests passed` : `ok (${tool}, turn ${turn})`,
      );

      const inputTokens = 1_000 + turn * 100;
      const outputTokens = 200 + turn * 20;
      const cost = Math.round((inputTokens * 3 + outputTokens * 15) / 10) / 100_000;
      spent += cost;
      await progress.cost(cost, inputTokens, outputTokens);
      if (spent > task.maxBudgetUsd)
        throw new AgentFailure(
          "max_budget",
          `Spent $${spent.toFixed(4)} of the $${task.maxBudgetUsd.toFixed(2)} budget`,
        );

      if (opts.failAtTurn === turn) throw new AgentFailure("agent_error", `Scripted failure at turn ${turn}`);
      if (turn === Math.ceil(turns / 2)) await progress.milestone("tests passing", `${turn * 3} tests pass`);
    }
    if (opts.turns > task.maxTurns) {
      throw new AgentFailure("max_turns", `Reached the task's limit of ${plural(task.maxTurns, "turn")}`);
    }
    const prNumber = 1000 + (hash(task.taskId) % 9000);
    const prUrl = `https://github.com/${task.repo}/pull/${prNumber}`;
    await progress.milestone("pull request opened", `#${prNumber}: ${subject}`, prUrl);
    return { summary: `Done: ${subject} (${plural(turns, "turn")})`, prUrl };
  };

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

function hash(text: string) {
  let h = 0;
  for (const char of text) h = (h * 31 + char.charCodeAt(0)) >>> 0;
  return h;
}
