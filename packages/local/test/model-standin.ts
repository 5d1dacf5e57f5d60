/*
 * A stand-in for the Anthropic Messages API, so tests can run the real Claude Agent SDK
 * (and its Claude Code binary) with no network.
 *
 * What @anthropic-ai/claude-agent-sdk 0.3.334 (CLI 2.1.334) was seen to do against it:
 * - env (`standinEnv`): ANTHROPIC_BASE_URL=<url>, ANTHROPIC_API_KEY=<anything>,
 *   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1; CLAUDE_CONFIG_DIR=<temp dir> keeps sessions
 *   out of ~/.claude. As root, approve tools with `canUseTool` (bypassPermissions is refused);
 *   read-only Bash (`echo`, `sleep`) runs without asking it.
 * - requests: only `POST /v1/messages?beta=true`, `stream: true`, `max_tokens: 128000`, 13
 *   `tools`, model `claude-opus-5-5` unless `options.model`; headers `x-api-key`,
 *   `anthropic-version: 2023-06-01`, `anthropic-beta`, `x-claude-code-session-id`. No title
 *   generation, quota probe (`max_tokens: 1`) or count_tokens call was seen; such requests
 *   would still get defaults (`isAuxiliary`) and never eat a test's script.
 * - cost: claude-opus-5-5 is priced $4 / $20 per million input / output tokens.
 * - retries (Claude Code's own loop): 429, 500 and 529 are retried CLAUDE_CODE_MAX_RETRIES
 *   times (default 10, clamped to 15); delay ~0.5 s doubling, capped near 32 s, +0-25 %
 *   jitter, or `retry-after` (+jitter) when longer. Each retry first yields
 *   `{ type: "system", subtype: "api_retry", attempt, max_retries, retry_delay_ms,
 *   error_status, error: "rate_limit" | "overloaded" | "server_error" }`. A 529 forever with
 *   the default gives 11 requests over ~185 s. Out of retries: a `result` with subtype
 *   "success" but `is_error: true`, `api_error_status`, `terminal_reason: "api_error"` and
 *   "API Error: 529 Overloaded…" in `result`; then the query iterator throws
 *   "Claude Code returned an error result: …" (it does so after every is_error result).
 *   Other knobs: API_TIMEOUT_MS, CLAUDE_STREAM_IDLE_TIMEOUT_MS,
 *   CLAUDE_STREAM_FIRST_BYTE_TIMEOUT_MS, CLAUDE_CODE_OVERLOADED_RETRY_{BASE_DELAY,MAX_DELAY,MAX_WAIT}_MS.
 * - limits: maxTurns N -> "error_max_turns" after N model calls (num_turns N+1, errors
 *   ["Reached maximum number of turns (N)"]); maxBudgetUsd -> "error_max_budget_usd" after
 *   the call that crossed it, its tool use not run (errors ["Reached maximum budget ($X)"]).
 *   interrupt() during a request -> "error_during_execution", terminal_reason "aborted_streaming".
 * - a user message pushed mid-turn (streaming input) is folded into the next request, as a
 *   text block after the tool result: "The user sent a new message while you were working:\n<text>…".
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { brotliDecompress, gunzip, inflate } from "node:zlib";

/** Token counts of one reply, as the API reports them in `usage`. */
export interface StandinUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface ToolCall {
  name: string;
  input: Record<string, unknown>;
  /** Default: a fresh `toolu_…` id. */
  id?: string;
}

/** One answer of the stand-in. Build them with `say`, `callTools`, `fail`, `hang`. */
export type Reply =
  | {
      kind: "message";
      text?: string;
      tools: ToolCall[];
      stopReason: "end_turn" | "tool_use" | "max_tokens";
      usage: StandinUsage;
    }
  | {
      kind: "error";
      status: number;
      errorType: string;
      message: string;
      retryAfterSeconds?: number;
      /** Send a 200 stream that breaks with an `error` event after `message_start`. */
      midStream: boolean;
    }
  | { kind: "hang"; afterStart: boolean };

/** One request as the stand-in received it. */
export interface StandinRequest {
  at: number;
  method: string;
  /** Path with query, e.g. `/v1/messages?beta=true`. */
  path: string;
  /** Headers, with `x-api-key` and `authorization` values replaced by `<redacted>`. */
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: a request body is whatever the client sent.
  body: any;
  /** Answered by the auxiliary defaults rather than the test's script. */
  auxiliary: boolean;
  /** What it was answered with. */
  reply?: Reply;
}

/** Answers a request when `when` holds; checked before the script's list. */
export interface Rule {
  when: (req: StandinRequest) => boolean;
  reply: Reply | ((req: StandinRequest) => Reply);
  /** Answer only the first matching request. */
  once?: boolean;
}

export type Script =
  | Reply[]
  | ((req: StandinRequest, mainIndex: number) => Reply)
  | {
      /** Main-loop replies, consumed in order. */
      replies?: Reply[];
      rules?: Rule[];
      /** Answer once `replies` run out. Default: `say("Done.")`. */
      otherwise?: Reply;
    };

const DEFAULT_USAGE: StandinUsage = {
  input_tokens: 100,
  output_tokens: 20,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
};

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** An assistant text turn (`stop_reason` end_turn unless told). */
export function say(
  text: string,
  opts: { usage?: Partial<StandinUsage>; stopReason?: "end_turn" | "max_tokens" } = {},
): Reply {
  return {
    kind: "message",
    text,
    tools: [],
    stopReason: opts.stopReason ?? "end_turn",
    usage: { ...DEFAULT_USAGE, ...opts.usage },
  };
}

/** A turn of one or more tool_use blocks, optionally preceded by text. */
export function callTools(
  tools: ToolCall | ToolCall[],
  opts: { text?: string; usage?: Partial<StandinUsage> } = {},
): Reply {
  return {
    kind: "message",
    text: opts.text,
    tools: Array.isArray(tools) ? tools : [tools],
    stopReason: "tool_use",
    usage: { ...DEFAULT_USAGE, ...opts.usage },
  };
}

/** An API error in the API's own shape: 429 rate_limit_error, 500 api_error, 529 overloaded_error… */
export function fail(
  status: number,
  opts: { message?: string; retryAfterSeconds?: number; midStream?: boolean } = {},
): Reply {
  const errorType = ERROR_TYPES[status] ?? "api_error";
  return {
    kind: "error",
    status,
    errorType,
    message: opts.message ?? (status === 529 ? "Overloaded" : `${errorType} from the stand-in`),
    retryAfterSeconds: opts.retryAfterSeconds,
    midStream: opts.midStream ?? false,
  };
}

/** Never answer (until `close()`); `afterStart` first sends the headers and `message_start`. */
export function hang(opts: { afterStart?: boolean } = {}): Reply {
  return { kind: "hang", afterStart: opts.afterStart ?? false };
}

/** The env a Claude Code process needs to talk to the stand-in and nothing else. */
export function standinEnv(url: string, extra: Record<string, string> = {}): Record<string, string> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return {
    ...inherited,
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: "sk-ant-standin",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    ...extra,
  };
}

/** Text of every user turn's text blocks (and tool results) in a request body, in order. */
export function userTexts(body: StandinRequest["body"]): string[] {
  const out: string[] = [];
  for (const message of body?.messages ?? []) {
    if (message.role !== "user") continue;
    if (typeof message.content === "string") out.push(message.content);
    else for (const block of message.content ?? []) if (block.type === "text") out.push(block.text);
  }
  return out;
}

/** The text of the last user message of a request (what a predicate usually looks at). */
export function lastUserText(req: StandinRequest): string {
  const messages = req.body?.messages ?? [];
  const last = messages[messages.length - 1];
  if (last?.role !== "user") return "";
  return userTexts({ messages: [last] }).join("\n");
}

/**
 * Requests Claude Code makes besides the agent loop: token counting, quota probes
 * (`max_tokens: 1`) and tool-less side prompts such as title generation. The main loop
 * always sends its tool list.
 */
export function isAuxiliary(req: StandinRequest): boolean {
  if (!req.path.startsWith("/v1/messages")) return true;
  if (req.path.startsWith("/v1/messages/count_tokens")) return true;
  const body = req.body ?? {};
  return body.max_tokens === 1 || !Array.isArray(body.tools) || body.tools.length === 0;
}

/**
 * Starts the stand-in on 127.0.0.1 at a free port.
 *
 * @example
 * const model = await startModelStandin([callTools({ name: "Bash", input: { command: "touch a" } }), say("Done.")]);
 * for await (const m of query({ prompt: "go", options: { cwd, env: standinEnv(model.url), canUseTool } })) …
 * expect(model.mainRequests()).toHaveLength(2);
 * await model.close();
 */
export async function startModelStandin(script: Script = []) {
  const requests: StandinRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const rules = Array.isArray(script) || typeof script === "function" ? [] : (script.rules ?? []);
  const spentRules = new Set<Rule>();
  const queue = Array.isArray(script)
    ? [...script]
    : typeof script === "function"
      ? []
      : [...(script.replies ?? [])];
  const otherwise = !Array.isArray(script) && typeof script !== "function" ? script.otherwise : undefined;
  let mainIndex = 0;

  const choose = (req: StandinRequest): Reply => {
    for (const rule of rules) {
      if (spentRules.has(rule) || !rule.when(req)) continue;
      if (rule.once) spentRules.add(rule);
      return typeof rule.reply === "function" ? rule.reply(req) : rule.reply;
    }
    if (isAuxiliary(req)) {
      req.auxiliary = true;
      return say("Stand-in title", { usage: { input_tokens: 1, output_tokens: 1 } });
    }
    const index = mainIndex++;
    if (typeof script === "function") return script(req, index);
    return queue.shift() ?? otherwise ?? say("Done.");
  };

  const server = createServer((incoming, res) => {
    void handle(incoming, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, fail(500, { message: String(err) }));
      else res.destroy();
    });
  });

  const handle = async (incoming: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(incoming);
    const headers = { ...incoming.headers };
    for (const secret of ["x-api-key", "authorization"]) if (headers[secret]) headers[secret] = "<redacted>";
    const req: StandinRequest = {
      at: Date.now(),
      method: incoming.method ?? "GET",
      path: incoming.url ?? "/",
      headers,
      body: raw.length ? JSON.parse(raw.toString("utf8")) : undefined,
      auxiliary: false,
    };
    requests.push(req);

    if (req.path.startsWith("/v1/messages/count_tokens")) {
      req.auxiliary = true;
      return sendJson(res, 200, { input_tokens: Math.ceil(raw.length / 4) });
    }
    if (req.method !== "POST" || !req.path.startsWith("/v1/messages")) {
      req.auxiliary = true;
      return sendError(res, fail(404, { message: `${req.method} ${req.path} is not served here` }));
    }

    const reply = choose(req);
    req.reply = reply;
    const model = String(req.body?.model ?? "claude-standin");
    if (reply.kind === "hang") {
      hanging.add(res);
      res.on("close", () => hanging.delete(res));
      if (reply.afterStart) {
        startStream(res);
        writeEvent(res, "message_start", messageStart(model, DEFAULT_USAGE));
      }
      return;
    }
    if (reply.kind === "error" && !reply.midStream) return sendError(res, reply);
    if (reply.kind === "error") {
      startStream(res);
      writeEvent(res, "message_start", messageStart(model, DEFAULT_USAGE));
      writeEvent(res, "error", errorBody(reply));
      return res.end();
    }
    if (req.body?.stream === true) return stream(res, model, reply);
    return sendJson(res, 200, {
      ...messageStart(model, reply.usage).message,
      content: contentOf(reply),
      stop_reason: reply.stopReason,
      usage: reply.usage,
    });
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    /** Every request received, auxiliary ones included, in arrival order. */
    requests,
    /** The agent-loop requests only (those the script answered). */
    mainRequests: () => requests.filter((r) => !r.auxiliary),
    /** Main-loop replies still waiting in the script's list. */
    remaining: () => queue.length,
    /** Appends replies to the script's list while a run is going. */
    push: (...replies: Reply[]) => queue.push(...replies),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type ModelStandin = Awaited<ReturnType<typeof startModelStandin>>;

const decoders: Record<string, (buf: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

async function readBody(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const decode = decoders[String(incoming.headers["content-encoding"] ?? "")];
  return decode ? decode(body) : body;
}

function id(prefix: string): string {
  return `${prefix}${randomBytes(18).toString("base64url").replace(/[-_]/g, "x")}`;
}

function messageStart(model: string, usage: StandinUsage) {
  return {
    type: "message_start",
    message: {
      id: id("msg_01"),
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // The API reports input and cache tokens up front and output tokens in message_delta.
      usage: { ...usage, output_tokens: Math.min(1, usage.output_tokens) },
    },
  };
}

function contentOf(reply: Extract<Reply, { kind: "message" }>) {
  const blocks: Record<string, unknown>[] = [];
  if (reply.text !== undefined) blocks.push({ type: "text", text: reply.text });
  for (const tool of reply.tools) {
    blocks.push({ type: "tool_use", id: tool.id ?? id("toolu_01"), name: tool.name, input: tool.input });
  }
  return blocks;
}

/** Splits a string into `n` roughly equal pieces (at least one, none empty unless the string is). */
function pieces(s: string, n: number): string[] {
  if (s.length <= 1) return [s];
  const size = Math.ceil(s.length / Math.min(n, s.length));
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

async function stream(res: ServerResponse, model: string, reply: Extract<Reply, { kind: "message" }>) {
  startStream(res);
  writeEvent(res, "message_start", messageStart(model, reply.usage));
  const blocks = contentOf(reply);
  for (const [index, block] of blocks.entries()) {
    if (block.type === "text") {
      writeEvent(res, "content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      });
      if (index === 0) writeEvent(res, "ping", { type: "ping" });
      for (const text of pieces(String(block.text), 3)) {
        await tick();
        writeEvent(res, "content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "text_delta", text },
        });
      }
    } else {
      writeEvent(res, "content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      if (index === 0) writeEvent(res, "ping", { type: "ping" });
      // The API streams tool input as partial JSON, starting with an empty chunk.
      writeEvent(res, "content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "input_json_delta", partial_json: "" },
      });
      for (const partial_json of pieces(JSON.stringify(block.input), 4)) {
        await tick();
        writeEvent(res, "content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json },
        });
      }
    }
    writeEvent(res, "content_block_stop", { type: "content_block_stop", index });
  }
  writeEvent(res, "message_delta", {
    type: "message_delta",
    delta: { stop_reason: reply.stopReason, stop_sequence: null },
    usage: { output_tokens: reply.usage.output_tokens },
  });
  writeEvent(res, "message_stop", { type: "message_stop" });
  res.end();
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function startStream(res: ServerResponse) {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "request-id": id("req_01"),
    "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
  });
  res.flushHeaders();
}

function writeEvent(res: ServerResponse, event: string, data: unknown) {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function errorBody(reply: Extract<Reply, { kind: "error" }>) {
  return { type: "error", error: { type: reply.errorType, message: reply.message } };
}

function sendError(res: ServerResponse, reply: Reply) {
  if (reply.kind !== "error") throw new Error("sendError needs an error reply");
  const requestId = id("req_01");
  const headers: Record<string, string> = { "content-type": "application/json", "request-id": requestId };
  if (reply.retryAfterSeconds !== undefined) headers["retry-after"] = String(reply.retryAfterSeconds);
  res.writeHead(reply.status, headers);
  res.end(JSON.stringify({ ...errorBody(reply), request_id: requestId }));
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "request-id": id("req_01") });
  res.end(JSON.stringify(body));
}
