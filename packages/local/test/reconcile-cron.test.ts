import { Actor } from "@conveyor/core/actor";
import { Task } from "@conveyor/core/task";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { sleep, startTestStack } from "./harness.ts";

/** The JSON lines that reached the terminal. */
const lines = (spy: { mock: { calls: unknown[][] } }) =>
  spy.mock.calls.flatMap(([line]) => {
    try {
      return typeof line === "string" ? [JSON.parse(line) as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });

async function until(what: string, condition: () => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("the local reconciler's cron", () => {
  let stack: LocalStack;
  const logged: Record<string, unknown>[] = [];
  // Installed before the stack, so they see only what the stack lets through to the console.
  const out = vi.spyOn(console, "log");
  const err = vi.spyOn(console, "error");

  beforeAll(async () => {
    stack = await startTestStack({
      dispatch: false,
      reconcileMs: 100,
      // A submitted task nobody dispatches is stranded at once: work for every run after.
      limits: { strandedRetryMs: 0 },
      log: (entry) => logged.push(entry),
    });
  });
  afterAll(async () => {
    await stack?.stop();
    out.mockRestore();
    err.mockRestore();
  });

  it("says nothing while idle, and one line when a run fixed something", async () => {
    await until("three idle runs", () => (stack.reconciler?.runs() ?? 0) >= 3);
    const summaries = (msg: string) => [...lines(out), ...lines(err)].filter((l) => l.msg === msg);
    expect(summaries("reconcile")).toEqual([]);
    expect(summaries("status comments reconciled")).toEqual([]);
    expect(logged.filter((l) => l.msg === "reconcile")).toEqual([]);

    await Actor.provide({ type: "user", tenantId: "local", userId: "dev" }, () =>
      Task.submit(stack.core, { repo: "acme/api", description: "stranded" }),
    );
    await until("a logged fix", () => logged.some((l) => l.msg === "reconcile"));
    expect(logged.find((l) => l.msg === "reconcile")).toEqual({
      level: "info",
      msg: "reconcile",
      fixed: { stranded_requeued: 1 },
    });
    expect(summaries("reconcile")).toEqual([]);
  });
});
