import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ULID_PATTERN } from "@conveyor/core/util/ulid";
import { ConfigError, localStateDir } from "./config.ts";

/**
 * A task's status comment as the local stack rendered it without a GitHub token: the
 * file port writes each render to `<stateDir>/comments/<taskId>.md`.
 */
export function readLocalComment(
  taskId: string,
  env: Record<string, string | undefined>,
  cwd: string,
): { taskId: string; path: string; body: string } {
  // The id becomes a path: only a task id may.
  if (!ULID_PATTERN.test(taskId)) throw new ConfigError(`Not a task id: ${taskId}`);
  const dir = localStateDir(env, cwd);
  if (!dir) {
    throw new ConfigError(
      "No local stack state found (.conveyor/local.json or CONVEYOR_STATE_DIR). Start it with `pnpm start`.",
    );
  }
  const path = join(dir, "comments", `${taskId}.md`);
  if (!existsSync(path)) {
    throw new ConfigError(
      `No status comment for ${taskId} in ${join(dir, "comments")}. The local stack writes one for a task ` +
        "on a PR or issue (--pr N, --issue N) while it runs without GITHUB_TOKEN; with a token it is on GitHub.",
    );
  }
  return { taskId, path, body: readFileSync(path, "utf8").replace(/\n$/, "") };
}
