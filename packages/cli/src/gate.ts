import { setTimeout as sleep } from "node:timers/promises";
import { ApiError, type ApprovalWire, type EventWire, NetworkError } from "@conveyor/client/api";
import { eventData } from "@conveyor/core/event/schema";
import * as v from "valibot";
import { alreadyDecided, type Decision, settledInWords } from "./approval.ts";
import type { Context } from "./commands.ts";
import { CONVEYOR } from "./help.ts";
import type { ReadLine } from "./prompt.ts";

/**
 * What following does with an `approval.requested` event: with a person at a terminal,
 * ask "Allow `<detail>`? [y/N]" and send the answer (empty or anything but yes denies);
 * otherwise print the exact commands that answer it. Either way, following goes on.
 * An approval already answered (an event from the task's history, or an answer given
 * elsewhere meanwhile) is left alone.
 */
export async function onApprovalRequested(ctx: Context, event: EventWire): Promise<void> {
  const asked = v.safeParse(eventData["approval.requested"], event.data);
  if (!asked.success) return;
  const { approvalId, detail } = asked.output;
  const { taskId } = event;
  // When the API cannot say, the approval is taken as pending: asking costs less than missing it.
  const now = await current(ctx, taskId, approvalId);
  if (now && now.status !== "pending") return;
  if (!ctx.readLine) return howToAnswer(ctx, taskId, approvalId);

  const { out } = ctx;
  out.ask(`Allow ${out.paint("bold", `\`${detail}\``)}? [y/N] `);
  const reply = await firstOf(ctx, taskId, approvalId, ctx.readLine);
  if (reply.kind === "settled") {
    out.info(`\nAnswered elsewhere: ${settledInWords(reply.approval)}.`);
    return;
  }
  // End of input (Ctrl-D) is no answer at all: the approval stays open for someone else.
  if (reply.line === undefined) {
    out.info("");
    return howToAnswer(ctx, taskId, approvalId);
  }
  const decision: Decision = /^\s*y(es)?\s*$/i.test(reply.line) ? "approve" : "deny";
  await send(ctx, taskId, approvalId, decision);
}

/** The approval as the API has it now; undefined when it cannot say. */
async function current(ctx: Context, taskId: string, approvalId: string): Promise<ApprovalWire | undefined> {
  try {
    return (await ctx.api.approvals(taskId, ctx.signal)).find((a) => a.approvalId === approvalId);
  } catch (error) {
    if (ctx.signal?.aborted || !fromApi(error)) throw error;
    return undefined;
  }
}

/**
 * The person's answer, or the approval settled elsewhere (another terminal, the
 * dashboard, its timeout) while the question was open, whichever comes first.
 */
async function firstOf(
  ctx: Context,
  taskId: string,
  approvalId: string,
  readLine: ReadLine,
): Promise<{ kind: "answer"; line: string | undefined } | { kind: "settled"; approval: ApprovalWire }> {
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  ctx.signal?.addEventListener("abort", interrupt, { once: true });
  try {
    const reply = await Promise.race([
      readLine(stop.signal).then((line) => ({ kind: "answer" as const, line })),
      settledElsewhere(ctx, taskId, approvalId, stop.signal).then((approval) =>
        approval ? { kind: "settled" as const, approval } : new Promise<never>(() => {}),
      ),
    ]);
    // Ctrl-C while asking stops the command, as it does while following.
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    return reply;
  } finally {
    stop.abort();
    ctx.signal?.removeEventListener("abort", interrupt);
  }
}

/** Re-reads the approval every few polls until it is no longer pending; undefined once stopped. */
async function settledElsewhere(
  ctx: Context,
  taskId: string,
  approvalId: string,
  signal: AbortSignal,
): Promise<ApprovalWire | undefined> {
  // A question waits on a person: checking every few polls is plenty.
  const everyMs = Math.max(ctx.pollIntervalMs ?? 500, 10) * 4;
  while (!signal.aborted) {
    try {
      await sleep(everyMs, undefined, { signal });
      const found = (await ctx.api.approvals(taskId, signal)).find((a) => a.approvalId === approvalId);
      if (found && found.status !== "pending") return found;
    } catch (error) {
      if (signal.aborted) return undefined;
      // A failed check is asked again; the person's answer still goes through.
      if (!fromApi(error)) throw error;
    }
  }
  return undefined;
}

/** Sends the person's answer; an approval answered first elsewhere is said, not an error. */
async function send(ctx: Context, taskId: string, approvalId: string, decision: Decision): Promise<void> {
  const { api, out, signal } = ctx;
  try {
    await api.decide(taskId, approvalId, { decision }, signal);
    out.info(out.paint("gray", decision === "approve" ? "Approved." : "Denied."));
  } catch (error) {
    if (signal?.aborted || !fromApi(error)) throw error;
    const settled =
      error instanceof ApiError && error.status === 409 ? alreadyDecided(error.details) : undefined;
    if (settled) {
      out.info(`Already answered elsewhere: ${settledInWords(settled)}.`);
      return;
    }
    const why = error instanceof ApiError ? `${error.code}: ${error.message}` : error.message;
    out.error(out.paint("yellow", `Could not send the answer (${why}).`));
    howToAnswer(ctx, taskId, approvalId);
  }
}

/** The exact commands that answer an approval. */
export function answerCommands(taskId: string, approvalId: string): [approve: string, deny: string] {
  return [`${CONVEYOR} approve ${taskId} ${approvalId}`, `${CONVEYOR} deny ${taskId} ${approvalId}`];
}

/** The exact commands that answer the approval, for someone not at this terminal. */
function howToAnswer(ctx: Context, taskId: string, approvalId: string): void {
  const [approve, deny] = answerCommands(taskId, approvalId);
  ctx.out.info(`Waiting for an answer:\n  ${approve}\n  ${deny}`);
}

/** The API refused or could not be reached: a failure to report, not a bug of ours. */
const fromApi = (error: unknown): error is ApiError | NetworkError =>
  error instanceof ApiError || error instanceof NetworkError;
