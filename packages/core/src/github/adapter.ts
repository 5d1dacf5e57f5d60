import type { Config } from "../config.ts";
import { fileGitHub } from "./file.ts";
import type { GitHubPort } from "./port.ts";

const disabled: GitHubPort = {
  kind: "disabled",
  author: async () => undefined,
  createComment: async () => {
    throw new Error("GitHub is not configured");
  },
  updateComment: async () => {
    throw new Error("GitHub is not configured");
  },
  deleteComment: async () => undefined,
  async *listComments() {},
  openPullRequest: async () => {
    throw new Error("GitHub is not configured");
  },
  getPullRequest: async () => {
    throw new Error("GitHub is not configured");
  },
  addReaction: async () => {
    throw new Error("GitHub is not configured");
  },
  reply: async () => {
    throw new Error("GitHub is not configured");
  },
  permission: async () => "none",
};

/**
 * The port the configuration asks for: the API with a token, else the file port when a
 * comments directory is set (the local stack), else disabled. The Octokit client is
 * loaded on first use, so entry points that never comment never load it.
 */
export function githubPort(config: Config): GitHubPort {
  const github = config.github;
  if (github?.token) {
    const { apiUrl, token } = github;
    let port: Promise<GitHubPort> | undefined;
    const api = () => {
      port ??= import("./octokit.ts").then((m) => m.octokitGitHub({ apiUrl, token, limits: config.limits }));
      return port;
    };
    return {
      kind: "api",
      author: async () => (await api()).author(),
      createComment: async (t, body) => (await api()).createComment(t, body),
      updateComment: async (t, id, body) => (await api()).updateComment(t, id, body),
      deleteComment: async (t, id) => (await api()).deleteComment(t, id),
      async *listComments(t) {
        yield* (await api()).listComments(t);
      },
      openPullRequest: async (r, input) => (await api()).openPullRequest(r, input),
      getPullRequest: async (r, n) => (await api()).getPullRequest(r, n),
      addReaction: async (r, id, content) => (await api()).addReaction(r, id, content),
      reply: async (t, body) => (await api()).reply(t, body),
      permission: async (r, login) => (await api()).permission(r, login),
    };
  }
  if (github?.commentsDir) return fileGitHub(github.commentsDir);
  return disabled;
}
