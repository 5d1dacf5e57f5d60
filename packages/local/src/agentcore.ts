import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Config, Config as ConfigNs } from "@conveyor/core/config";
import { bundleAgent } from "./agent-bundle.ts";
import { stopChild } from "./dynamo.ts";
import { claimPort } from "./ports.ts";

const require = createRequire(import.meta.url);
const SESSION_HEADER = "x-amzn-bedrock-agentcore-runtime-session-id";
/**
 * How long a new session may take to answer /ping. A bundled agent answers in a fraction of a
 * second; the budget holds for a burst of sessions on a machine several times slower than a laptop.
 */
const PING_BUDGET_MS = 60_000;

export interface AgentCoreEmulatorOptions {
  port: number;
  config: Config;
  /** Where each session's agent writes its log. */
  logDir: string;
  /** A session whose agent reports `Healthy` (idle) this long is stopped, as AgentCore does. */
  idleMs?: number;
  /** More environment for every agent process (the brain, the model endpoint, the git base). */
  agentEnv?: Record<string, string>;
  /** Test hook: answer an invoke with this status instead of reaching the agent. */
  fault?: (sessionId: string, payload: unknown) => number | undefined;
}

interface Session {
  id: string;
  child: ChildProcess;
  port: number;
  ready: Promise<void>;
  idleSince?: number;
}

/**
 * The AgentCore data plane, emulated for `@aws-sdk/client-bedrock-agentcore`:
 * `POST /runtimes/{arn}/invocations` routes each runtime session id to its own agent
 * process (session affinity), started on first use; `POST /runtimes/{arn}/stopruntimesession`
 * ends it. Errors are answered the way the SDK parses them (x-amzn-errortype + message).
 * Each session is its own `node` process running the agent bundled once at start, so it
 * answers /ping within a fraction of a second and dies alone.
 */
export async function startAgentCoreEmulator(opts: AgentCoreEmulatorOptions) {
  const sessions = new Map<string, Session>();
  const calls: { op: "invoke" | "stop"; sessionId: string; payload?: unknown }[] = [];
  const agentBundle = await bundleAgent({ entry: require.resolve("@conveyor/agent-kit/main") });
  mkdirSync(opts.logDir, { recursive: true });

  function spawnSession(id: string, port: number): Session {
    const log = createWriteStream(join(opts.logDir, `${id}.log`), { flags: "a" });
    const child = spawn(process.execPath, [agentBundle], {
      env: {
        ...process.env,
        ...ConfigNs.toEnv(opts.config),
        ...opts.agentEnv,
        // Agents open pull requests with the token, as CONVEYOR_GITHUB_TOKEN (never GITHUB_TOKEN,
        // which the model's tools could read); the SST link is the handlers' alone.
        SST_RESOURCE_GitHubToken: undefined,
        GITHUB_TOKEN: undefined,
        CONVEYOR_GITHUB_TOKEN: opts.config.github?.token,
        PORT: String(port),
        HOST: "127.0.0.1",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const session: Session = { id, child, port, ready: waitHealthy(port, child) };
    child.once("exit", () => {
      if (sessions.get(id) === session) sessions.delete(id);
    });
    return session;
  }

  async function session(id: string): Promise<Session> {
    let s = sessions.get(id);
    if (!s || s.child.exitCode !== null || s.child.signalCode !== null) {
      s = spawnSession(id, await claimPort(0, "agent session"));
      sessions.set(id, s);
    }
    await s.ready;
    return s;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const fail = (status: number, type: string, message: string) => {
      res.writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type });
      res.end(JSON.stringify({ message }));
    };
    const match = /^\/runtimes\/([^/]+)\/(invocations|stopruntimesession)(?:\?.*)?$/.exec(req.url ?? "");
    if (req.method !== "POST" || !match) return fail(404, "ResourceNotFoundException", "Unknown operation");
    const arn = decodeURIComponent(match[1]!);
    if (arn !== opts.config.runtimeArn)
      return fail(404, "ResourceNotFoundException", `No agent runtime ${arn}`);
    const sessionId = req.headers[SESSION_HEADER];
    if (typeof sessionId !== "string" || sessionId.length < 33 || sessionId.length > 256) {
      return fail(400, "ValidationException", "runtimeSessionId must be 33 to 256 characters");
    }
    const body = await readBody(req);

    if (match[2] === "stopruntimesession") {
      calls.push({ op: "stop", sessionId });
      const s = sessions.get(sessionId);
      if (!s) return fail(404, "ResourceNotFoundException", `No session ${sessionId}`);
      sessions.delete(sessionId);
      await stopChild(s.child);
      res.writeHead(200, { "content-type": "application/json", [SESSION_HEADER]: sessionId });
      return res.end(JSON.stringify({ runtimeSessionId: sessionId, statusCode: 200 }));
    }

    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return fail(400, "ValidationException", "Payload is not JSON");
    }
    calls.push({ op: "invoke", sessionId, payload });
    const injected = opts.fault?.(sessionId, payload);
    if (injected) {
      const type =
        injected === 429
          ? "ThrottlingException"
          : injected >= 500
            ? "InternalServerException"
            : "ValidationException";
      return fail(injected, type, `Injected failure ${injected}`);
    }
    let s: Session;
    try {
      s = await session(sessionId);
    } catch (error) {
      return fail(500, "RuntimeClientError", `Agent did not start: ${(error as Error).message}`);
    }
    s.idleSince = undefined;
    const answer = await fetch(`http://127.0.0.1:${s.port}/invocations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const text = await answer.text();
    res.writeHead(answer.status, { "content-type": "application/json", [SESSION_HEADER]: sessionId });
    res.end(text);
  }

  const port = await claimPort(opts.port, "the AgentCore emulator");
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) {
        res.writeHead(500, {
          "x-amzn-errortype": "InternalServerException",
          "content-type": "application/json",
        });
        res.end(JSON.stringify({ message: String(error) }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });

  // Reclaim idle sessions like AgentCore's idle timeout, so a long local run does not pile up processes.
  const idleMs = opts.idleMs ?? 60_000;
  const reaper = setInterval(
    async () => {
      for (const s of sessions.values()) {
        const status = await ping(s.port).catch(() => undefined);
        if (status !== "Healthy") {
          s.idleSince = undefined;
          continue;
        }
        s.idleSince ??= Date.now();
        if (Date.now() - s.idleSince >= idleMs && sessions.get(s.id) === s) {
          sessions.delete(s.id);
          await stopChild(s.child);
        }
      }
    },
    Math.min(5_000, idleMs),
  );
  reaper.unref();

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    sessions: () => [...sessions.keys()],
    /** The agent process of a session, for tests that kill it. */
    pidOf: (sessionId: string) => sessions.get(sessionId)?.child.pid,
    /** Every live agent process (benchmarks measure their memory). */
    pids: () =>
      [...sessions.values()].map((s) => s.child.pid).filter((pid): pid is number => pid !== undefined),
    async stop() {
      clearInterval(reaper);
      server.closeAllConnections();
      await Promise.all([
        new Promise((resolve) => server.close(resolve)),
        ...[...sessions.values()].map((s) => stopChild(s.child)),
      ]);
      sessions.clear();
    },
  };
}

export type AgentCoreEmulator = Awaited<ReturnType<typeof startAgentCoreEmulator>>;

async function ping(port: number): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(1_000) });
  return ((await res.json()) as { status?: string }).status;
}

async function waitHealthy(port: number, child: ChildProcess, timeoutMs = PING_BUDGET_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`agent exited (${child.exitCode ?? child.signalCode})`);
    if (await ping(port).catch(() => undefined)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`agent did not answer /ping within ${timeoutMs} ms`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of req) body += chunk;
  return body;
}
