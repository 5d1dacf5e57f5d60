import { randomBytes } from "node:crypto";
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ULID_PATTERN } from "../util/ulid.ts";
import {
  CommentGone,
  type CommentTarget,
  GitHubError,
  type GitHubPort,
  type PullRequest,
  type RepoRef,
} from "./port.ts";

/** The one comment of a task, as the file port numbers it. */
const COMMENT_ID = 1;
const AUTHOR = "conveyor";

/**
 * GitHub stand-in for the local stack without a token: each render lands in
 * `<dir>/<taskId>.md`, written atomically (temp file + rename) so a reader
 * (`conveyor status <id> --comment`) never sees half a comment. Pull requests are
 * recorded beside it as `<pullsDir>/<owner>/<repo>/<number>.json`; replies to commands and
 * reactions are appended to `<threadsDir>/<owner>/<repo>/<number>.jsonl` and `reactions.jsonl`
 * (one JSON line each).
 * There is no GitHub to ask for roles here: everyone counts as a writer (the login's link
 * to a Conveyor user still decides who may command).
 */
export function fileGitHub(
  dir: string,
  pullsDir = join(dirname(dir), "pulls"),
  threadsDir = join(dirname(dir), "threads"),
): GitHubPort {
  const repoDir = (r: RepoRef, under = pullsDir) => {
    // Names become paths: only what GitHub allows in them, never `..`.
    if (!/^[A-Za-z0-9-]+$/.test(r.owner) || !/^[A-Za-z0-9._-]+$/.test(r.repo) || r.repo.startsWith(".")) {
      throw new GitHubError(404, `no repository ${r.owner}/${r.repo}`);
    }
    return join(under, r.owner, r.repo);
  };
  const pulls = async (r: RepoRef): Promise<PullRequest[]> => {
    const files = await readdir(repoDir(r)).catch(() => [] as string[]);
    const all = await Promise.all(
      files
        .filter((f) => f.endsWith(".json"))
        .map(async (f) => JSON.parse(await readFile(join(repoDir(r), f), "utf8")) as PullRequest),
    );
    return all.sort((a, b) => a.number - b.number);
  };
  /** Replies get ids of their own, above the status comment's. */
  let nextReply = COMMENT_ID + 1;
  const record = async (r: RepoRef, name: string, entry: Record<string, unknown>) => {
    const path = join(repoDir(r, threadsDir), `${name}.jsonl`);
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
  };
  const file = (target: CommentTarget) => {
    // The id becomes a path: only a task id may.
    if (!ULID_PATTERN.test(target.taskId)) throw new Error(`not a task id: ${target.taskId}`);
    return join(dir, `${target.taskId}.md`);
  };
  const read = async (target: CommentTarget) => {
    try {
      return await readFile(file(target), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  };
  const write = async (target: CommentTarget, body: string) => {
    await mkdir(dir, { recursive: true });
    const path = file(target);
    const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    await writeFile(temp, body.endsWith("\n") ? body : `${body}\n`);
    await rename(temp, path);
  };
  return {
    kind: "file",
    author: async () => AUTHOR,
    async createComment(target, body) {
      await write(target, body);
      return COMMENT_ID;
    },
    async updateComment(target, commentId, body) {
      // Deleting the file is deleting the comment: it is created again, as on GitHub.
      if ((await read(target)) === undefined) throw new CommentGone(commentId);
      await write(target, body);
    },
    async deleteComment(target) {
      await rm(file(target), { force: true });
    },
    async *listComments(target) {
      const body = await read(target);
      if (body !== undefined) yield { id: COMMENT_ID, body: body.replace(/\n$/, ""), author: AUTHOR };
    },
    async openPullRequest(r, input) {
      const known = await pulls(r);
      const open = known.find((p) => p.head === input.head && p.state === "open");
      if (open) return open;
      const number = (known.at(-1)?.number ?? 0) + 1;
      // Where it would be on GitHub: comparing the pushed branch with its base.
      const url = `https://github.com/${r.owner}/${r.repo}/compare/${encodeURIComponent(input.base)}...${encodeURIComponent(input.head)}`;
      const pr: PullRequest = { number, url, head: input.head, base: input.base, state: "open" };
      await mkdir(repoDir(r), { recursive: true });
      const path = join(repoDir(r), `${number}.json`);
      await writeFile(
        `${path}.tmp`,
        `${JSON.stringify({ ...pr, title: input.title, body: input.body }, null, 2)}\n`,
      );
      await rename(`${path}.tmp`, path);
      return pr;
    },
    async getPullRequest(r, number) {
      const pr = (await pulls(r)).find((p) => p.number === number);
      if (!pr) throw new GitHubError(404, `no pull request #${number} recorded in ${repoDir(r)}`);
      return { number: pr.number, url: pr.url, head: pr.head, base: pr.base, state: pr.state };
    },
    async addReaction(r, commentId, content) {
      // A reaction names its comment, not its thread: one log per repository.
      await record(r, "reactions", { reaction: content, commentId });
    },
    async reply(thread, body) {
      const id = nextReply++;
      await record(thread, String(thread.issueNumber), { reply: id, body });
      return id;
    },
    permission: async () => "write",
  };
}
