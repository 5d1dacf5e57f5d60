export { claude } from "./brain.ts";
export { ClaudeConfig, type ModelEndpoint } from "./config.ts";
export { cliEnv } from "./env.ts";
export { type ToolDecision, toolPolicy } from "./policy.ts";
export { cloneUrl, GitError, Workspace } from "./workspace.ts";
