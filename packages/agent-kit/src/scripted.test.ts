import { taskLogger } from "@conveyor/core/log";
import type { Task } from "@conveyor/core/task";
import { describe, expect, it } from "vitest";
import { Interrupts } from "./interrupts.ts";
import type { Progress } from "./progress.ts";
import type { AgentContext } from "./run.ts";
import { scripted } from "./scripted.ts";

/** Runs the scripted brain on a task of `turns` turns, recording the milestones it writes. */
async function run(
  turns: number,
  maxTurns = 100,
  extra: {
    options?: Record<string, number>;
    approvals?: AgentContext["approvals"];
    nudges?: AgentContext["nudges"];
    interrupts?: Interrupts;
    onTurnStart?: () => void;
  } = {},
) {
  const milestones: string[] = [];
  const turnTexts: string[] = [];
  const progress = {
    milestone: async (name: string, detail?: string) => void milestones.push(`${name}: ${detail}`),
    turn: async (_turn: number, text: string) => void turnTexts.push(text),
    toolCall: async () => "call",
    toolResult: async () => {},
    cost: async () => {},
  } as unknown as Progress;
  const task: Task.Info = {
    taskId: "01J00000000000000000000000",
    tenantId: "t",
    userId: "u",
    status: "RUNNING",
    version: 1,
    rev: 1,
    repo: "acme/api",
    description: "add a health check",
    maxTurns,
    maxBudgetUsd: 10,
    options: { turns, stepMs: 0, ...extra.options },
    source: "cli",
    runtimeSessionId: "conveyor-task-01J00000000000000000000000",
    turns: 0,
    costUsd: 0,
    createdAt: 0,
    updatedAt: 0,
  };
  const ctx: AgentContext = {
    task,
    progress,
    signal: new AbortController().signal,
    nudges: extra.nudges ?? { take: async () => [] },
    interrupts: extra.interrupts ?? new Interrupts(),
    approvals: extra.approvals ?? {
      request: async () => {
        throw new Error("no gate expected");
      },
    },
    log: taskLogger(task.taskId),
  };
  return { result: await scripted()(ctx).catch((error: Error) => error), milestones, turnTexts };
}

describe("the scripted brain and interrupt-mode nudges", () => {
  it("cuts its current sleep short and acts on the nudge in that turn", async () => {
    const interrupts = new Interrupts();
    let pending = [
      { taskId: "t", nudgeId: "n1", message: "stop and look at the logs", mode: "interrupt" as const },
    ];
    const taken: string[] = [];
    // A step of a minute (the longest allowed): only the interrupt ends it within the test's time.
    const running = run(1, 100, {
      options: { stepMs: 60_000 },
      interrupts,
      nudges: {
        take: async () => {
          const now = pending.map((n) => ({ ...n, status: "consumed" as const, createdAt: 0 }));
          pending = [];
          taken.push(...now.map((n) => n.nudgeId));
          return now;
        },
      },
    });
    // Ring once the brain is asleep in its step (its listener is registered).
    while ((interrupts as unknown as { listeners: Set<unknown> }).listeners.size === 0)
      await new Promise((resolve) => setTimeout(resolve, 5));
    interrupts.ring();
    const { result, turnTexts } = await running;
    expect(result).toMatchObject({ summary: "Done: add a health check (1 turn)" });
    expect(taken).toEqual(["n1"]);
    expect(turnTexts[0]).toContain('acting on nudge: "stop and look at the logs"');
  }, 20_000);
});

describe("the scripted brain's words", () => {
  it("counts one turn as one turn", async () => {
    const { result, milestones } = await run(1);

    expect(result).toMatchObject({ summary: "Done: add a health check (1 turn)" });
    expect(milestones[0]).toBe('plan: Plan for "add a health check" in 1 turn');
  });

  it("counts several turns as turns", async () => {
    const { result } = await run(3);

    expect(result).toMatchObject({ summary: "Done: add a health check (3 turns)" });
  });

  it("names a limit of one turn in the singular", async () => {
    const { result } = await run(2, 1);

    expect(result).toMatchObject({ reason: "max_turns", message: "Reached the task's limit of 1 turn" });
  });

  it("asks at `approveAt` with the scripted action and says in that turn what was decided", async () => {
    const asked: { action: string; detail: string; timeoutS?: number }[] = [];
    const { result, turnTexts } = await run(3, 100, {
      options: { approveAt: 2, approvalTimeoutS: 45 },
      approvals: {
        request: async (input) => {
          asked.push(input);
          return { decision: "deny", by: "u2", comment: "not now" };
        },
      },
    });

    expect(result).toMatchObject({ summary: "Done: add a health check (3 turns)" });
    expect(asked).toEqual([{ action: "scripted", detail: expect.stringContaining("turn 2"), timeoutS: 45 }]);
    expect(turnTexts[1]).toContain("denied by u2");
    expect(turnTexts[0]).not.toContain("denied");
  });
});
