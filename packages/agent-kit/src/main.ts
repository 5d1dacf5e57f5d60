/**
 * The agent process: the AgentCore contract server running each task on its brain
 * (`options.brain`, else CONVEYOR_BRAIN, else the scripted one). Configuration comes from
 * CONVEYOR_* variables (an AgentCore container has no SST links) and is read once, here.
 */
import { Config } from "@conveyor/core/config";
import { createCore } from "@conveyor/core/core";
import { logger } from "@conveyor/core/log";
import { ClaudeConfig, claude } from "./claude/index.ts";
import { scripted } from "./scripted.ts";
import { defaultBrain, selectBrain } from "./select.ts";
import { serveAgent } from "./server.ts";

const core = createCore(Config.fromEnv());
const brain = selectBrain(
  { scripted: scripted(), claude: claude(ClaudeConfig.fromEnv(), core.github) },
  defaultBrain(),
);
const agent = await serveAgent(core, brain, {
  port: Number(process.env.PORT ?? 8080),
  host: process.env.HOST ?? "0.0.0.0",
});
logger.info("agent listening", { port: agent.port });

const stop = () => {
  agent.close().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
