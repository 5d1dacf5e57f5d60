import type { ClaudeConfig } from "./config.ts";

/**
 * The whole environment of the Claude Code CLI (the SDK's `env` replaces, never merges):
 * PATH, a per-run HOME, the model's settings and a bounded retry count. Nothing of
 * Conveyor's (CONVEYOR_*, SST_RESOURCE_*), no GitHub token: the agent's Bash sees this too.
 */
export function cliEnv(config: ClaudeConfig, home: string): Record<string, string> {
  return {
    PATH: config.path,
    HOME: home,
    ...config.modelEnv,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    // 429/529/5xx: retried with the CLI's backoff this many times, then the turn ends on the error.
    CLAUDE_CODE_MAX_RETRIES: String(config.maxRetries),
    // git inside the agent's commands never waits for a password.
    GIT_TERMINAL_PROMPT: "0",
  };
}
