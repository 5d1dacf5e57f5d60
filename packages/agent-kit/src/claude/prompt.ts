import type { Task } from "@conveyor/core/task";

/** Where the agent works: its branch, and whether that is an existing pull request's. */
export interface Checkout {
  branch: string;
  base: string;
  pullRequest?: number;
}

/**
 * The first user message: the task, where the work is, and what "done" means. Conveyor
 * commits, pushes and opens the pull request after the agent ends, so the agent must not.
 */
export function firstMessage(task: Pick<Task.Info, "repo" | "description" | "issueNumber">, at: Checkout) {
  const where = at.pullRequest
    ? `on branch \`${at.branch}\`, the branch of pull request #${at.pullRequest}`
    : `on a new branch \`${at.branch}\` created from \`${at.base}\``;
  const issue = task.issueNumber
    ? `\nThis task comes from issue #${task.issueNumber} of ${task.repo}.\n`
    : "";
  return `You are working on the repository ${task.repo}, checked out in the current directory ${where}.
${issue}
The task:

${task.description}

You are done when:
- the change the task asks for is made, and the repository's tests pass (run them if it has any);
- your changes are in the working tree or committed on this branch.

Do not push, do not switch branches and do not open a pull request: when you finish, your
changes are committed, pushed and proposed for you. End with a short summary of what you changed.

The person who asked may send you messages while you work; take them into account.`;
}

/** A nudge as the agent reads it. */
export function nudgeMessage(message: string) {
  return `Message from the person who asked for this task, sent while you work:\n\n${message}`;
}
