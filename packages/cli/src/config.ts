import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Connection } from "./client.ts";

/** Configuration is missing or unreadable; the message says how to fix it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const HOW_TO =
  "Start the local stack with `pnpm start` (it writes .conveyor/local.json), " +
  "or set CONVEYOR_API_URL and CONVEYOR_TOKEN (or pass --api-url and --token).";

/**
 * Where to reach the API, each setting taken from the first place that has it:
 * flags, then CONVEYOR_API_URL / CONVEYOR_TOKEN / CONVEYOR_WS_URL, then the local
 * stack's `local.json` (in CONVEYOR_STATE_DIR, else the nearest `.conveyor/` from cwd
 * up). The WebSocket URL is taken from local.json only along with its API URL: a
 * local socket must not be paired with another API (nor its token).
 */
export function resolveConnection(
  flags: { apiUrl?: string; token?: string; wsUrl?: string },
  env: Record<string, string | undefined>,
  cwd: string,
): Connection {
  let apiUrl = flags.apiUrl || env.CONVEYOR_API_URL;
  let token = flags.token || env.CONVEYOR_TOKEN;
  let wsUrl = flags.wsUrl || env.CONVEYOR_WS_URL;
  if (!apiUrl || !token) {
    const local = readLocalState(env, cwd);
    if (!apiUrl) wsUrl ||= local?.wsUrl;
    apiUrl ||= local?.apiUrl;
    token ||= local?.token;
  }
  if (!apiUrl) throw new ConfigError(`No Conveyor API configured. ${HOW_TO}`);
  if (!token) throw new ConfigError(`No token for ${apiUrl}. ${HOW_TO}`);
  if (!/^https?:\/\//.test(apiUrl))
    throw new ConfigError(`API URL must start with http:// or https://, got ${apiUrl}`);
  if (wsUrl && !/^wss?:\/\//.test(wsUrl))
    throw new ConfigError(`WebSocket URL must start with ws:// or wss://, got ${wsUrl}`);
  return wsUrl ? { apiUrl, token, wsUrl } : { apiUrl, token };
}

/** Reads what `pnpm start` writes for clients to find it (`{ apiUrl, wsUrl, token }`). */
function readLocalState(
  env: Record<string, string | undefined>,
  cwd: string,
): { apiUrl?: string; token?: string; wsUrl?: string } | undefined {
  const file = env.CONVEYOR_STATE_DIR
    ? join(resolve(cwd, env.CONVEYOR_STATE_DIR), "local.json")
    : findUp(cwd);
  if (!file || !existsSync(file)) return undefined;
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(
      `Cannot read ${file}: ${(error as Error).message}. Restart the local stack with \`pnpm start\`.`,
    );
  }
  if (!state || typeof state !== "object") throw new ConfigError(`${file} does not hold a JSON object`);
  const { apiUrl, token, wsUrl } = state as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" && value ? value : undefined);
  // wsUrl is null while the local stack serves no WebSocket.
  return { apiUrl: text(apiUrl), token: text(token), wsUrl: text(wsUrl) };
}

/**
 * The local stack's state directory, found as local.json is: CONVEYOR_STATE_DIR, else
 * the nearest `.conveyor/` holding a local.json from cwd up.
 */
export function localStateDir(env: Record<string, string | undefined>, cwd: string): string | undefined {
  if (env.CONVEYOR_STATE_DIR) return resolve(cwd, env.CONVEYOR_STATE_DIR);
  const file = findUp(cwd);
  return file ? dirname(file) : undefined;
}

/** Like git, works from any folder inside the project. */
function findUp(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const file = join(dir, ".conveyor", "local.json");
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) return undefined;
  }
}
