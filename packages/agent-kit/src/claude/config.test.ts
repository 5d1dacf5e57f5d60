import { describe, expect, it } from "vitest";
import { ClaudeConfig } from "./config.ts";
import { cliEnv } from "./env.ts";

describe("ClaudeConfig.fromEnv", () => {
  it("has no model without credentials, and says what to set", () => {
    const config = ClaudeConfig.fromEnv({ PATH: "/bin" });
    expect(config.model).toBeUndefined();
    expect(ClaudeConfig.MISSING_MODEL).toMatch(
      /ANTHROPIC_API_KEY.*ANTHROPIC_BASE_URL.*CLAUDE_CODE_USE_BEDROCK=1/s,
    );
  });

  it("reads the Anthropic API, any base URL, or Bedrock with its region and credentials", () => {
    expect(ClaudeConfig.fromEnv({ ANTHROPIC_API_KEY: "k" }).model).toEqual({ kind: "anthropic" });
    expect(ClaudeConfig.fromEnv({ ANTHROPIC_BASE_URL: "http://127.0.0.1:9" }).model).toEqual({
      kind: "anthropic",
      baseUrl: "http://127.0.0.1:9",
    });
    const bedrock = ClaudeConfig.fromEnv({
      CLAUDE_CODE_USE_BEDROCK: "1",
      AWS_REGION: "us-west-2",
      ANTHROPIC_MODEL: "us.anthropic.claude-sonnet-4",
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
    });
    expect(bedrock.model).toEqual({ kind: "bedrock", model: "us.anthropic.claude-sonnet-4" });
    expect(bedrock.modelEnv).toMatchObject({
      CLAUDE_CODE_USE_BEDROCK: "1",
      AWS_REGION: "us-west-2",
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
    });
  });

  it("refuses malformed values at entry", () => {
    expect(() => ClaudeConfig.fromEnv({ ANTHROPIC_BASE_URL: "not a url" })).toThrow();
    expect(() => ClaudeConfig.fromEnv({ CONVEYOR_MODEL_MAX_RETRIES: "many" })).toThrow();
  });
});

describe("cliEnv", () => {
  it("hands the CLI PATH, its own HOME and the model settings, and nothing of Conveyor's or GitHub's", () => {
    const config = ClaudeConfig.fromEnv({
      PATH: "/usr/bin",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
      ANTHROPIC_API_KEY: "k",
      AWS_ACCESS_KEY_ID: "local",
      CONVEYOR_TASKS_TABLE: "tasks",
      CONVEYOR_GITHUB_TOKEN: "ghp_secret",
      GITHUB_TOKEN: "ghp_other",
      SST_RESOURCE_GitHubToken: "{}",
      CONVEYOR_MODEL_MAX_RETRIES: "2",
    });
    const env = cliEnv(config, "/scratch/home");
    expect(env).toEqual({
      PATH: "/usr/bin",
      HOME: "/scratch/home",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
      ANTHROPIC_API_KEY: "k",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      CLAUDE_CODE_MAX_RETRIES: "2",
      GIT_TERMINAL_PROMPT: "0",
    });
    expect(JSON.stringify(env)).not.toContain("ghp_");
  });
});
