import type { Core } from "../core.ts";
import { pages } from "../dynamo.ts";
import { logger } from "../log.ts";
import { store } from "../store.ts";
import { isTerminalStatus, TaskStatus } from "../task/status.ts";
import { floorId } from "../util/ulid.ts";
import { parseState } from "./state.ts";
import { sync } from "./sync.ts";

/**
 * For the reconciler: re-renders the comments whose `github.renderedRev` lags their
 * task's `rev`, among tasks bound to a PR or issue that are not finished, or finished
 * within `lookbackMs` (by creation time). Pages through the by-status index; never scans.
 * Logs a summary: at error level when every attempt failed, at debug level when nothing lagged. Fits `Reconciler.run`'s hooks:
 * `Reconciler.run(core, { github: (core) => StatusComment.renderLagging(core) })`.
 */
export async function renderLagging(core: Core, opts: { lookbackMs?: number; concurrency?: number } = {}) {
  // `checked`, `fixed` and `failed` are what a Reconciler hook reports.
  const counts = { checked: 0, lagging: 0, fixed: 0, unchanged: 0, deferred: 0, failed: 0 };
  if (core.github.kind === "disabled") return counts;
  const since = floorId(core.now() - (opts.lookbackMs ?? 2 * 86_400_000));
  const lagging: string[] = [];
  for (const status of TaskStatus.options) {
    const query = store(core).task.query.byStatus({ status });
    const bound = (isTerminalStatus(status) ? query.gte({ taskId: since }) : query).where(
      (a, op) => `${op.exists(a.prNumber)} OR ${op.exists(a.issueNumber)}`,
    );
    const found = pages((cursor) =>
      bound.go({ cursor, limit: 100, attributes: ["taskId", "rev", "github"] }),
    );
    for await (const page of found) {
      for (const item of page) {
        counts.checked++;
        if (parseState(item.github).renderedRev < item.rev) lagging.push(item.taskId);
      }
    }
  }
  counts.lagging = lagging.length;
  const queue = [...lagging];
  const worker = async () => {
    for (let taskId = queue.shift(); taskId; taskId = queue.shift()) {
      try {
        const outcome = await sync(core, taskId);
        if (outcome === "written") counts.fixed++;
        else if (outcome === "unchanged") counts.unchanged++;
        else if (outcome === "failed") counts.failed++;
        else counts.deferred++;
      } catch (error) {
        counts.failed++;
        logger.warn("status comment re-render failed", { taskId, error: String(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  // Every attempt failed: an outage. Nothing lagged: nothing worth a line at INFO every run.
  const level =
    counts.lagging > 0 && counts.failed === counts.lagging ? "error" : counts.lagging > 0 ? "info" : "debug";
  logger[level]("status comments reconciled", counts);
  return counts;
}
