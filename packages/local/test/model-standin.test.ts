import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// packages/local does not depend on the SDK itself; agent-kit does.
import {
  type Options,
  query,
  type SDKMessage,
  type SDKResultMessage,
  type SDKUserMessage,
} from "@anthropic-ai/claude-agent-sdk";
import { afterEach, describe, expect, it } from "vitest";
import {
  callTools,
  fail,
  hang,
  type Script,
  say,
  standinEnv,
  startModelStandin,
  userTexts,
} from "./model-standin.ts";

const TIMEOUT = 120_000;
const allow: Options["canUseTool"] = async (_name, input) => ({ behavior: "allow", updatedInput: input });

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A stand-in plus a scratch working directory and Claude config directory for one test. */
async function setup(scriptFor: (cwd: string) => Script) {
  const cwd = mkdtempSync(join(tmpdir(), "standin-cwd-"));
  const model = await startModelStandin(scriptFor(cwd));
  const configDir = mkdtempSync(join(tmpdir(), "standin-config-"));
  cleanup.push(
    () => model.close(),
    () => rmSync(cwd, { recursive: true, force: true }),
    () => rmSync(configDir, { recursive: true, force: true }),
  );
  const options = (env: Record<string, string> = {}): Options => ({
    cwd,
    canUseTool: allow,
    env: standinEnv(model.url, { CLAUDE_CONFIG_DIR: configDir, ...env }),
  });
  return { model, cwd, options };
}

/** Runs a query to its end. The SDK throws after yielding an `is_error` result; that error is kept, not thrown. */
async function drain(run: AsyncIterable<SDKMessage>) {
  const messages: SDKMessage[] = [];
  let thrown: Error | undefined;
  try {
    for await (const message of run) messages.push(message);
  } catch (err) {
    thrown = err as Error;
  }
  const result = messages.find((m): m is SDKResultMessage => m.type === "result");
  return { messages, result, thrown };
}

function assistantTexts(messages: SDKMessage[]): string[] {
  return messages.flatMap((m) =>
    m.type === "assistant" ? m.message.content.flatMap((b) => (b.type === "text" ? [b.text] : [])) : [],
  );
}

function retries(messages: SDKMessage[]) {
  return messages.flatMap((m) => (m.type === "system" && m.subtype === "api_retry" ? [m] : []));
}

describe("the model stand-in", () => {
  it("streams events in the API's order and shapes", async () => {
    const model = await startModelStandin([
      callTools({ name: "Write", input: { file_path: "/x", content: "a".repeat(40) } }, { text: "Writing." }),
    ]);
    cleanup.push(() => model.close());

    const res = await fetch(`${model.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "secret" },
      body: JSON.stringify({
        model: "m1",
        max_tokens: 10,
        stream: true,
        tools: [{ name: "Write" }],
        messages: [],
      }),
    });
    const events = (await res.text())
      .trim()
      .split("\n\n")
      .map((chunk) => {
        const [event, data] = chunk.split("\n");
        return {
          event: event?.slice("event: ".length),
          data: JSON.parse(data?.slice("data: ".length) ?? ""),
        };
      });

    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    for (const e of events) expect(e.data.type).toBe(e.event);
    const kinds = events.map((e) => e.event).filter((e) => e !== "content_block_delta" && e !== "ping");
    expect(kinds).toEqual([
      "message_start",
      "content_block_start",
      "content_block_stop",
      "content_block_start",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(events[0]?.data.message).toMatchObject({
      id: expect.stringMatching(/^msg_/),
      model: "m1",
      content: [],
    });
    expect(events[0]?.data.message.usage).toMatchObject({ input_tokens: 100, cache_read_input_tokens: 0 });
    expect(events.some((e) => e.event === "ping")).toBe(true);
    const toolStart = events.find((e) => e.data.content_block?.type === "tool_use");
    expect(toolStart?.data.content_block).toMatchObject({
      name: "Write",
      input: {},
      id: expect.stringMatching(/^toolu_/),
    });
    const partials = events
      .filter((e) => e.data.delta?.type === "input_json_delta")
      .map((e) => e.data.delta.partial_json as string);
    expect(partials.filter(Boolean).length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(partials.join(""))).toEqual({ file_path: "/x", content: "a".repeat(40) });
    expect(events.at(-2)?.data).toMatchObject({
      delta: { stop_reason: "tool_use" },
      usage: { output_tokens: 20 },
    });
    expect(model.requests[0]?.headers["x-api-key"]).toBe("<redacted>");
  });

  it("answers errors in the API's error shape", async () => {
    const model = await startModelStandin([fail(429, { retryAfterSeconds: 7 }), fail(529)]);
    cleanup.push(() => model.close());
    const post = () =>
      fetch(`${model.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m1", max_tokens: 10, tools: [{ name: "Bash" }], messages: [] }),
      });

    const limited = await post();
    const overloaded = await post();

    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(await limited.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(overloaded.status).toBe(529);
    expect(await overloaded.json()).toMatchObject({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
    });
  });

  it(
    "drives a real run: a Bash tool use really runs, then a text turn, then a success result with its cost",
    async () => {
      const { model, cwd, options } = await setup(() => [
        callTools(
          { name: "Bash", input: { command: "echo made > made.txt", description: "Create a file" } },
          { text: "Creating it.", usage: { input_tokens: 1000, output_tokens: 50 } },
        ),
        say("The file is there.", { usage: { input_tokens: 3000, output_tokens: 10 } }),
      ]);

      const { messages, result, thrown } = await drain(
        query({ prompt: "Create made.txt", options: options() }),
      );

      expect(thrown).toBeUndefined();
      expect(readFileSync(join(cwd, "made.txt"), "utf8")).toBe("made\n");
      expect(assistantTexts(messages)).toEqual(["Creating it.", "The file is there."]);
      expect(result).toMatchObject({
        subtype: "success",
        is_error: false,
        num_turns: 2,
        result: "The file is there.",
      });
      expect(result?.usage).toMatchObject({ input_tokens: 4000, output_tokens: 60 });
      // The binary prices its default model (claude-opus-5-5) at $4 / $20 per million input / output tokens.
      expect(result?.total_cost_usd).toBeCloseTo(4000 * 4e-6 + 60 * 20e-6, 9);
      expect(model.mainRequests()).toHaveLength(2);
      expect(model.requests.filter((r) => r.auxiliary)).toEqual([]);
      const second = model.mainRequests()[1]?.body;
      expect(second.messages.at(-1).content).toContainEqual(
        expect.objectContaining({ type: "tool_result", tool_use_id: expect.stringMatching(/^toolu_/) }),
      );
    },
    TIMEOUT,
  );

  it(
    "delivers a Write tool use streamed in several input_json_delta chunks whole",
    async () => {
      const content = `${"line of text\n".repeat(50)}end\n`;
      const { cwd, options } = await setup((dir) => [
        callTools({ name: "Write", input: { file_path: join(dir, "notes.md"), content } }),
        say("Written."),
      ]);

      const { result } = await drain(query({ prompt: "Write notes.md", options: options() }));

      expect(result).toMatchObject({ subtype: "success", is_error: false });
      expect(readFileSync(join(cwd, "notes.md"), "utf8")).toBe(content);
    },
    TIMEOUT,
  );

  it(
    "survives a 429: the binary waits, retries once and the run succeeds",
    async () => {
      const { model, options } = await setup(() => [fail(429, { retryAfterSeconds: 0 }), say("Fine now.")]);

      const { messages, result, thrown } = await drain(query({ prompt: "Hello", options: options() }));

      expect(thrown).toBeUndefined();
      expect(result).toMatchObject({ subtype: "success", is_error: false, result: "Fine now." });
      expect(model.mainRequests().map((r) => r.reply?.kind)).toEqual(["error", "message"]);
      expect(retries(messages)).toEqual([
        expect.objectContaining({ attempt: 1, max_retries: 10, error_status: 429, error: "rate_limit" }),
      ]);
      const [first, second] = model.mainRequests();
      expect(second?.body.messages).toEqual(first?.body.messages);
    },
    TIMEOUT,
  );

  it(
    "gives up after CLAUDE_CODE_MAX_RETRIES retries of a 529 with an error result, and the SDK then throws",
    async () => {
      const { model, options } = await setup(() => () => fail(529));

      const { messages, result, thrown } = await drain(
        query({ prompt: "Hello", options: options({ CLAUDE_CODE_MAX_RETRIES: "2" }) }),
      );

      expect(model.mainRequests()).toHaveLength(3);
      expect(retries(messages).map((m) => [m.attempt, m.max_retries, m.error_status, m.error])).toEqual([
        [1, 2, 529, "overloaded"],
        [2, 2, 529, "overloaded"],
      ]);
      // Exponential backoff: ~0.5 s, then ~1 s (+ up to 25 % jitter).
      const delays = retries(messages).map((m) => m.retry_delay_ms);
      expect(delays[0]).toBeGreaterThanOrEqual(500);
      expect(delays[1]).toBeGreaterThanOrEqual(1000);
      // Not an error subtype: "success" flagged is_error, with the API's error in `result`.
      expect(result).toMatchObject({
        subtype: "success",
        is_error: true,
        api_error_status: 529,
        result: expect.stringContaining("529 Overloaded"),
      });
      expect(thrown?.message).toContain("Claude Code returned an error result");
    },
    TIMEOUT,
  );

  it(
    "takes a user message pushed mid-run in streaming input mode into a later request",
    async () => {
      const nudge = "Also add a README please";
      const { model, options } = await setup(() => ({
        replies: [
          callTools({ name: "Bash", input: { command: "sleep 1", description: "Wait a second" } }),
          say("First part done."),
        ],
        rules: [
          {
            when: (req) => userTexts(req.body).some((t) => t.includes(nudge)),
            reply: say("Adding the README."),
          },
        ],
      }));
      const input = new Inbox<SDKUserMessage>();
      const userMessage = (content: string): SDKUserMessage => ({
        type: "user",
        message: { role: "user", content },
        parent_tool_use_id: null,
        session_id: "",
      });
      input.push(userMessage("Say one"));
      const nudgeSeen = () => model.requests.some((r) => userTexts(r.body).some((t) => t.includes(nudge)));

      const messages: SDKMessage[] = [];
      for await (const message of query({ prompt: input, options: options() })) {
        messages.push(message);
        // Pushed while the first tool use runs, i.e. mid-run.
        if (message.type === "assistant" && message.message.content.some((b) => b.type === "tool_use")) {
          input.push(userMessage(nudge));
        }
        if (message.type === "result" && nudgeSeen()) input.end();
      }

      const bodies = model.mainRequests().map((r) => userTexts(r.body).join("\n"));
      expect(bodies[0]).not.toContain(nudge);
      // Usually folded into the request that carries the tool result, wrapped in
      // "The user sent a new message while you were working:\n…"; a separate turn is fine too.
      expect(bodies.slice(1).some((b) => b.includes(nudge))).toBe(true);
      expect(assistantTexts(messages)).toContain("Adding the README.");
      expect(
        messages.filter((m) => m.type === "result").every((m) => m.type === "result" && !m.is_error),
      ).toBe(true);
    },
    TIMEOUT,
  );

  it(
    "stops on interrupt while the model hangs, with no request after it",
    async () => {
      let requested!: () => void;
      const firstRequest = new Promise<void>((resolve) => (requested = resolve));
      const { model, options } = await setup(() => () => {
        requested();
        return hang({ afterStart: true });
      });
      const run = query({ prompt: "Hello", options: options() });
      void firstRequest.then(() => run.interrupt());

      const { result, thrown } = await drain(run);
      await new Promise((resolve) => setTimeout(resolve, 500));

      expect(result).toMatchObject({
        subtype: "error_during_execution",
        is_error: true,
        terminal_reason: "aborted_streaming",
      });
      expect(thrown?.message).toContain("Claude Code returned an error result");
      expect(model.requests).toHaveLength(1);
    },
    TIMEOUT,
  );
});

/** An async iterable the test pushes to while the SDK reads it. */
class Inbox<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  push(item: T) {
    this.items.push(item);
    this.wake?.();
  }

  end() {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator]() {
    while (true) {
      const item = this.items.shift();
      if (item !== undefined) yield item;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
