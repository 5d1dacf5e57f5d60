import type { Core } from "@conveyor/core/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentServer, serveAgent } from "./server.ts";

describe("the AgentCore HTTP contract", () => {
  let agent: AgentServer;
  const url = (path: string) => `http://127.0.0.1:${agent.port}${path}`;
  // No task is started here, so the server never reaches its Core or its brain.
  beforeAll(async () => {
    agent = await serveAgent({} as Core, {} as never, { port: 0 });
  });
  afterAll(() => agent.close());

  const invoke = (path: string) =>
    fetch(url(path), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "nudge", taskId: "01M80A6R8REXYA6GNV4VJ8FN8P" }),
    });

  it("routes /invocations and /ping on the path, with or without a query string", async () => {
    for (const path of ["/invocations", "/invocations?qualifier=DEFAULT"]) {
      const answer = await invoke(path);
      expect(answer.status, path).toBe(200);
      expect(await answer.json()).toEqual({ status: "not_running" });
    }
    const ping = await fetch(url("/ping?probe=1"));
    expect(ping.status).toBe(200);
    expect(await ping.json()).toMatchObject({ status: "Healthy" });
  });

  it("answers 404 to other paths", async () => {
    expect((await invoke("/invocations/extra")).status).toBe(404);
    expect((await fetch(url("/other?x=/ping"))).status).toBe(404);
  });
});
