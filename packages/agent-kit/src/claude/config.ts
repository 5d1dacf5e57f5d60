import { tmpdir } from "node:os";
import * as v from "valibot";

/** Model settings handed to the Claude Code CLI unchanged, when set. */
const MODEL_VARS = ["ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_MODEL"] as const;
/** Bedrock's: the region and whatever credentials the runtime's role provides. */
const BEDROCK_VARS = [
  "CLAUDE_CODE_USE_BEDROCK",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION",
] as const;

const Text = v.pipe(v.string(), v.trim(), v.minLength(1));
const Env = v.object({
  PATH: v.optional(v.string(), "/usr/local/bin:/usr/bin:/bin"),
  CLAUDE_CODE_USE_BEDROCK: v.optional(v.picklist(["0", "1", "true", "false", ""])),
  ANTHROPIC_BASE_URL: v.optional(v.union([v.literal(""), v.pipe(v.string(), v.url())])),
  ANTHROPIC_API_KEY: v.optional(v.string()),
  ANTHROPIC_MODEL: v.optional(v.string()),
  /** How often the CLI retries a 429/529/5xx before the task fails `model_unavailable`. */
  CONVEYOR_MODEL_MAX_RETRIES: v.optional(
    v.pipe(v.string(), v.transform(Number), v.integer(), v.minValue(0), v.maxValue(10)),
    "4",
  ),
  /** `<base>/owner/name.git` is cloned instead of GitHub (a directory of bare repositories, locally). */
  CONVEYOR_GIT_BASE: v.optional(v.string()),
  CONVEYOR_GIT_AUTHOR_NAME: v.optional(Text, "Conveyor"),
  CONVEYOR_GIT_AUTHOR_EMAIL: v.optional(v.pipe(Text, v.email()), "conveyor@users.noreply.github.com"),
  CONVEYOR_GITHUB_TOKEN: v.optional(v.string()),
  GITHUB_API_URL: v.optional(v.pipe(v.string(), v.url())),
  /** Each task's workspace and the CLI's home live under here, removed when the run ends. */
  CONVEYOR_SCRATCH_DIR: v.optional(v.string()),
  /** The Claude Code binary, when not the one the SDK ships for this platform. */
  CONVEYOR_CLAUDE_EXECUTABLE: v.optional(v.string()),
});

/** Where the model is: Bedrock (in AWS), the Anthropic API, or any endpoint speaking its API. */
export type ModelEndpoint = { kind: "bedrock"; model?: string } | { kind: "anthropic"; baseUrl?: string };

export interface ClaudeConfig {
  /** Undefined without credentials: a `claude` task then fails at once, saying what to set. */
  model?: ModelEndpoint;
  /** The variables passed through to the CLI for the model (never Conveyor's or GitHub's). */
  modelEnv: Record<string, string>;
  maxRetries: number;
  path: string;
  gitBase?: string;
  gitAuthor: { name: string; email: string };
  github: { token?: string; apiUrl: string };
  scratchRoot: string;
  executable?: string;
}

export namespace ClaudeConfig {
  export const MISSING_MODEL =
    "No model is configured for the claude brain: set ANTHROPIC_API_KEY (the Anthropic API), " +
    "ANTHROPIC_BASE_URL (any endpoint speaking its Messages API), or CLAUDE_CODE_USE_BEDROCK=1 " +
    "with AWS_REGION and ANTHROPIC_MODEL (Bedrock).";

  /**
   * Read once at the agent's entry and passed down (a long run must not depend on the
   * environment staying as it was).
   *
   * @example ClaudeConfig.fromEnv({ ANTHROPIC_API_KEY: "sk-…", CONVEYOR_GIT_BASE: "/srv/git" })
   */
  export function fromEnv(env: Record<string, string | undefined> = process.env): ClaudeConfig {
    const raw = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
    const e = v.parse(Env, raw);
    const bedrock = e.CLAUDE_CODE_USE_BEDROCK === "1" || e.CLAUDE_CODE_USE_BEDROCK === "true";
    const pick = (names: readonly string[]) =>
      Object.fromEntries(names.flatMap((name) => (env[name] ? [[name, env[name] as string]] : [])));
    const modelEnv = { ...pick(MODEL_VARS), ...(bedrock ? pick(BEDROCK_VARS) : {}) };
    const model: ModelEndpoint | undefined = bedrock
      ? { kind: "bedrock", model: e.ANTHROPIC_MODEL || undefined }
      : e.ANTHROPIC_API_KEY || e.ANTHROPIC_BASE_URL
        ? { kind: "anthropic", baseUrl: e.ANTHROPIC_BASE_URL || undefined }
        : undefined;
    return {
      model,
      modelEnv,
      maxRetries: e.CONVEYOR_MODEL_MAX_RETRIES,
      path: e.PATH,
      gitBase: e.CONVEYOR_GIT_BASE || undefined,
      gitAuthor: { name: e.CONVEYOR_GIT_AUTHOR_NAME, email: e.CONVEYOR_GIT_AUTHOR_EMAIL },
      github: {
        token: e.CONVEYOR_GITHUB_TOKEN || undefined,
        apiUrl: e.GITHUB_API_URL || "https://api.github.com",
      },
      scratchRoot: e.CONVEYOR_SCRATCH_DIR || tmpdir(),
      executable: e.CONVEYOR_CLAUDE_EXECUTABLE || undefined,
    };
  }
}
