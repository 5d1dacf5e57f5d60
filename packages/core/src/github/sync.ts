import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Core } from "../core.ts";
import { TaskEvent } from "../event/index.ts";
import { logger } from "../log.ts";
import * as Nudge from "../nudge/info.ts";
import { withCommentState } from "../task/comment-state.ts";
import type { Info as TaskInfo } from "../task/info.ts";
import { isTerminalStatus } from "../task/status.ts";
import { put } from "./comment.ts";
import { type CommentTarget, GitHubError } from "./port.ts";
import { fingerprint, markdown, view } from "./render.ts";
import { type CommentState, compareAndSet, parseState } from "./state.ts";

/** Events read for a render: enough for the last milestones, nudges and the current step. */
const RECENT_EVENTS = 100;

/** Tasks seen without a PR or issue: they never get one (the binding is set at submission). */
const unbound = new Set<string>();

/** What a call to `sync` did. */
export type Outcome =
  /** The comment now shows the latest snapshot. */
  | "written"
  /** It already did. */
  | "unchanged"
  /** Only turns, cost or the step moved, and the last edit is younger than githubProgressMs. */
  | "deferred"
  /** GitHub refused this task's comment for good lately (no access, PR gone); tried again later. */
  | "suspended"
  | "failed"
  | "unbound"
  | "missing"
  | "disabled";

/** The PR or issue a task reports on; undefined for a task bound to neither. */
export function targetOf(task: TaskInfo): CommentTarget | undefined {
  const issueNumber = task.prNumber ?? task.issueNumber;
  const [owner, repo] = task.repo.split("/");
  if (issueNumber === undefined || !owner || !repo) return undefined;
  return { taskId: task.taskId, owner, repo, issueNumber };
}

/**
 * Brings a task's comment up to date with its latest snapshot, whatever triggered the
 * call and however often: it renders the task as it is now (consistent read) with its
 * recent events, never the event that woke it, so duplicated or reordered deliveries
 * cannot make it show an older state.
 *
 * - An identical render is not sent. An edit that changes only turns, cost or the
 *   current step waits for githubProgressMs since the last edit; any other edit waits
 *   for githubThrottleMs; a terminal state is written at once.
 * - Writers take a lease on the Task's `github` state (compare-and-set on its `seq`),
 *   then read the task again, so the render they send is at least as new as any sent
 *   before. If the lease ran out while they wrote, the record fails and they write the
 *   latest render again: GitHub's PATCH takes no If-Match, so this is how order holds.
 * - A deleted comment (404) is created again; a lost commentId is found by its marker
 *   (written by us, when GitHub says who we are) across every page before creating one.
 *
 * Throws on transient failures (5xx, network, a rate limit longer than githubMaxWaitMs),
 * for the stream or the reconciler to retry; permanent refusals are recorded and logged.
 */
export async function sync(core: Core, taskId: string, opts: { force?: boolean } = {}): Promise<Outcome> {
  if (core.github.kind === "disabled") return "disabled";
  if (unbound.has(taskId)) return "unbound";
  const limits = core.config.limits;
  // Longer than anything a writer does while holding it (rate-limit waits included).
  const leaseMs = limits.githubMaxWaitMs + 60_000;
  let force = opts.force ?? false;
  let waited = 0;
  for (let round = 0; round < 8; round++) {
    const snap = await snapshot(core, taskId);
    if (!snap) return "missing";
    if (!targetOf(snap.task)) {
      if (unbound.size > 10_000) unbound.clear();
      unbound.add(taskId);
      return "unbound";
    }
    const { task, state } = snap;
    const now = core.now();
    const draft = draw(snap);
    if (!force && state.commentId !== undefined && state.bodyHash === draft.hash.body) {
      await noteUnchanged(core, taskId, state, task.rev, draft.lastEventId, now);
      return "unchanged";
    }
    if (!force && !isTerminalStatus(task.status)) {
      if (state.failure && now - state.failure.at < limits.githubProgressMs) return "suspended";
      const since = now - (state.renderedAt ?? Number.NEGATIVE_INFINITY);
      const progressOnly = state.commentId !== undefined && state.significantHash === draft.hash.significant;
      if (progressOnly && since < limits.githubProgressMs) return "deferred";
      if (since < limits.githubThrottleMs) {
        // Wait out the throttle, then render what is newest by then.
        await sleep(limits.githubThrottleMs - since);
        continue;
      }
    }
    if (state.lease && (state.leaseUntil ?? 0) > now) {
      // Another writer is at it; it may have read before our change, so look again after it.
      if (waited > leaseMs)
        throw new Error(`status comment for ${taskId}: lease held for over ${leaseMs} ms`);
      const pause = Math.min(200, state.leaseUntil! - now);
      await sleep(pause);
      waited += pause;
      round--;
      continue;
    }
    const held: CommentState = {
      ...state,
      lease: randomUUID(),
      leaseUntil: now + leaseMs,
      seq: state.seq + 1,
    };
    if (!(await compareAndSet(core, taskId, state, held))) continue;
    let outcome: Outcome | "again";
    try {
      outcome = await writeHeld(core, taskId, held, force);
    } catch (error) {
      await compareAndSet(core, taskId, held, { ...held, lease: undefined, leaseUntil: undefined }).catch(
        () => false,
      );
      throw error;
    }
    if (outcome !== "again") return outcome;
    force = true;
  }
  throw new Error(`status comment for ${taskId}: gave up after repeated races`);
}

/** Under the lease: read again, write to GitHub, record what was written. */
async function writeHeld(
  core: Core,
  taskId: string,
  held: CommentState,
  force: boolean,
): Promise<Outcome | "again"> {
  const snap = await snapshot(core, taskId);
  if (!snap || snap.state.lease !== held.lease) return "again";
  const { task, state } = snap;
  const target = targetOf(task)!;
  const draft = draw(snap);
  const free = { ...state, lease: undefined, leaseUntil: undefined };
  if (!force && state.commentId !== undefined && state.bodyHash === draft.hash.body) {
    await compareAndSet(core, taskId, state, {
      ...free,
      renderedRev: Math.max(state.renderedRev, task.rev),
      renderedEventId: draft.lastEventId,
    });
    return "unchanged";
  }
  let written: { commentId: number; created: boolean };
  try {
    written = await put(core, target, state.commentId, draft.body);
  } catch (error) {
    if (!(error instanceof GitHubError) || !error.permanent) throw error;
    logger.error("GitHub refused the status comment", {
      taskId,
      status: error.status,
      error: error.message,
    });
    await compareAndSet(core, taskId, state, {
      ...free,
      failure: { status: error.status, message: error.message.slice(0, 500), at: core.now() },
    });
    return "failed";
  }
  const recorded = await compareAndSet(core, taskId, state, {
    ...free,
    failure: undefined,
    commentId: written.commentId,
    renderedRev: task.rev,
    renderedEventId: draft.lastEventId,
    renderedAt: core.now(),
    bodyHash: draft.hash.body,
    significantHash: draft.hash.significant,
  });
  if (recorded) return "written";
  // The lease ran out and another writer went ahead: what we sent may have landed after theirs.
  logger.warn("status comment lease lost; writing the latest render again", { taskId });
  if (written.created) {
    const now = await snapshot(core, taskId);
    if (now?.state.commentId !== undefined && now.state.commentId !== written.commentId) {
      await core.github.deleteComment(target, written.commentId).catch(() => undefined);
    }
  }
  return "again";
}

/** Nothing to send, but the task moved on: say so, so the reconciler stops looking at it. */
async function noteUnchanged(
  core: Core,
  taskId: string,
  state: CommentState,
  rev: number,
  lastEventId: string | undefined,
  now: number,
) {
  if (rev <= state.renderedRev || (state.lease && (state.leaseUntil ?? 0) > now)) return;
  await compareAndSet(core, taskId, state, { ...state, renderedRev: rev, renderedEventId: lastEventId });
}

/** The task (consistent read), its comment state and its latest events, oldest first. */
async function snapshot(core: Core, taskId: string) {
  const [item, recent, pendingNudges] = await Promise.all([
    withCommentState(core, taskId),
    TaskEvent.latest(core, taskId, RECENT_EVENTS),
    core.config.tables.nudges ? Nudge.pending(core, taskId) : undefined,
  ]);
  if (!item) return undefined;
  return {
    task: item.task,
    state: parseState(item.commentState),
    events: recent.reverse(),
    pendingNudges,
  };
}

function draw(snap: { task: TaskInfo; events: TaskEvent.Info[]; pendingNudges?: Nudge.Info[] }) {
  const shown = view(snap.task, snap.events, { pendingNudges: snap.pendingNudges });
  const body = markdown(shown);
  return { body, hash: fingerprint(shown, body), lastEventId: snap.events.at(-1)?.eventId };
}
