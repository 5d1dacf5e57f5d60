import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "@conveyor/cli/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../src/stack.ts";
import { apiClient, sleep, startTestStack } from "./harness.ts";

describe("status comments without a GitHub token", () => {
  let stack: LocalStack;
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    // Short windows and fast stream reads so the test waits milliseconds; it measures no latency.
    stack = await startTestStack({ githubBatchingWindowMs: 100, streamPollMs: 25, reconcileMs: 0 });
    api = apiClient(stack.apiUrl, stack.token);
  });
  afterAll(() => stack?.stop());

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, {
      stdout: (s) => out.push(s),
      stderr: (s) => err.push(s),
      env: { CONVEYOR_STATE_DIR: stack.stateDir },
      cwd: process.cwd(),
    });
    return { code, stdout: out.join(""), stderr: err.join("") };
  }

  it("writes each render to <stateDir>/comments/<taskId>.md, which `conveyor status --comment` prints", async () => {
    const submitted = await api.submit({
      repo: "acme/api",
      description: "Render me locally",
      prNumber: 7,
      options: { turns: 2, stepMs: 20 },
    });
    const taskId: string = submitted.body.task.taskId;
    await api.waitFor(taskId, ["COMPLETED"]);
    const dir = join(stack.stateDir, "comments");
    const file = join(dir, `${taskId}.md`);
    const deadline = Date.now() + 15_000;
    while (!(existsSync(file) && readFileSync(file, "utf8").includes("**COMPLETED**"))) {
      if (Date.now() > deadline) throw new Error("no terminal render on disk");
      await sleep(25);
    }
    const body = readFileSync(file, "utf8");
    expect(body.startsWith(`<!-- conveyor:task=${taskId} -->`)).toBe(true);
    // Written atomically: no temp file is left beside it.
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);

    const printed = await cli("status", taskId, "--comment");
    expect(printed.code).toBe(0);
    expect(printed.stdout.trimEnd()).toBe(body.trimEnd());
  });

  it("says why when there is no comment to print, and refuses what is not a task id", async () => {
    const submitted = await api.submit({
      repo: "acme/api",
      description: "no PR",
      options: { turns: 1, stepMs: 0 },
    });
    const none = await cli("status", submitted.body.task.taskId, "--comment");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("No status comment for");
    const bad = await cli("status", "../../etc/passwd", "--comment");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Not a task id");
  });
});
