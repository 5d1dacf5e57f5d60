import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Config } from "../config.ts";
import {
  agentCoreRuntime,
  classify,
  type RetryPolicy,
  RUNTIME_RETRY,
  RuntimeError,
  sessionIdFor,
  UNSET_RUNTIME_ARN,
} from "./index.ts";

const sdkError = (name: string, status?: number) =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });

describe("runtime", () => {
  it("derives a session id AgentCore accepts (33+ chars) deterministically", () => {
    const id = sessionIdFor("01M80A6R8REXYA6GNV4VJ8FN8P");
    expect(id).toBe("conveyor-task-01M80A6R8REXYA6GNV4VJ8FN8P");
    expect(id.length).toBeGreaterThanOrEqual(33);
  });

  it.each([
    ["ValidationException", 400, true],
    ["AccessDeniedException", 403, true],
    ["ResourceNotFoundException", 404, true],
    ["ConflictException", 409, false],
    ["ThrottlingException", 429, false],
    ["InternalServerException", 500, false],
    ["ServiceUnavailable", 503, false],
    ["TimeoutError", undefined, false],
  ])("classifies %s (%s) as permanent=%s", (name, status, permanent) => {
    const error = classify(sdkError(name, status));
    expect(error.permanent).toBe(permanent);
    expect(error.message).toContain(name);
  });
});

describe("the AgentCore client's retries", () => {
  const SESSION = sessionIdFor("01M80A6R8REXYA6GNV4VJ8FN8P");
  const ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/conveyor_test-abc";
  const fast: RetryPolicy = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20, budgetMs: 10_000 };
  let server: Server;
  let answers: number[];
  /** Every request the stand-in saw: its path and its session header. */
  let seen: { url: string; session: string | undefined }[];

  beforeAll(async () => {
    // A stand-in for AgentCore's data plane: answers the next status of `answers` (200 when none
    // is left), errors as the SDK parses them.
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        seen.push({
          url: req.url ?? "",
          session: req.headers["x-amzn-bedrock-agentcore-runtime-session-id"] as string | undefined,
        });
        const status = answers.shift() ?? 200;
        if (status === 0) return; // never answers
        const type =
          status === 429
            ? "ThrottlingException"
            : status >= 500
              ? "ServiceUnavailableException"
              : "ValidationException";
        res.writeHead(status, {
          "content-type": "application/json",
          ...(status === 200 ? {} : { "x-amzn-errortype": type }),
        });
        res.end(JSON.stringify(status === 200 ? { status: "started" } : { message: `answered ${status}` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    answers = [];
    seen = [];
  });

  const runtime = (policy: RetryPolicy = fast, runtimeArn = ARN) => {
    const { port } = server.address() as AddressInfo;
    const config = {
      ...Config.fromEnv({}, []),
      runtimeArn,
      endpoints: { agentcore: `http://127.0.0.1:${port}` },
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    };
    return agentCoreRuntime(config, policy);
  };

  it("retries throttles and unavailable answers, then starts the session once it answers", async () => {
    answers = [429, 503, 429];
    await runtime().invoke(SESSION, { kind: "start", taskId: "t" });
    expect(seen).toHaveLength(4);
    expect(seen.every((s) => s.url.endsWith("/invocations") && s.session === SESSION)).toBe(true);
  });

  it("gives up after its attempts with a transient error, for the queue to redeliver", async () => {
    answers = [503, 503, 503, 503, 503];
    const error = await runtime()
      .invoke(SESSION, { kind: "start", taskId: "t" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).toMatchObject({ permanent: false, status: 503 });
    expect(seen).toHaveLength(fast.attempts);
  });

  it("does not retry a permanent error", async () => {
    answers = [400];
    await expect(runtime().invoke(SESSION, { kind: "start", taskId: "t" })).rejects.toMatchObject({
      permanent: true,
      status: 400,
    });
    expect(seen).toHaveLength(1);
  });

  it("stops within its budget when the runtime does not answer", async () => {
    answers = [0, 0, 0, 0];
    const started = Date.now();
    await expect(
      runtime({ ...fast, budgetMs: 300 }).invoke(SESSION, { kind: "start", taskId: "t" }),
    ).rejects.toMatchObject({ permanent: false, message: expect.stringContaining("300 ms") });
    // The budget bounds the call; the slack is only for a busy machine.
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it("keeps the default budget well under the dispatcher's 30 s, with room for one slow boot", () => {
    expect(RUNTIME_RETRY.budgetMs).toBeLessThanOrEqual(15_000);
    expect(RUNTIME_RETRY.attempts).toBeGreaterThan(1);
  });

  it("refuses to invoke the placeholder runtime of a stage whose AgentRuntime is not set", async () => {
    const unset = runtime(fast, UNSET_RUNTIME_ARN);
    await expect(unset.invoke(SESSION, { kind: "start", taskId: "t" })).rejects.toMatchObject({
      permanent: true,
      message: expect.stringContaining("sst secret set AgentRuntime"),
    });
    await unset.stop(SESSION);
    expect(seen).toHaveLength(0);
  });
});
