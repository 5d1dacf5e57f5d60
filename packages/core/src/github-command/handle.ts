import * as v from "valibot";
import { Actor } from "../actor.ts";
import { Approval } from "../approval/index.ts";
import type { Core } from "../core.ts";
import { VisibleError } from "../error.ts";
import { inline } from "../github/markdown.ts";
import { GitHubError, type IssueRef, type RepoRef } from "../github/port.ts";
import { logger } from "../log.ts";
import { Nudge } from "../nudge/index.ts";
import { store } from "../store.ts";
import { Task } from "../task/index.ts";
import { claim, release } from "./delivery.ts";
import { type LinkedUser, userOf } from "./link.ts";
import { type Command, parseCommand, USAGE } from "./parse.ts";
import { IssueCommentEvent } from "./payload.ts";
import { mayCommand } from "./permission.ts";

/** One webhook delivery, its signature already checked. */
export interface Delivery {
  /** `X-GitHub-Event`. */
  event: string | undefined;
  /** `X-GitHub-Delivery`: the same for a redelivery of it. */
  deliveryId: string | undefined;
  /** The raw body (the signed bytes, as text). */
  body: string;
}

/** What became of a delivery: 200 for what was handled (or already was), 202 for what is not ours to handle. */
export interface Received {
  status: 200 | 202;
  outcome: "pong" | "ignored" | "duplicate" | "accepted" | "refused";
  reason?: string;
  taskId?: string;
}

/** GitHub redelivers for 3 days; a command older than this is a replay, not a request. */
export const COMMAND_MAX_AGE_MS = 3 * 24 * 3600_000;

const ignored = (reason: string): Received => ({ status: 202, outcome: "ignored", reason });

/**
 * Acts on a delivery: an `issue_comment` (created) whose first line is a `/conveyor`
 * command, by a linked GitHub user who may push to the repository, becomes the same core
 * call the API makes for that user (Task.submit, Nudge.create, Task.cancel, Approval.decide).
 * A delivery is acted on once: its id is claimed first (a redelivery answers `duplicate`),
 * and released again if acting fails unexpectedly, so the next delivery of it retries.
 */
export async function receive(core: Core, delivery: Delivery): Promise<Received> {
  if (delivery.event === "ping") return { status: 200, outcome: "pong" };
  if (delivery.event !== "issue_comment")
    return ignored(`${delivery.event ?? "an unnamed"} event is not handled`);
  let json: unknown;
  try {
    json = JSON.parse(delivery.body);
  } catch {
    throw new VisibleError("input", "github.payload", "The delivery body is not JSON");
  }
  const parsed = v.safeParse(IssueCommentEvent, json);
  if (!parsed.success) throw new VisibleError("input", "github.payload", "Not an issue_comment payload");
  const ev = parsed.output;
  if (ev.action !== "created") return ignored(`issue_comment ${ev.action} is not handled`);
  const command = parseCommand(ev.comment.body ?? "");
  if (!command) return ignored("not a command");
  const author = ev.comment.user;
  // Our own comments (the status comment, replies) and every other bot's are never commands.
  if (!author || author.type === "Bot" || author.login === (await ownLogin(core))) {
    return ignored("written by a bot");
  }
  if (!(Date.parse(ev.comment.created_at) > core.now() - COMMAND_MAX_AGE_MS)) return ignored("too old");
  if (!delivery.deliveryId)
    throw new VisibleError("input", "github.delivery", "X-GitHub-Delivery is missing");
  if (!(await claim(core, delivery.deliveryId, delivery.event))) return { status: 200, outcome: "duplicate" };
  try {
    return await act(core, ev, command, delivery.deliveryId);
  } catch (error) {
    await release(core, delivery.deliveryId).catch((e) =>
      logger.error("github delivery not released", { deliveryId: delivery.deliveryId, error: String(e) }),
    );
    throw error;
  }
}

async function act(
  core: Core,
  ev: IssueCommentEvent,
  command: Command,
  deliveryId: string,
): Promise<Received> {
  const repo: RepoRef = { owner: ev.repository.owner.login, repo: ev.repository.name };
  const thread: IssueRef = { ...repo, issueNumber: ev.issue.number };
  const isPull = ev.issue.pull_request !== undefined;
  const login = ev.comment.user!.login;
  const refuse = async (reason: string): Promise<Received> => {
    await core.github
      .reply(thread, `<!-- conveyor:reply -->\nConveyor did not act on this command: ${reason}`)
      .catch((e) => logger.warn("github reply failed", { ...thread, error: String(e) }));
    return { status: 200, outcome: "refused", reason };
  };

  if (command.kind === "usage")
    return refuse(`${command.problem}.\n\n${USAGE.map((u) => `- ${u}`).join("\n")}`);
  const user = await userOf(core, login);
  if (!user) return refuse(notLinked(login));
  if (!(await mayCommand(core, repo, login))) {
    return refuse(
      `only people with write, maintain or admin access to ${inline(`${repo.owner}/${repo.repo}`, 200)} may command it here.`,
    );
  }
  try {
    const taskId = await Actor.provide({ type: "user", ...user }, () =>
      run(core, { repo, thread, isPull, command, deliveryId, user }),
    );
    await core.github
      .addReaction(repo, ev.comment.id, "eyes")
      .catch((e) => logger.warn("github reaction failed", { ...thread, error: String(e) }));
    return { status: 200, outcome: "accepted", taskId };
  } catch (error) {
    if (error instanceof Refusal) return refuse(error.message);
    if (error instanceof VisibleError) return refuse(`${inline(error.message, 500)}.`);
    if (error instanceof v.ValiError)
      return refuse(`${inline(error.issues[0]?.message ?? "invalid input", 300)}.`);
    if (error instanceof GitHubError && error.status === 404)
      return refuse("GitHub does not know this pull request.");
    throw error;
  }
}

/** A reason to say no, in our own words (already safe Markdown). */
class Refusal extends Error {}

interface Run {
  repo: RepoRef;
  thread: IssueRef;
  isPull: boolean;
  command: Exclude<Command, { kind: "usage" }>;
  deliveryId: string;
  user: LinkedUser;
}

/** Carries out a command as the linked user; returns the task it acted on. */
async function run(core: Core, { repo, thread, isPull, command, deliveryId, user }: Run): Promise<string> {
  const fullName = `${repo.owner}/${repo.repo}`;
  if (command.kind === "run") {
    if (isPull) {
      // The agent works on the PR's head branch: it must be one it can push to.
      const pr = await core.github.getPullRequest(repo, thread.issueNumber);
      if (pr.state !== "open") throw new Refusal("this pull request is closed.");
      if (pr.headRepo && pr.headRepo.toLowerCase() !== fullName.toLowerCase()) {
        throw new Refusal("this pull request's branch lives in a fork, which Conveyor cannot push to.");
      }
    }
    const { task } = await Task.submit(
      core,
      {
        repo: fullName,
        description: command.text,
        ...(isPull ? { prNumber: thread.issueNumber } : { issueNumber: thread.issueNumber }),
      },
      // Belt and braces beside the delivery claim: the same delivery never makes two tasks.
      { idempotencyKey: `github-delivery-${deliveryId}`, source: "github" },
    );
    return task.taskId;
  }
  const task = await liveTaskOf(core, `${fullName}#${isPull ? "pr" : "issue"}-${thread.issueNumber}`, user);
  if (!task) throw new Refusal("you have no task running on this thread.");
  if (command.kind === "nudge") await Nudge.create(core, task.taskId, { message: command.text });
  else if (command.kind === "cancel") await Task.cancel(core, task.taskId);
  else {
    const approvalId = command.approvalId ?? (await onlyPending(core, task.taskId));
    await Approval.decide(core, task.taskId, approvalId, {
      decision: command.kind,
      ...(command.comment ? { comment: command.comment } : {}),
    });
  }
  return task.taskId;
}

/** The user's newest unfinished task on a thread (the target index, newest first). */
async function liveTaskOf(core: Core, target: string, user: LinkedUser): Promise<Task.Info | undefined> {
  const result = await store(core).task.query.byTarget({ target }).go({ order: "desc", limit: 50 });
  return result.data
    .map(Task.serialize)
    .find((t) => !Task.isTerminal(t.status) && t.tenantId === user.tenantId && t.userId === user.userId);
}

async function onlyPending(core: Core, taskId: string): Promise<string> {
  const pending = (await Approval.fromTask(core, taskId)).filter((a) => a.status === "pending");
  if (pending.length === 1) return pending[0]!.approvalId;
  if (pending.length === 0) throw new Refusal("nothing is waiting for approval on your task here.");
  throw new Refusal(
    `several approvals wait; name one: ${pending.map((a) => `\`${a.approvalId}\``).join(", ")}.`,
  );
}

function notLinked(login: string) {
  const who = inline(login, 39);
  return (
    `GitHub user ${who} is not linked to a Conveyor user. An admin links it with ` +
    "`pnpm tsx scripts/link-github.ts --login <login> --tenant <tenant> --user <user>` (under `sst shell`), " +
    "or, on the local stack, with `CONVEYOR_GITHUB_USERS=<login>:<user>`."
  );
}

let login: Promise<string | undefined> | undefined;
/** The login our comments are written as (unknown for an App: its comments are `type: Bot`). */
async function ownLogin(core: Core): Promise<string | undefined> {
  login ??= core.github.author().catch(() => {
    login = undefined;
    return undefined;
  });
  return login;
}
