import { describe, expect, it } from "vitest";
import { ClaudeConfig, claude } from "./claude/index.ts";
import { type AgentContext, AgentFailure, type Brain } from "./run.ts";
import { defaultBrain, selectBrain } from "./select.ts";

const ctx = (options: Record<string, string | number | boolean>) =>
  ({ task: { taskId: "01JBQ7ZK3M4N5P6Q7R8S9T0V1W", repo: "acme/api", options } }) as unknown as AgentContext;
const named =
  (name: string): Brain =>
  async () => ({ summary: name });

describe("selectBrain", () => {
  const brain = selectBrain({ scripted: named("scripted"), claude: named("claude") }, "scripted");

  it("runs the brain a task names, else the default", async () => {
    expect(await brain(ctx({ brain: "claude" }))).toEqual({ summary: "claude" });
    expect(await brain(ctx({ turns: 3 }))).toEqual({ summary: "scripted" });
  });

  it("fails a task that names an unknown brain", async () => {
    await expect(brain(ctx({ brain: "gpt" }))).rejects.toThrow(/Unknown brain gpt/);
  });

  it("takes the stack-wide default from CONVEYOR_BRAIN, refusing a typo at start", () => {
    expect(defaultBrain({})).toBe("scripted");
    expect(defaultBrain({ CONVEYOR_BRAIN: "claude" })).toBe("claude");
    expect(() => defaultBrain({ CONVEYOR_BRAIN: "claud" })).toThrow(/CONVEYOR_BRAIN/);
  });
});

describe("the claude brain without model credentials", () => {
  it("fails at once saying what to set, before touching GitHub or git", async () => {
    const untouched = new Proxy({} as Parameters<typeof claude>[1], {
      get: () => {
        throw new Error("GitHub was used");
      },
    });
    const run = claude(ClaudeConfig.fromEnv({ PATH: "/nonexistent" }), untouched)(ctx({ brain: "claude" }));
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentFailure);
    expect(error).toMatchObject({ reason: "agent_error", message: ClaudeConfig.MISSING_MODEL });
  });
});
