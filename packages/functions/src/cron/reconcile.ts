import { StatusComment } from "@conveyor/core/github";
import { Reconciler } from "@conveyor/core/reconcile";
import { useCore } from "../config.ts";

/** The reconciler cron (every minute in AWS). Its report is logged; escalated when everything failed. */
export const handler = async (_event?: unknown) => {
  const report = await Reconciler.run(useCore(), { github: (core) => StatusComment.renderLagging(core) });
  return { fixed: report.fixed, failed: report.failed, ms: report.ms };
};
