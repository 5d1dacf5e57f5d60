/**
 * The reference agent process: the AgentCore contract server running the scripted
 * brain. Configuration comes from CONVEYOR_* variables (an AgentCore container has no SST links).
 */
import { Config } from "@conveyor/core/config";
import { createCore } from "@conveyor/core/core";
import { scripted } from "./scripted.ts";
import { serveAgent } from "./server.ts";

const core = createCore(Config.fromEnv());
const agent = await serveAgent(core, scripted(), {
  port: Number(process.env.PORT ?? 8080),
  host: process.env.HOST ?? "0.0.0.0",
});
console.error(JSON.stringify({ level: "info", msg: "agent listening", port: agent.port }));

const stop = () => {
  agent.close().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
