/**
 * Secrets set per stage with `sst secret set <Name> <value> [--stage s]` (or `--fallback`
 * once, for every preview stage). The AgentCore runtime's ARN is the `AgentRuntime` secret,
 * defined beside the runtime in infra/agent.ts because infra may create the runtime instead.
 */

/**
 * The GitHub token status comments are written with (a fine-grained PAT or an App
 * installation token with Issues/Pull requests write). Empty, the placeholder, turns
 * comments off: the comment dispatcher then has nothing to write with.
 */
export const githubToken = new sst.Secret("GitHubToken", "");

/**
 * The secret GitHub signs webhook deliveries with (`POST /v1/github/webhook`, docs/deploy.md).
 * Empty, the placeholder, turns the route off (404): nothing unsigned is ever accepted.
 */
export const githubWebhookSecret = new sst.Secret("GitHubWebhookSecret", "");
