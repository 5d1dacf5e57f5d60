import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ULID_PATTERN } from "../util/ulid.ts";
import { CommentGone, type CommentTarget, type GitHubPort } from "./port.ts";

/** The one comment of a task, as the file port numbers it. */
const COMMENT_ID = 1;
const AUTHOR = "conveyor";

/**
 * GitHub stand-in for the local stack without a token: each render lands in
 * `<dir>/<taskId>.md`, written atomically (temp file + rename) so a reader
 * (`conveyor status <id> --comment`) never sees half a comment.
 */
export function fileGitHub(dir: string): GitHubPort {
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
  };
}
