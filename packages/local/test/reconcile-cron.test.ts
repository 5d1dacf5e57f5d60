import { Actor } from "@conveyor/core/actor";
import { logger } from "@conveyor/core/log";
import { Task } from "@conveyor/core/task";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { sleep, startTestStack } from "./harness.ts";

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
  // Spies that let every line through: they record what the handlers logged, and at which level.
  const spies = {
    debug: vi.spyOn(logger, "debug"),
    info: vi.spyOn(logger, "info"),
    warn: vi.spyOn(logger, "warn"),
    error: vi.spyOn(logger, "error"),
  };
  type Level = keyof typeof spies;
  /** The extra keys of each line named `msg` logged at these levels. */
  const lines = (msg: string, at: readonly Level[]) =>
    at.flatMap((level) =>
      spies[level].mock.calls.filter(([m]) => m === msg).map(([, extra]) => extra as Record<string, unknown>),
    );
  const printed: Level[] = ["info", "warn", "error"];

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
    for (const spy of Object.values(spies)) spy.mockRestore();
  });

  it("says nothing while idle, and one line when a run fixed something", async () => {
    await until("three idle runs", () => (stack.reconciler?.runs() ?? 0) >= 3);
    // Summaries of idle runs are debug lines: below the default level (INFO), printed only on demand.
    expect(lines("reconcile", ["debug"]).length).toBeGreaterThanOrEqual(3);
    expect(lines("reconcile", printed)).toEqual([]);
    expect(lines("status comments reconciled", printed)).toEqual([]);
    expect(logged.filter((l) => l.msg === "reconcile" || l.msg === "reconcile threw")).toEqual([]);

    const runsBefore = stack.reconciler?.runs() ?? 0;
    await Actor.provide({ type: "user", tenantId: "local", userId: "dev" }, () =>
      Task.submit(stack.core, { repo: "acme/api", description: "stranded" }),
    );
    await until("a logged fix", () => lines("reconcile", printed).length > 0);
    // At INFO: it fixed something and nothing failed.
    const [first] = lines("reconcile", printed);
    expect(lines("reconcile", ["info"])[0]).toBe(first);
    expect(first).toMatchObject({ fixed: { stranded_requeued: 1 } });
    expect(Object.values(first?.failed as Record<string, number>).every((n) => n === 0)).toBe(true);
    // One line per run (the run under way may have logged before it is counted).
    const runsSince = (stack.reconciler?.runs() ?? 0) - runsBefore;
    expect(lines("reconcile", printed).length).toBeLessThanOrEqual(runsSince + 1);
    // The summary is the handler's own line: the cron adds none of its own.
    expect(logged.filter((l) => l.msg === "reconcile")).toEqual([]);
  });
});
