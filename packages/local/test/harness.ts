import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config, Limits } from "@conveyor/core/config";
import { type Core, createCore } from "@conveyor/core/core";
import type { TaskQueue } from "@conveyor/core/queue";
import { inject } from "vitest";
import { provision } from "../src/provision.ts";
import { type LocalStackOptions, startLocalStack } from "../src/stack.ts";

/** A fresh set of tables and queues on the shared emulators, under a unique prefix. */
export async function testConfig(limits: Partial<Limits> = {}): Promise<Config> {
  const { config } = await provision({
    dynamoEndpoint: inject("dynamoEndpoint"),
    sqsEndpoint: inject("sqsEndpoint"),
    prefix: `t${randomBytes(4).toString("hex")}-`,
    limits,
  });
  return config;
}

/** A queue port that records what was sent (for core tests that do not run a consumer). */
export function recordingQueue(): TaskQueue & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    async send(taskId) {
      sent.push(taskId);
    },
  };
}

export async function testCore(
  opts: { limits?: Partial<Limits> } & NonNullable<Parameters<typeof createCore>[1]> = {},
): Promise<Core> {
  return createCore(await testConfig(opts.limits), opts);
}

/** The whole local stack on the shared emulators: its own tables, queues, state dir and free ports. */
export async function startTestStack(
  opts: Omit<LocalStackOptions, "port" | "dynamoEndpoint" | "sqsEndpoint"> = {},
) {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "conveyor-test-"));
  return startLocalStack({
    visibilityTimeoutSeconds: 2,
    ...opts,
    port: 0,
    stateDir,
    dynamoEndpoint: inject("dynamoEndpoint"),
    sqsEndpoint: inject("sqsEndpoint"),
    prefix: `e${randomBytes(4).toString("hex")}-`,
  });
}

/** A small HTTP client for tests, speaking the API as any client would. */
export function apiClient(apiUrl: string, token?: string) {
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: test client, bodies are asserted on
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json, text };
  }
  return {
    call,
    submit: (body: unknown, headers?: Record<string, string>) => call("POST", "/v1/tasks", body, headers),
    task: (id: string) => call("GET", `/v1/tasks/${id}`),
    events: (id: string, query = "") => call("GET", `/v1/tasks/${id}/events${query}`),
    /** Pages through every event of a task. */
    async allEvents(id: string, limit = 100) {
      // biome-ignore lint/suspicious/noExplicitAny: see above
      const events: any[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await call(
          "GET",
          `/v1/tasks/${id}/events?limit=${limit}${after ? `&after=${after}` : ""}`,
        );
        if (page.status !== 200) throw new Error(`events: ${page.status} ${page.text}`);
        events.push(...page.body.events);
        if (page.body.events.length === 0 || !page.body.nextCursor) return events;
        after = page.body.nextCursor;
      }
    },
    /** Polls the task until it is in one of `statuses`. */
    async waitFor(id: string, statuses: string[], timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await call("GET", `/v1/tasks/${id}`);
        if (statuses.includes(res.body?.task?.status)) return res.body.task;
        if (res.status !== 200) throw new Error(`task ${id}: ${res.status} ${res.text}`);
        if (Date.now() > deadline)
          throw new Error(`task ${id} is ${res.body?.task?.status}, wanted ${statuses}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
