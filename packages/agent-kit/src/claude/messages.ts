import type { SDKAssistantMessage, SDKResultMessage, SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";
import { AgentFailure } from "../run.ts";

const PREVIEW = 500;

/** At most `max` characters of any value, for event payloads. */
export function preview(value: unknown, max = PREVIEW): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

type Block = { type: string; [key: string]: unknown };
const blocks = (content: unknown): Block[] =>
  Array.isArray(content) ? (content as Block[]).filter((b) => b && typeof b === "object") : [];

/** The text an assistant message shows, or the tools it calls when it says nothing. */
export function turnText(message: SDKAssistantMessage): string {
  const content = blocks(message.message.content);
  const text = content
    .filter((b) => b.type === "text")
    .map((b) => String(b.text ?? ""))
    .join("\n")
    .trim();
  if (text) return preview(text);
  const tools = content.filter((b) => b.type === "tool_use").map((b) => String(b.name));
  return tools.length > 0 ? `Using ${tools.join(", ")}` : "(thinking)";
}

export interface ToolUse {
  id: string;
  name: string;
  input: unknown;
}

export function toolUses(message: SDKAssistantMessage): ToolUse[] {
  return blocks(message.message.content)
    .filter((b) => b.type === "tool_use")
    .map((b) => ({ id: String(b.id), name: String(b.name), input: b.input }));
}

export interface ToolOutcome {
  toolUseId: string;
  output: string;
  isError: boolean;
}

/** The tool results a user message carries back to the model (denials included, as errors). */
export function toolResults(message: SDKUserMessage): ToolOutcome[] {
  return blocks(message.message.content)
    .filter((b) => b.type === "tool_result")
    .map((b) => ({
      toolUseId: String(b.tool_use_id),
      isError: b.is_error === true,
      output: preview(
        typeof b.content === "string"
          ? b.content
          : blocks(b.content)
              .map((c) => (c.type === "text" ? String(c.text ?? "") : `[${c.type}]`))
              .join("\n"),
      ),
    }));
}

/** Model errors worth a retry, whose exhaustion means the model is unavailable rather than the agent wrong. */
const UNAVAILABLE_ERRORS = new Set(["rate_limit", "overloaded", "server_error"]);
const UNAVAILABLE_STATUS = (status: number) => status === 429 || status === 529 || status >= 500;

/**
 * How a `result` ends the task, if it does: the limits set through the SDK options,
 * the model's refusal after the CLI's bounded retries (`model_unavailable`, with the
 * provider's message), or an agent error. Undefined: the turn succeeded.
 *
 * `lastError` is the `error` of the last assistant message (the CLI's synthetic API-error message).
 */
export function failureOf(
  result: SDKResultMessage,
  limits: { maxTurns: number; maxBudgetUsd: number },
  lastError?: string,
): AgentFailure | undefined {
  switch (result.subtype) {
    case "error_max_turns":
      return new AgentFailure("max_turns", `Reached the task's limit of ${limits.maxTurns} turns`);
    case "error_max_budget_usd":
      return new AgentFailure(
        "max_budget",
        `Spent $${result.total_cost_usd.toFixed(4)}, reaching the task's budget of $${limits.maxBudgetUsd}`,
      );
    case "success": {
      if (!result.is_error) return undefined;
      const message = firstLine(result.result) || "The model answered with an error";
      const status = result.api_error_status ?? 0;
      if (UNAVAILABLE_STATUS(status) || (lastError !== undefined && UNAVAILABLE_ERRORS.has(lastError))) {
        return new AgentFailure("model_unavailable", `The model is unavailable: ${message}`);
      }
      return new AgentFailure("agent_error", message);
    }
    default:
      return new AgentFailure(
        "agent_error",
        firstLine(result.errors.join("; ")) || `The agent stopped (${result.subtype})`,
      );
  }
}

/** One line, no stack trace. */
function firstLine(text: string | undefined): string {
  return preview((text ?? "").split("\n").find((line) => line.trim()) ?? "", 300).trim();
}

/** Tokens of a result's usage: input counts cache writes and reads too. */
export function tokensOf(result: SDKResultMessage) {
  const u = result.usage;
  return {
    inputTokens:
      (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0),
    outputTokens: u.output_tokens ?? 0,
  };
}

/** A tool's input as an event shows it: every string field cut to a preview. */
export function inputPreview(input: unknown): unknown {
  if (typeof input === "string") return preview(input, 300);
  if (!input || typeof input !== "object" || Array.isArray(input)) return input;
  return Object.fromEntries(
    Object.entries(input as Record<string, unknown>).map(([key, value]) => [
      key,
      typeof value === "string"
        ? preview(value, 300)
        : typeof value === "object"
          ? preview(value, 300)
          : value,
    ]),
  );
}
