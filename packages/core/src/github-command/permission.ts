import type { Core } from "../core.ts";
import type { RepoRef, RepoRole } from "../github/port.ts";

/** Roles that may command Conveyor on a repository: those that may push to it. */
const COMMANDERS: readonly RepoRole[] = ["admin", "maintain", "write"];

/** A role is asked of GitHub at most once a minute per login and repository (per process). */
export const PERMISSION_CACHE_MS = 60_000;

const cache = new Map<string, { role: RepoRole; at: number }>();

/** Whether `login` may command Conveyor on `repo` (write, maintain or admin), asked through the GitHub port. */
export async function mayCommand(core: Core, repo: RepoRef, login: string): Promise<boolean> {
  const key = `${repo.owner}/${repo.repo}/${login}`.toLowerCase();
  const now = core.now();
  const cached = cache.get(key);
  let role = cached && now - cached.at < PERMISSION_CACHE_MS ? cached.role : undefined;
  if (!role) {
    role = await core.github.permission(repo, login);
    if (cache.size > 1_000) cache.clear();
    cache.set(key, { role, at: now });
  }
  return COMMANDERS.includes(role);
}
