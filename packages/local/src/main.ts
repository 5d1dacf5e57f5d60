/**
 * `pnpm start`: the whole of Conveyor on this machine, no AWS account, no Docker.
 * Flags: --port N (API, default 8787; 0 = free ports everywhere), --persist DIR, --state-dir DIR,
 * --brain scripted|claude (the agents' default; claude needs ANTHROPIC_API_KEY or another model setting).
 * GITHUB_TOKEN posts status comments to GitHub (GITHUB_API_URL for Enterprise Server); without it
 * they are written to <state-dir>/comments/<taskId>.md. GITHUB_WEBHOOK_SECRET turns on
 * `POST /v1/github/webhook` (`/conveyor` comments); CONVEYOR_GITHUB_USERS=login:user,... links
 * GitHub logins to the local users (dev, alice).
 */
import { parseArgs } from "node:util";
import { logger } from "@conveyor/core/log";
import { ensureWebBuild } from "@conveyor/web/build";
import { startLocalStack } from "./stack.ts";

// Node 20 is supported here; the SDK's notice about future releases is noise in a dev loop.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    persist: { type: "string" },
    "state-dir": { type: "string" },
    brain: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  strict: true,
});

if (values.help) {
  console.log(
    "Usage: pnpm start [--port 8787] [--persist DIR] [--state-dir .conveyor] [--brain scripted|claude]",
  );
  process.exit(0);
}

const brain = values.brain ?? process.env.CONVEYOR_BRAIN;
if (brain !== undefined && brain !== "scripted" && brain !== "claude") {
  console.error(`--brain must be scripted or claude, got ${brain}`);
  process.exit(2);
}

const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}

// The dashboard is built on first start (and when its sources changed): a second or two.
let distDir: string | undefined;
try {
  distDir = await ensureWebBuild();
} catch (error) {
  console.error(`The dashboard could not be built, starting without it: ${(error as Error).message}`);
}

let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    port,
    persistDir: values.persist,
    stateDir: values["state-dir"],
    brain,
    githubToken: process.env.GITHUB_TOKEN,
    githubApiUrl: process.env.GITHUB_API_URL,
    githubWebhookSecret: process.env.GITHUB_WEBHOOK_SECRET,
    githubUsers: process.env.CONVEYOR_GITHUB_USERS,
    web: distDir ? { distDir } : undefined,
    // The emulators' lines go out as the handlers' do: one JSON line each, at their own level.
    log: ({ level, msg, ...rest }) => {
      const at = level === "debug" || level === "warn" || level === "error" ? level : "info";
      logger[at](String(msg), rest);
    },
  });
} catch (error) {
  console.error(`\nConveyor could not start: ${(error as Error).message}`);
  process.exit(1);
}

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
console.log(`
${bold("Conveyor is running locally")} (ready in ${(stack.bootMs / 1000).toFixed(1)} s)

  Dashboard  ${stack.webUrl ?? "not built (see above)"}
  API        ${stack.apiUrl}
  WebSocket  ${stack.wsUrl}
  DynamoDB   ${stack.dynamoEndpoint}${values.persist ? ` (data in ${values.persist})` : " (in memory)"}
  SQS        ${stack.sqsEndpoint}
  AgentCore  ${stack.agentcoreEndpoint}
  GitHub     ${
    process.env.GITHUB_TOKEN
      ? `status comments on ${stack.config.github?.apiUrl}`
      : `status comments in ${stack.config.github?.commentsDir} (set GITHUB_TOKEN to post them)`
  }
  Webhook    ${
    stack.config.github?.webhookSecret
      ? `${stack.apiUrl}/v1/github/webhook (links: ${Object.keys(stack.config.github.users ?? {}).join(", ") || "none; set CONVEYOR_GITHUB_USERS"})`
      : "off (set GITHUB_WEBHOOK_SECRET to take /conveyor comments)"
  }
  Agents     ${brain === "claude" ? "claude (a real coding agent; --brain scripted for the scripted one)" : "scripted (--brain claude for a real coding agent)"}
  Token      ${stack.token}   (user "dev"; "alice" is in ${stack.stateDir}/local.json)

${
  stack.webUrl
    ? `Open the dashboard, signed in as "dev":

  ${stack.webUrl}/?token=${stack.token}

`
    : ""
}Try it, in another terminal:

  pnpm conveyor run "add a health check" --repo acme/api

Press Ctrl-C to stop.`);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.error(`\n${signal}: stopping…`);
  stack.stop().finally(() => process.exit(0));
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
