import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ClaudeConfig } from "./config.ts";

/** git failed; `message` is its own stderr (never the command line, which may hold a header). */
export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitError";
  }
}

export interface Workspace {
  /** The task's scratch directory: the clone and the CLI's HOME are inside it. */
  root: string;
  /** The clone, the agent's cwd. */
  dir: string;
  home: string;
  /** The branch the agent works on, and the one a new pull request targets. */
  branch: string;
  base: string;
  /** HEAD before the agent ran: whatever follows it is the agent's work. */
  startSha: string;
}

/** Where a repository is cloned from: `<gitBase>/owner/name.git` when set, else GitHub over HTTPS. */
export function cloneUrl(config: Pick<ClaudeConfig, "gitBase">, repo: string): string {
  if (config.gitBase) return `${config.gitBase.replace(/\/+$/, "")}/${repo}.git`;
  return `https://github.com/${repo}.git`;
}

/**
 * git with the token as an `http.extraHeader` passed through the environment
 * (GIT_CONFIG_*): never in a URL, an argument, the clone's config or a log.
 */
function git(
  config: ClaudeConfig,
  cwd: string,
  args: string[],
  home: string,
  remote?: string,
): Promise<string> {
  const env: Record<string, string> = {
    PATH: config.path,
    HOME: home,
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: config.gitAuthor.name,
    GIT_AUTHOR_EMAIL: config.gitAuthor.email,
    GIT_COMMITTER_NAME: config.gitAuthor.name,
    GIT_COMMITTER_EMAIL: config.gitAuthor.email,
  };
  // Only HTTPS remotes get the token, and only for their own host.
  const origin = remote && /^https:\/\//.test(remote) ? new URL(remote).origin : undefined;
  if (config.github.token && origin) {
    const basic = Buffer.from(`x-access-token:${config.github.token}`).toString("base64");
    Object.assign(env, {
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: `http.${origin}/.extraHeader`,
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    });
  }
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const said = String(stderr).trim().split("\n").slice(-5).join("\n");
        reject(new GitError(`git ${args[0]} failed: ${said || `exit ${error.code}`}`));
      } else resolve(String(stdout).trim());
    });
  });
}

export namespace Workspace {
  /**
   * A scratch directory for the task and a clone of its repository on `branch` (created from
   * the default branch, or the existing branch of the pull request the task targets).
   * Throws GitError when the repository cannot be cloned; the directory is then already removed.
   */
  export async function prepare(
    config: ClaudeConfig,
    input: { taskId: string; repo: string; branch: string; existing: boolean },
  ): Promise<Workspace> {
    await mkdir(config.scratchRoot, { recursive: true });
    const root = await mkdtemp(join(config.scratchRoot, `conveyor-${input.taskId}-`));
    const dir = join(root, "repo");
    const home = join(root, "home");
    try {
      await mkdir(home, { recursive: true });
      const url = cloneUrl(config, input.repo);
      await git(config, root, ["clone", "--quiet", "--no-tags", url, dir], home, url);
      const base = (await git(config, dir, ["rev-parse", "--abbrev-ref", "HEAD"], home)) || "main";
      if (input.existing) {
        await git(config, dir, ["checkout", "--quiet", "-B", input.branch, `origin/${input.branch}`], home);
      } else {
        await git(config, dir, ["checkout", "--quiet", "-b", input.branch], home);
      }
      // Commits the agent makes itself carry the configured author too.
      await git(config, dir, ["config", "user.name", config.gitAuthor.name], home);
      await git(config, dir, ["config", "user.email", config.gitAuthor.email], home);
      const startSha = await git(config, dir, ["rev-parse", "HEAD"], home);
      return { root, dir, home, branch: input.branch, base, startSha };
    } catch (error) {
      await rm(root, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * Commits what the agent left uncommitted and pushes the branch. Returns the number of
   * commits beyond where the agent started (0: nothing to deliver, nothing pushed).
   */
  export async function deliver(config: ClaudeConfig, ws: Workspace, message: string): Promise<number> {
    await git(config, ws.dir, ["add", "--all"], ws.home);
    const dirty = await git(config, ws.dir, ["status", "--porcelain"], ws.home);
    if (dirty) await git(config, ws.dir, ["commit", "--quiet", "--no-verify", "-m", message], ws.home);
    const ahead = Number(await git(config, ws.dir, ["rev-list", "--count", `${ws.startSha}..HEAD`], ws.home));
    if (ahead === 0) return 0;
    const url = await git(config, ws.dir, ["remote", "get-url", "origin"], ws.home);
    await git(config, ws.dir, ["push", "--quiet", "origin", `HEAD:refs/heads/${ws.branch}`], ws.home, url);
    return ahead;
  }

  /** Removes the scratch directory, whatever state it is in. */
  export async function remove(ws: Pick<Workspace, "root">): Promise<void> {
    await rm(ws.root, { recursive: true, force: true, maxRetries: 3 });
  }
}
