import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** git with a fixed author, so seeded commits never depend on the machine's git config. */
export const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "seed",
      GIT_AUTHOR_EMAIL: "seed@example.com",
      GIT_COMMITTER_NAME: "seed",
      GIT_COMMITTER_EMAIL: "seed@example.com",
    },
  }).trim();

/**
 * A bare repository `<gitBase>/<owner>/<name>.git` whose main holds `files` (path -> content),
 * the shape `CONVEYOR_GIT_BASE` maps a task's repo to.
 *
 * @example bareRepo("/tmp/git", "acme/api", { "README.md": "# api\n" })
 */
export function bareRepo(gitBase: string, repo: string, files: Record<string, string>) {
  const bare = join(gitBase, `${repo}.git`);
  mkdirSync(bare, { recursive: true });
  git(bare, "init", "--quiet", "--bare", "--initial-branch=main");
  const seed = mkdtempSync(join(gitBase, "seed-"));
  try {
    git(seed, "init", "--quiet", "--initial-branch=main");
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(seed, path)), { recursive: true });
      writeFileSync(join(seed, path), content);
    }
    git(seed, "add", ".");
    git(seed, "commit", "--quiet", "-m", "seed");
    git(seed, "push", "--quiet", bare, "main");
  } finally {
    rmSync(seed, { recursive: true, force: true });
  }
  return bare;
}
