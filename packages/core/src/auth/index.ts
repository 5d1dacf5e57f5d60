import { createHash, randomBytes } from "node:crypto";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import { VisibleError } from "../error.ts";

/**
 * A token's item in the Tasks table: exactly what ElectroDB's `apitoken` entity (service
 * `conveyor`, version 1) wrote, its key lower-cased as ElectroDB does, so either reads the
 * other's (test/items.test.ts). Plain commands: the WebSocket `$connect` loads no ElectroDB.
 */
const tokenKey = (tokenHash: string) => ({
  pk: `$conveyor#tokenhash_${tokenHash}`.toLowerCase(),
  sk: "$apitoken_1",
});

/** An API token, stored only as its SHA-256. */
interface ApiToken {
  tokenHash: string;
  tenantId: string;
  userId: string;
  name?: string;
  createdAt: number;
}

export namespace Auth {
  const PREFIX = "cvy_";

  export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

  /** A fresh token: `cvy_` + 32 random bytes, base64url. Only its hash is stored. */
  export function generate(): string {
    return PREFIX + randomBytes(32).toString("base64url");
  }

  /** Stores a token for a user; returns it (shown once). Pass `token` to keep a known one (local dev users). */
  export async function mint(
    core: Core,
    input: { tenantId: string; userId: string; name?: string; token?: string },
  ): Promise<string> {
    const token = input.token ?? generate();
    const item: ApiToken = {
      tokenHash: hashToken(token),
      tenantId: input.tenantId,
      userId: input.userId,
      name: input.name,
      createdAt: core.now(),
    };
    await core.db.send(
      new PutCommand({
        TableName: core.config.tables.tasks,
        Item: { ...item, ...tokenKey(item.tokenHash), __edb_e__: "apitoken", __edb_v__: "1" },
      }),
    );
    return token;
  }

  /** The user a bearer token belongs to; UNAUTHORIZED for a missing, malformed or unknown token. */
  export async function verify(
    core: Core,
    token: string | undefined,
  ): Promise<Extract<Actor, { type: "user" }>> {
    if (!token?.startsWith(PREFIX) || token.length > 100) {
      throw new VisibleError("auth", "auth.invalid_token", "A valid bearer token is required");
    }
    const { Item } = await core.db.send(
      new GetCommand({ TableName: core.config.tables.tasks, Key: tokenKey(hashToken(token)) }),
    );
    const stored = Item as ApiToken | undefined;
    if (!stored) throw new VisibleError("auth", "auth.invalid_token", "A valid bearer token is required");
    return { type: "user", tenantId: stored.tenantId, userId: stored.userId };
  }

  /** Reads `Authorization: Bearer <token>`. */
  export function bearer(header: string | undefined): string | undefined {
    const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
    return match?.[1];
  }
}
