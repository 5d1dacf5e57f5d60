import { AgentFailure, type Brain } from "./run.ts";

export const BRAINS = ["scripted", "claude"] as const;
export type BrainName = (typeof BRAINS)[number];

/** The stack-wide default (`CONVEYOR_BRAIN`), or the scripted brain. */
export function defaultBrain(env: Record<string, string | undefined> = process.env): BrainName {
  const name = env.CONVEYOR_BRAIN || "scripted";
  if (!(BRAINS as readonly string[]).includes(name)) {
    throw new Error(`CONVEYOR_BRAIN must be one of ${BRAINS.join(", ")}, got ${name}`);
  }
  return name as BrainName;
}

/**
 * One brain per task: `options.brain` when the task names one, else the default.
 *
 * @example serveAgent(core, selectBrain({ scripted: scripted(), claude: claude(config, core.github) }, "scripted"))
 */
export function selectBrain(brains: Record<BrainName, Brain>, fallback: BrainName): Brain {
  return async (ctx) => {
    const asked = ctx.task.options?.brain;
    if (asked !== undefined && !(BRAINS as readonly unknown[]).includes(asked)) {
      throw new AgentFailure(
        "agent_error",
        `Unknown brain ${String(asked)}: use one of ${BRAINS.join(", ")}`,
      );
    }
    return brains[(asked as BrainName | undefined) ?? fallback](ctx);
  };
}
