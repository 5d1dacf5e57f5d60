import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Auth } from "@conveyor/core/auth";
import type { createCore } from "@conveyor/core/core";

export const LOCAL_USERS = ["dev", "alice"] as const;
export type LocalTokens = Record<(typeof LOCAL_USERS)[number], string>;

/** What a running stack tells its clients (`.conveyor/local.json`). */
export interface LocalState {
  apiUrl: string;
  wsUrl: string;
  /** The dashboard, when the stack serves it; a task's page is `<webUrl>/tasks/<taskId>`. */
  webUrl?: string;
  token: string;
  tokens: LocalTokens;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  agentcoreEndpoint: string;
  pids: { stack: number; dynamodb?: number };
}

/** Fields that only hold while the stack runs: removed on a clean stop. */
const RUNNING_FIELDS = [
  "apiUrl",
  "wsUrl",
  "webUrl",
  "dynamoEndpoint",
  "sqsEndpoint",
  "agentcoreEndpoint",
  "pids",
] as const satisfies readonly (keyof LocalState)[];

/**
 * Writes `local.json`, replacing whatever a previous run left (a crashed run leaves its
 * pids behind). The returned function, called on a clean stop, keeps only what outlives the
 * stack (the tokens, which stay the same across restarts), so no dead pid or port is left to
 * be trusted; a file some later stack has written since is left alone.
 */
export function writeLocalState(stateDir: string, state: LocalState) {
  const file = join(stateDir, "local.json");
  write(file, state);
  return () => {
    let current: Partial<LocalState>;
    try {
      current = JSON.parse(readFileSync(file, "utf8")) as Partial<LocalState>;
    } catch {
      return;
    }
    if (current.pids?.stack !== state.pids.stack) return;
    const kept: Record<string, unknown> = { ...current };
    for (const field of RUNNING_FIELDS) delete kept[field];
    write(file, kept);
  };
}

/** Dev users keep the same tokens across restarts: they live in the state dir. */
export async function mintLocalTokens(core: ReturnType<typeof createCore>, stateDir: string) {
  const file = join(stateDir, "tokens.json");
  const saved: Record<string, string> = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const tokens: Record<string, string> = {};
  for (const userId of LOCAL_USERS) {
    tokens[userId] = await Auth.mint(core, {
      tenantId: "local",
      userId,
      name: "local dev",
      token: saved[userId],
    });
  }
  writeFileSync(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  return tokens as LocalTokens;
}

/** Whole or not at all: a client may read it at any moment. */
function write(file: string, value: unknown) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}
