import type { Core } from "../core.ts";
import { ConflictError } from "../error.ts";
import { RuntimeError } from "../runtime/port.ts";
import { get } from "../task/info.ts";
import { transition } from "../task/transition.ts";

/**
 * What the queue consumer does with one `{ taskId }` message (DESIGN §5.2). It reads and moves
 * the task with plain commands (task/info.ts, task/transition.ts): no ElectroDB on the way to
 * starting a task.
 * `ack`: delete the message; `retry`: report it as a batch item failure.
 */
export namespace Dispatch {
  export type Outcome = { result: "ack" | "retry"; detail: string };

  export async function deliver(core: Core, taskId: string, receiveCount: number): Promise<Outcome> {
    let task = await get(core, taskId);
    if (!task) return { result: "ack", detail: "unknown task" };
    if (task.status === "SUBMITTED") {
      try {
        task = await transition(core, taskId, {
          from: ["SUBMITTED"],
          to: "STARTING",
          reason: "claimed",
        });
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        // Someone else claimed or cancelled it: decide on what it is now.
        task = (await get(core, taskId))!;
      }
    }
    if (task.status !== "STARTING") return { result: "ack", detail: `task is ${task.status}` };

    try {
      // Same session id every time, and the agent's start is idempotent: re-invoking is harmless.
      await core.runtime.invoke(task.runtimeSessionId, { kind: "start", taskId });
      return { result: "ack", detail: "invoked" };
    } catch (error) {
      const failure = error instanceof RuntimeError ? error : new RuntimeError(String(error), false);
      const last = receiveCount >= core.config.limits.maxReceiveCount;
      if (failure.permanent || last) {
        await failDispatch(core, taskId, failure.message);
        // On the last receive the message still fails, so it lands in the DLQ for inspection.
        return { result: failure.permanent ? "ack" : "retry", detail: `dispatch_failed: ${failure.message}` };
      }
      return { result: "retry", detail: failure.message };
    }
  }

  /** Fails a task that could not be started; harmless if it already moved on. */
  export async function failDispatch(core: Core, taskId: string, message: string) {
    try {
      await transition(core, taskId, {
        from: ["SUBMITTED", "STARTING"],
        to: "FAILED",
        reason: "dispatch_failed",
        error: { code: "dispatch_failed", message: message.slice(0, 1000) },
      });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}
