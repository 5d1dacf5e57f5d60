import type { SDKAssistantMessage, SDKResultMessage, SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";
import { describe, expect, it } from "vitest";
import { AgentFailure } from "../run.ts";
import { failureOf, inputPreview, preview, tokensOf, toolResults, toolUses, turnText } from "./messages.ts";

const assistant = (content: unknown[], error?: string) =>
  ({
    type: "assistant",
    message: { id: "msg_1", role: "assistant", content },
    parent_tool_use_id: null,
    error,
  }) as unknown as SDKAssistantMessage;
const user = (content: unknown[]) =>
  ({
    type: "user",
    message: { role: "user", content },
    parent_tool_use_id: null,
  }) as unknown as SDKUserMessage;
const result = (fields: Record<string, unknown>) =>
  ({
    type: "result",
    subtype: "success",
    is_error: false,
    result: "All done.",
    total_cost_usd: 0.12,
    usage: {
      input_tokens: 100,
      output_tokens: 20,
      cache_creation_input_tokens: 5,
      cache_read_input_tokens: 7,
    },
    errors: [],
    ...fields,
  }) as unknown as SDKResultMessage;
const limits = { maxTurns: 7, maxBudgetUsd: 0.5 };

describe("mapping SDK messages to progress", () => {
  it("shows an assistant message's text, or the tools it calls when it says nothing", () => {
    expect(turnText(assistant([{ type: "text", text: "  I will fix it.  " }]))).toBe("I will fix it.");
    expect(
      turnText(assistant([{ type: "tool_use", id: "t1", name: "Bash", input: { command: "ls" } }])),
    ).toBe("Using Bash");
  });

  it("lists tool uses and their results, errors flagged, text of block content joined", () => {
    const uses = toolUses(
      assistant([
        { type: "text", text: "x" },
        { type: "tool_use", id: "t1", name: "Write", input: { file_path: "a" } },
      ]),
    );
    expect(uses).toEqual([{ id: "t1", name: "Write", input: { file_path: "a" } }]);
    expect(
      toolResults(
        user([
          { type: "tool_result", tool_use_id: "t1", content: "denied: outside", is_error: true },
          { type: "tool_result", tool_use_id: "t2", content: [{ type: "text", text: "ok" }] },
        ]),
      ),
    ).toEqual([
      { toolUseId: "t1", output: "denied: outside", isError: true },
      { toolUseId: "t2", output: "ok", isError: false },
    ]);
  });

  it("cuts previews, and every string field of a tool input", () => {
    expect(preview("x".repeat(600))).toHaveLength(500);
    expect(inputPreview({ content: "y".repeat(1000), line: 3 })).toEqual({
      content: expect.stringMatching(/^y{299}…$/),
      line: 3,
    });
  });

  it("counts cache reads and writes as input tokens", () => {
    expect(tokensOf(result({}))).toEqual({ inputTokens: 112, outputTokens: 20 });
  });
});

describe("failureOf", () => {
  it("lets a successful turn through", () => {
    expect(failureOf(result({}), limits)).toBeUndefined();
  });

  it("maps the SDK's limits to max_turns and max_budget with the task's limits in the message", () => {
    const turns = failureOf(result({ subtype: "error_max_turns", is_error: true }), limits);
    expect(turns).toBeInstanceOf(AgentFailure);
    expect(turns).toMatchObject({ reason: "max_turns", message: "Reached the task's limit of 7 turns" });
    const budget = failureOf(
      result({ subtype: "error_max_budget_usd", is_error: true, total_cost_usd: 0.5123 }),
      limits,
    );
    expect(budget).toMatchObject({ reason: "max_budget", message: expect.stringContaining("$0.5123") });
    expect(budget?.message).toContain("budget of $0.5");
  });

  it("fails model_unavailable with the provider's message, one line, on 429/529/5xx after the retries", () => {
    const overloaded = failureOf(
      result({
        is_error: true,
        api_error_status: 529,
        result: 'API Error: 529 {"message":"Overloaded"}\n  at x',
      }),
      limits,
    );
    expect(overloaded).toMatchObject({
      reason: "model_unavailable",
      message: 'The model is unavailable: API Error: 529 {"message":"Overloaded"}',
    });
    const limited = failureOf(result({ is_error: true, result: "Rate limited" }), limits, "rate_limit");
    expect(limited?.reason).toBe("model_unavailable");
  });

  it("fails agent_error for other API errors and for errors during execution", () => {
    expect(
      failureOf(result({ is_error: true, api_error_status: 400, result: "bad request" }), limits),
    ).toMatchObject({ reason: "agent_error", message: "bad request" });
    expect(
      failureOf(result({ subtype: "error_during_execution", is_error: true, errors: ["boom"] }), limits),
    ).toMatchObject({ reason: "agent_error", message: "boom" });
  });
});
