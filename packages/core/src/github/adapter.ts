import type { Config } from "../config.ts";
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
 * comments directory is set (the local stack), else disabled. Either adapter (and the Octokit
 * client) is loaded on first use, so entry points that never comment never load it.
 */
export function githubPort(config: Config): GitHubPort {
  const github = config.github;
  if (github?.token) {
    const { apiUrl, token } = github;
    return deferred("api", () =>
      import("./octokit.ts").then((m) => m.octokitGitHub({ apiUrl, token, limits: config.limits })),
    );
  }
  const dir = github?.commentsDir;
  if (dir) return deferred("file", () => import("./file.ts").then((m) => m.fileGitHub(dir)));
  return disabled;
}

/** A port whose adapter is loaded by its first call. */
function deferred(kind: GitHubPort["kind"], load: () => Promise<GitHubPort>): GitHubPort {
  let port: Promise<GitHubPort> | undefined;
  const use = () => {
    port ??= load();
    return port;
  };
  return {
    kind,
    author: async () => (await use()).author(),
    createComment: async (t, body) => (await use()).createComment(t, body),
    updateComment: async (t, id, body) => (await use()).updateComment(t, id, body),
    deleteComment: async (t, id) => (await use()).deleteComment(t, id),
    async *listComments(t) {
      yield* (await use()).listComments(t);
    },
    openPullRequest: async (r, input) => (await use()).openPullRequest(r, input),
    getPullRequest: async (r, n) => (await use()).getPullRequest(r, n),
    addReaction: async (r, id, content) => (await use()).addReaction(r, id, content),
    reply: async (t, body) => (await use()).reply(t, body),
    permission: async (r, login) => (await use()).permission(r, login),
  };
}
