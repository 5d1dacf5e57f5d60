import type { Query, SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";
import { AgentCancelled, type AgentContext, AgentFailure } from "../run.ts";
import type { ClaudeConfig } from "./config.ts";
import { cliEnv } from "./env.ts";
import { gateFor } from "./gates.ts";
import { Inbox } from "./inbox.ts";
import { failureOf, inputPreview, preview, tokensOf, toolResults, toolUses, turnText } from "./messages.ts";
import { toolPolicy } from "./policy.ts";
import { nudgeMessage } from "./prompt.ts";
import type { Workspace } from "./workspace.ts";

/** How long an interrupted CLI gets to stop by itself before its process is closed. */
const INTERRUPT_GRACE_MS = 3_000;

export interface Conversation {
  /** The agent's closing words. */
  summary: string;
  turns: number;
}

/**
 * One agent session in streaming input mode: the first message, then each nudge pushed
 * at a message boundary as it is taken. Progress events are written as messages arrive;
 * the limits are the SDK's (its result subtypes become the task's failure reasons).
 * A cancel interrupts the query and closes it: no request reaches the model after it.
 */
export async function converse(
  ctx: AgentContext,
  opts: { config: ClaudeConfig; ws: Workspace; prompt: string },
): Promise<Conversation> {
  const { task, progress, signal, nudges, approvals, interrupts, log } = ctx;
  const input = new Inbox<SDKUserMessage>();
  const say = (text: string) =>
    input.push({ type: "user", message: { role: "user", content: text }, parent_tool_use_id: null });
  const limits = { maxTurns: task.maxTurns, maxBudgetUsd: task.maxBudgetUsd };
  say(opts.prompt);

  // Loaded on first use: an agent process answers /ping long before any task needs the SDK.
  const { query } = await import("@anthropic-ai/claude-agent-sdk");
  const q: Query = query({
    prompt: input,
    options: {
      cwd: opts.ws.dir,
      env: cliEnv(opts.config, opts.ws.home),
      maxTurns: task.maxTurns,
      maxBudgetUsd: Math.max(0.01, task.maxBudgetUsd - task.costUsd),
      // Settings from the repository could allow tools past the policy: none are read.
      settingSources: [],
      systemPrompt: { type: "preset", preset: "claude_code" },
      permissionMode: "default",
      pathToClaudeCodeExecutable: opts.config.executable,
      canUseTool: async (name, toolInput) => {
        const halt = { behavior: "deny" as const, message: "The task was cancelled.", interrupt: true };
        if (signal.aborted) return halt;
        const decision = toolPolicy(opts.ws.dir, name, toolInput);
        if (decision.behavior === "deny") {
          log.info("tool denied", { name });
          return decision;
        }
        // A risky use waits for a person (or is let through by the task's settings, on record).
        const gate = gateFor(name, toolInput, task.approvals?.mode ?? "ask");
        if (!gate) return decision;
        try {
          const answer = await approvals.request(gate);
          if (answer.decision === "approve") return decision;
          log.info("tool denied by approval", { name, action: gate.action, by: answer.by });
          return { behavior: "deny", message: deniedMessage(gate.detail, answer) };
        } catch (error) {
          if (error instanceof AgentCancelled) return halt;
          throw error;
        }
      },
      stderr: (data) => log.debug("claude stderr", { data: preview(data) }),
    },
  });

  let cancelled = false;
  let grace: NodeJS.Timeout | undefined;
  const stop = () => {
    cancelled = true;
    input.end();
    // Interrupt the turn, then close the process, so nothing more is sent to the model.
    grace = setTimeout(() => q.close(), INTERRUPT_GRACE_MS);
    q.interrupt()
      .catch(() => undefined)
      .finally(() => q.close());
  };
  signal.addEventListener("abort", stop, { once: true });
  if (signal.aborted) stop();

  /** Nudges taken at a boundary go to the model as user messages; true when any did. */
  const steer = async () => {
    if (cancelled || input.closed) return false;
    const taken = await nudges.take();
    for (const nudge of taken) say(nudgeMessage(nudge.message));
    return taken.length > 0;
  };

  // An interrupt-mode nudge: take the inbox now, stop the turn in flight (the SDK's interrupt()),
  // then hand the nudges over, so they open the next turn instead of waiting for this one to end.
  // The interrupted turn ends in an `error_during_execution` result, which is not a failure here.
  let interrupting = 0;
  const interruptTurn = async () => {
    if (cancelled || input.closed) return;
    const taken = await nudges.take();
    if (taken.length === 0 || cancelled) return;
    interrupting++;
    log.info("turn interrupted by a nudge", { nudges: taken.map((n) => n.nudgeId) });
    await q.interrupt().catch((error) => log.warn("interrupt failed", { error: String(error) }));
    for (const nudge of taken) say(nudgeMessage(nudge.message));
  };
  const offInterrupts = interrupts.on(() => {
    interruptTurn().catch((error) => log.warn("interrupt-mode nudge not taken", { error: String(error) }));
  });

  const seen = new Set<string>();
  const calls = new Map<string, string>();
  let turns = task.turns;
  let spent = 0;
  let lastError: string | undefined;
  let summary = "";
  let results = 0;
  try {
    for await (const message of q) {
      if (cancelled) break;
      if (message.type === "assistant") {
        lastError = message.error;
        // One model response arrives as one message per content block, sharing its id.
        if (!seen.has(message.message.id)) {
          seen.add(message.message.id);
          await progress.turn(++turns, turnText(message));
        }
        for (const use of toolUses(message)) {
          calls.set(use.id, await progress.toolCall(use.name, inputPreview(use.input)));
        }
        await steer();
      } else if (message.type === "user") {
        for (const outcome of toolResults(message)) {
          const callId = calls.get(outcome.toolUseId);
          if (callId) await progress.toolResult(callId, outcome.output, outcome.isError);
        }
        await steer();
      } else if (message.type === "result") {
        // total_cost_usd is the query's running total: record what this turn added.
        results++;
        const { inputTokens, outputTokens } = tokensOf(message);
        await progress.cost(Math.max(0, message.total_cost_usd - spent), inputTokens, outputTokens);
        spent = Math.max(spent, message.total_cost_usd);
        if (interrupting > 0 && message.subtype === "error_during_execution") {
          // The turn we interrupted: the nudges pushed meanwhile start the next one.
          interrupting--;
          continue;
        }
        const failure = failureOf(message, limits, lastError);
        if (failure) throw failure;
        if (message.subtype === "success") summary = message.result;
        // More turns follow for messages already queued; else a last look at the inbox.
        if ((message.queued_turn_count ?? 0) > 0) continue;
        if (!(await steer())) input.end();
      } else if (message.type === "system" && message.subtype === "api_retry") {
        log.warn("model request retried", {
          attempt: message.attempt,
          maxRetries: message.max_retries,
          status: message.error_status,
          error: message.error,
        });
      }
    }
  } catch (error) {
    if (cancelled || signal.aborted) throw new AgentCancelled();
    if (error instanceof AgentFailure) throw error;
    // The SDK's own errors (a CLI that exited, an aborted stream): one line, no stack.
    throw new AgentFailure("agent_error", preview(String((error as Error)?.message ?? error), 300));
  } finally {
    offInterrupts();
    signal.removeEventListener("abort", stop);
    clearTimeout(grace);
    input.end();
    q.close();
  }
  if (cancelled || signal.aborted) throw new AgentCancelled();
  if (results === 0) throw new AgentFailure("agent_error", "The agent stopped without finishing its turn");
  return { summary, turns };
}

/** What the model reads when a gate is denied: what, by whom, and to go on without it. */
function deniedMessage(detail: string, answer: { by: string; comment?: string }) {
  const who = answer.by === "timeout" ? "Nobody approved it in time" : `It was denied by ${answer.by}`;
  const why = answer.comment ? ` (${answer.comment})` : "";
  return `Not approved: \`${detail}\`. ${who}${why}. Do not retry it; go on without it.`;
}
