import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Core } from "@conveyor/core/core";
import { logger } from "@conveyor/core/log";
import * as v from "valibot";
import { Bell } from "./approvals.ts";
import { Interrupts } from "./interrupts.ts";
import { type Brain, runTask } from "./run.ts";

const Payload = v.object({
  kind: v.picklist(["start", "nudge", "cancel", "approval"]),
  taskId: v.string(),
  /** A nudge's mode: `interrupt` wakes the brain mid-turn; `queue` (or none) waits for the boundary. */
  mode: v.optional(v.picklist(["queue", "interrupt"])),
});

export interface AgentServer {
  server: Server;
  port: number;
  /** Tasks this instance is running now. */
  running(): string[];
  close(): Promise<void>;
}

/**
 * The AgentCore HTTP contract: `POST /invocations` answers at once and runs the
 * task in the background (start is idempotent per taskId); `GET /ping` says
 * `HealthyBusy` while anything runs, so the session is not reclaimed as idle.
 *
 * @example
 * const agent = await serveAgent(createCore(Config.fromEnv()), scripted(), { port: 8080 });
 */
export async function serveAgent(
  core: Core,
  brain: Brain,
  opts: { port?: number; host?: string } = {},
): Promise<AgentServer> {
  const runs = new Map<
    string,
    { controller: AbortController; bell: Bell; interrupts: Interrupts; done: Promise<unknown> }
  >();
  const started = new Set<string>();
  let lastUpdate = Math.floor(Date.now() / 1000);

  function start(taskId: string) {
    if (started.has(taskId)) return "already_started";
    started.add(taskId);
    const controller = new AbortController();
    const bell = new Bell();
    const interrupts = new Interrupts();
    const done = runTask(core, taskId, brain, { signal: controller.signal, bell, interrupts })
      .catch((error) => logger.error("run failed", { taskId, error: String(error) }))
      .finally(() => {
        runs.delete(taskId);
        lastUpdate = Math.floor(Date.now() / 1000);
      });
    runs.set(taskId, { controller, bell, interrupts, done });
    lastUpdate = Math.floor(Date.now() / 1000);
    return "started";
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    // AgentCore may add a query string (`/invocations?...`): route on the path alone.
    const path = new URL(req.url ?? "/", "http://agent").pathname;
    if (req.method === "GET" && path === "/ping") {
      return reply(200, {
        status: runs.size > 0 ? "HealthyBusy" : "Healthy",
        time_of_last_update: lastUpdate,
      });
    }
    if (req.method === "POST" && path === "/invocations") {
      let payload: v.InferOutput<typeof Payload>;
      try {
        payload = v.parse(Payload, JSON.parse(await readBody(req)));
      } catch (error) {
        return reply(400, { error: `Invalid payload: ${(error as Error).message}` });
      }
      if (payload.kind === "start") return reply(200, { status: start(payload.taskId) });
      const run = runs.get(payload.taskId);
      // Nudges and cancels for a task this instance does not run are ignored (DESIGN §12.3).
      if (!run) return reply(200, { status: "not_running" });
      if (payload.kind === "cancel") run.controller.abort(new Error("cancelled"));
      // A decision: the waiting gate re-reads its approval now rather than at the next heartbeat.
      if (payload.kind === "approval") run.bell.ring();
      // A queued nudge waits in the inbox for the turn boundary; an interrupt wakes the brain now.
      if (payload.kind === "nudge" && payload.mode === "interrupt") run.interrupts.ring();
      return reply(200, { status: "accepted" });
    }
    reply(404, { error: "not found" });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      logger.error("request failed", { error: String(error) });
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8080, opts.host ?? "127.0.0.1", resolve);
  });
  const address = server.address();
  return {
    server,
    port: typeof address === "object" && address ? address.port : (opts.port ?? 8080),
    running: () => [...runs.keys()],
    async close() {
      for (const run of runs.values()) run.controller.abort(new Error("shutting down"));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function readBody(req: IncomingMessage, max = 256 * 1024): Promise<string> {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > max) throw new Error("payload too large");
  }
  return body;
}
