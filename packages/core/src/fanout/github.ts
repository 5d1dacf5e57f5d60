import { sync } from "../github/sync.ts";
import { DeliveryError, type FanoutRoute } from "./index.ts";

/**
 * Keeps the task's PR or issue comment current (DESIGN §6). It runs on a subscription of
 * its own, so a GitHub rate limit never holds up watchers. It renders the task as it is
 * now, not the events it was handed: a batch is one write per task at most, and a
 * duplicated or reordered event cannot make the comment go back. Apart from the realtime
 * route, whose handler then loads neither GitHub's client nor ElectroDB; and its reads are
 * plain commands (github/sync.ts), so this one loads no ElectroDB either.
 */
export const githubRoute: FanoutRoute = {
  name: "github",
  async deliver(core, taskId) {
    try {
      await sync(core, taskId);
    } catch (error) {
      throw new DeliveryError(0, error);
    }
  },
};
