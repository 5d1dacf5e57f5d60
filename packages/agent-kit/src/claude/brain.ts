import type { GitHubPort, PullRequest } from "@conveyor/core/github";
import { AgentCancelled, AgentFailure, type Brain } from "../run.ts";
import { ClaudeConfig } from "./config.ts";
import { converse } from "./converse.ts";
import { preview } from "./messages.ts";
import { firstMessage } from "./prompt.ts";
import { Workspace } from "./workspace.ts";

/**
 * A real coding agent: Claude Code (through the Claude Agent SDK) working in a fresh
 * clone of the task's repository. When it ends, what it changed is committed, pushed and
 * proposed: a new pull request from `conveyor/<taskId>`, or a push to the branch of the
 * pull request the task targets. The workspace is removed whatever happened.
 *
 * @example serveAgent(core, claude(ClaudeConfig.fromEnv(), core.github))
 */
export function claude(config: ClaudeConfig, github: GitHubPort): Brain {
  return async (ctx) => {
    const { task, progress, signal, log } = ctx;
    if (!config.model) throw new AgentFailure("agent_error", ClaudeConfig.MISSING_MODEL);
    const [owner = "", repo = ""] = task.repo.split("/");
    const where = { owner, repo };

    let pr: PullRequest | undefined;
    if (task.prNumber) {
      try {
        pr = await github.getPullRequest(where, task.prNumber);
      } catch (error) {
        throw new AgentFailure(
          "repo_unavailable",
          `Pull request #${task.prNumber} of ${task.repo} could not be read: ${(error as Error).message}`,
        );
      }
    }
    let ws: Workspace;
    try {
      ws = await Workspace.prepare(config, {
        taskId: task.taskId,
        repo: task.repo,
        branch: pr?.head ?? `conveyor/${task.taskId}`,
        existing: pr !== undefined,
      });
    } catch (error) {
      throw new AgentFailure("repo_unavailable", `Could not clone ${task.repo}: ${(error as Error).message}`);
    }

    try {
      await progress.milestone("workspace ready", `${task.repo} on ${ws.branch}`);
      if (signal.aborted) throw new AgentCancelled();
      const talk = await converse(ctx, {
        config,
        ws,
        prompt: firstMessage(task, { branch: ws.branch, base: ws.base, pullRequest: pr?.number }),
      });
      // A cancel that lands after the last turn still delivers nothing.
      if (signal.aborted) throw new AgentCancelled();

      const subject = task.description.split("\n")[0]!.trim().slice(0, 72);
      const said = talk.summary.trim() ? preview(talk.summary.trim(), 2_000) : `Done: ${subject}`;
      const commits = await Workspace.deliver(config, ws, `${subject}\n\nConveyor task ${task.taskId}`).catch(
        (error) => {
          throw new AgentFailure("agent_error", `Could not push ${ws.branch}: ${(error as Error).message}`);
        },
      );
      if (commits === 0) {
        await progress.milestone("no changes", "The agent changed nothing: no pull request opened");
        return { summary: `${said}\n\nNo changes to commit: no pull request was opened.` };
      }
      await progress.milestone("changes pushed", `${commits} commit(s) on ${ws.branch}`);
      if (pr) {
        await progress.milestone("pull request updated", `#${pr.number}: pushed to ${pr.head}`, pr.url);
        return { summary: said, prUrl: pr.url };
      }
      let opened: PullRequest;
      try {
        opened = await github.openPullRequest(where, {
          title: subject,
          head: ws.branch,
          base: ws.base,
          body: `${said}\n\n---\nOpened by Conveyor for task \`${task.taskId}\`.`,
        });
      } catch (error) {
        throw new AgentFailure(
          "agent_error",
          `Pushed ${ws.branch}, but the pull request could not be opened: ${(error as Error).message}`,
        );
      }
      await progress.milestone("pull request opened", `#${opened.number}: ${subject}`, opened.url);
      return { summary: said, prUrl: opened.url };
    } finally {
      await Workspace.remove(ws).catch((error) =>
        log.warn("workspace not removed", { error: String(error) }),
      );
    }
  };
}
