import { agentRuntime } from "./agent.ts";
import { handler, handlersOf } from "./function.ts";
import { queues } from "./queue.ts";
import { githubToken, githubWebhookSecret } from "./secrets.ts";
import { storage } from "./storage.ts";

/**
 * The HTTP API: one Hono function behind API Gateway's HTTP API (payload format 2.0).
 * CORS is open (SST's default) because callers authenticate with a bearer token, never a
 * cookie; access logs are on (SST's default, kept a month).
 */
export const api = new sst.aws.ApiGatewayV2("Api", { cors: true });

const [app, ...others] = handlersOf("http");
if (!app || others.length > 0) throw new Error("handlers.ts must name exactly one http handler");

/**
 * Every method and path goes to Hono, which routes, authenticates and answers 404 itself.
 * `$default` rather than `ANY /{proxy+}`: a greedy path does not match `/`, and one route
 * keeps API Gateway from answering anything Hono never saw.
 */
export const route = api.route(
  "$default",
  // HTTP API integrations time out at 30 s; the function gives up first.
  handler(
    app.name,
    {
      ...storage,
      ...queues,
      AgentRuntime: agentRuntime,
      // `/conveyor` comments: deliveries verified with the secret, answered with the token.
      GitHubToken: githubToken,
      GitHubWebhookSecret: githubWebhookSecret,
    },
    { timeout: "29 seconds" },
  ),
);

export const functions = { [app.name]: route.nodes.function.name };
