import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { runCli } from "./cli-driver.ts";
import { startTestStack } from "./harness.ts";

/** The CLI in-process against the live stack, colourless; `answer` types a line at the inline question. */
const conveyor = (
  stack: LocalStack,
  opts: { answer?: string; live?: { stderr: string } },
  ...argv: string[]
) =>
  runCli(stack, argv, {
    answer: opts.answer,
    live: opts.live,
    env: { CONVEYOR_API_URL: stack.apiUrl, CONVEYOR_TOKEN: stack.token, NO_COLOR: "1" },
  });

/** A scripted task that asks at its first turn. */
const GATED = [
  "--repo",
  "acme/api",
  "--option",
  "turns=2",
  "--option",
  "stepMs=10",
  "--option",
  "approveAt=1",
];

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("approvals from the CLI against the local stack", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it("run on a terminal asks inline; yes approves and the task completes", async () => {
    const res = await conveyor(stack, { answer: "y" }, "run", "gated yes", ...GATED);
    expect(res.code, res.stderr).toBe(0);
    expect(res.asked).toHaveLength(1);
    const out = res.stdout + res.stderr;
    expect(out).toMatch(/Allow `.+`\? \[y\/N\]/);
    expect(out).toMatch(/approved by /);
    expect(out).toContain("COMPLETED");
  });

  it("an empty answer denies, and the run goes on to its end", async () => {
    const res = await conveyor(stack, { answer: "" }, "run", "gated no", ...GATED);
    expect(res.asked).toHaveLength(1);
    expect(res.stdout + res.stderr).toMatch(/denied by /);
  });

  it("without a terminal run prints the commands; approvals lists it and approve answers it", async () => {
    const live = { stderr: "" };
    const running = conveyor(stack, { live }, "run", "gated later", ...GATED, "--output", "json");
    // Answered only once the run has printed its commands: answered earlier, a run that starts
    // watching late (a loaded machine) rightly prints none for an approval already decided.
    const [, taskId, approvalId] = await until(
      async () => /approve (\S+) (\S+)/.exec(live.stderr) ?? undefined,
      "the run's approve command",
    );
    const list = await conveyor(stack, {}, "approvals", "--pending", "--output", "json");
    expect(list.code, list.stderr).toBe(0);
    const { approvals } = JSON.parse(list.stdout) as {
      approvals: { taskId: string; approvalId: string; detail: string }[];
    };
    const pending = approvals.find((a) => a.taskId === taskId && a.approvalId === approvalId);
    if (!pending) throw new Error("the run's approval is not listed as pending");
    expect(pending.detail.length).toBeGreaterThan(0);

    const approved = await conveyor(stack, {}, "approve", pending.taskId, "--comment", "looks fine");
    expect(approved.code, approved.stderr).toBe(0);
    // A second answer is refused in words, naming who answered first.
    const again = await conveyor(stack, {}, "deny", pending.taskId, pending.approvalId);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already|approved/i);

    const res = await running;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(`approve ${pending.taskId} ${pending.approvalId}`);
    const decided = res.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .find((e) => e.type === "approval.decided");
    expect(decided?.data).toMatchObject({
      approvalId: pending.approvalId,
      decision: "approve",
      comment: "looks fine",
    });
  });

  it("approve for an unknown task says there is no such task of theirs", async () => {
    const res = await conveyor(stack, {}, "approve", "01JZZZZZZZZZZZZZZZZZZZZZZZ");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("No task 01JZZZZZZZZZZZZZZZZZZZZZZZ (or it is not yours)");
  });
});
