/**
 * One comment per pull request with its preview stage's URLs, edited in place on every
 * deploy and marked removed when the PR closes (DESIGN §11). It goes through core's GitHub
 * port (`@conveyor/core/github`: Octokit with GitHub's rate limits honoured, 5xx retried,
 * comments paged) and finds its comment again the way the status comment does: by a hidden
 * marker on its first line, and by author when the token can say who it is.
 *
 *   tsx scripts/github/preview-comment.ts deployed   # after `sst deploy`: reads .sst/outputs.json
 *   tsx scripts/github/preview-comment.ts removed    # after `sst remove`
 *
 * Environment (GitHub Actions sets the first two): GITHUB_REPOSITORY (owner/name),
 * GITHUB_TOKEN (pull-requests: write), PR_NUMBER, STAGE; optional GITHUB_API_URL,
 * GITHUB_SHA, GITHUB_SERVER_URL + GITHUB_RUN_ID (a link to the run), OUTPUTS (path).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Config } from "@conveyor/core/config";
import { type CommentTarget, type GitHubPort, githubPort } from "@conveyor/core/github";

/** The first line of the preview comment, per stage. */
export const markerOf = (stage: string) => `<!-- conveyor:preview=${stage} -->`;

export interface PreviewOutputs {
  api?: string;
  ws?: string;
}

export interface PreviewState {
  stage: string;
  state: "deployed" | "removed";
  outputs?: PreviewOutputs;
  sha?: string;
  runUrl?: string;
  at: string;
}

/** The comment's Markdown. URLs come from our own deploy, but are still shown only if they are http(s)/ws(s). */
export function render(p: PreviewState): string {
  const valid = (value: string | undefined, scheme: RegExp) =>
    value && scheme.test(value) && !/[\s`<>|]/.test(value) ? value : undefined;
  const lines = [markerOf(p.stage)];
  if (p.state === "deployed") {
    const api = valid(p.outputs?.api, /^https:\/\//);
    const ws = valid(p.outputs?.ws, /^wss:\/\//);
    lines.push(
      `**Conveyor preview** \`${p.stage}\` is deployed${p.sha ? ` at \`${p.sha.slice(0, 7)}\`` : ""}.`,
      "",
      "| | |",
      "| --- | --- |",
      `| HTTP API | ${api ? `\`${api}\`` : "(missing from the outputs)"} |`,
      `| WebSocket | ${ws ? `\`${ws}\`` : "(missing from the outputs)"} |`,
      "",
      `Try it with a token minted for this stage (under \`sst shell --stage ${p.stage}\`, see docs/deploy.md):`,
      "",
      "```bash",
      `CONVEYOR_API_URL=${api ?? "<api>"} CONVEYOR_WS_URL=${ws ?? "<ws>"} CONVEYOR_TOKEN=cvy_... \\`,
      '  pnpm conveyor run "add a health check" --repo <owner/name>',
      "```",
    );
  } else {
    lines.push(`**Conveyor preview** \`${p.stage}\` was removed with the pull request.`);
  }
  lines.push("", `<sub>${p.runUrl ? `[workflow run](${p.runUrl}) · ` : ""}updated ${p.at}</sub>`);
  return lines.join("\n");
}

/**
 * Creates the comment, or edits the one carrying `marker` (left alone when already
 * identical). Duplicates from an earlier crash are deleted, oldest kept, but only when the
 * token knows its login: without it, another author's comment could carry the marker.
 */
export async function upsertComment(port: GitHubPort, target: CommentTarget, marker: string, body: string) {
  const author = await port.author();
  const mine = [];
  for await (const comment of port.listComments(target)) {
    if (!comment.body.startsWith(marker)) continue;
    if (author !== undefined && comment.author !== author) continue;
    mine.push(comment);
  }
  const [first, ...extra] = mine;
  if (author !== undefined) for (const comment of extra) await port.deleteComment(target, comment.id);
  if (!first) return { id: await port.createComment(target, body), action: "created" as const };
  if (first.body === body) return { id: first.id, action: "unchanged" as const };
  await port.updateComment(target, first.id, body);
  return { id: first.id, action: "updated" as const };
}

export async function main(argv: string[], env: Record<string, string | undefined>, port?: GitHubPort) {
  const state = argv[0];
  if (state !== "deployed" && state !== "removed")
    throw new Error("usage: preview-comment.ts deployed|removed");
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? "").split("/");
  const issueNumber = Number(env.PR_NUMBER);
  const stage = env.STAGE ?? `pr-${issueNumber}`;
  if (!owner || !repo || !Number.isInteger(issueNumber) || issueNumber <= 0) {
    throw new Error("GITHUB_REPOSITORY (owner/name) and PR_NUMBER must be set");
  }
  const outputs =
    state === "deployed"
      ? (JSON.parse(readFileSync(resolve(env.OUTPUTS ?? ".sst/outputs.json"), "utf8")) as PreviewOutputs)
      : undefined;
  const github =
    port ??
    githubPort(
      Config.fromEnv({ CONVEYOR_GITHUB_TOKEN: env.GITHUB_TOKEN, GITHUB_API_URL: env.GITHUB_API_URL }, []),
    );
  if (github.kind !== "api") throw new Error("GITHUB_TOKEN must be set");
  const runUrl =
    env.GITHUB_SERVER_URL && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  const body = render({ stage, state, outputs, sha: env.GITHUB_SHA, runUrl, at: new Date().toISOString() });
  const target = { taskId: stage, owner, repo, issueNumber };
  return upsertComment(github, target, markerOf(stage), body);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await main(process.argv.slice(2), process.env);
  console.log(`preview comment ${result.action} (${result.id})`);
}
