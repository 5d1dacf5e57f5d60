import * as v from "valibot";

/**
 * The task lifecycle's statuses (DESIGN §3), in order. Side-effect free and without the AWS
 * SDK, so the CLI and the client import it too.
 */
export const TASK_STATUSES = [
  "QUEUED",
  "SUBMITTED",
  "STARTING",
  "RUNNING",
  "AWAITING_APPROVAL",
  "COMPLETED",
  "FAILED",
  "TIMED_OUT",
  "CANCELLED",
] as const;
export const TaskStatus = v.picklist(TASK_STATUSES);
export type TaskStatus = v.InferOutput<typeof TaskStatus>;

/** Statuses a task never leaves. */
export const TERMINAL_STATUSES = [
  "COMPLETED",
  "FAILED",
  "TIMED_OUT",
  "CANCELLED",
] as const satisfies TaskStatus[];
export const isTerminalStatus = (status: string) => (TERMINAL_STATUSES as readonly string[]).includes(status);

/** Statuses that hold one of the user's concurrency slots. */
export const ACTIVE_STATUSES = [
  "SUBMITTED",
  "STARTING",
  "RUNNING",
  "AWAITING_APPROVAL",
] as const satisfies TaskStatus[];
export const holdsSlot = (status: TaskStatus) => (ACTIVE_STATUSES as readonly string[]).includes(status);
