import type { Core } from "../core.ts";
import { logger } from "../log.ts";
import type { Info as Task } from "../task/info.ts";
import type { Info } from "./info.ts";

/**
 * Wakes the agent waiting on a settled approval (`resumed` is its task, when one was waiting).
 * A lost push costs at most one heartbeat: the agent re-reads its approval then.
 */
export async function wake(core: Core, { approval, resumed: task }: { approval: Info; resumed?: Task }) {
  if (!task) return;
  await core.runtime
    .invoke(task.runtimeSessionId, { kind: "approval", taskId: task.taskId, approvalId: approval.approvalId })
    .catch((error) =>
      logger.warn("approval push failed; the agent's heartbeat will see the decision", {
        taskId: task.taskId,
        error: String(error),
      }),
    );
}
