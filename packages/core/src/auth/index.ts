import { createHash, randomBytes } from "node:crypto";
import type { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import { VisibleError } from "../error.ts";

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
    await core.store.apiToken
      .put({
        tokenHash: hashToken(token),
        tenantId: input.tenantId,
        userId: input.userId,
        name: input.name,
        createdAt: core.now(),
      })
      .go({ response: "none" });
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
    const result = await core.store.apiToken.get({ tokenHash: hashToken(token) }).go();
    if (!result.data)
      throw new VisibleError("auth", "auth.invalid_token", "A valid bearer token is required");
    return { type: "user", tenantId: result.data.tenantId, userId: result.data.userId };
  }

  /** Reads `Authorization: Bearer <token>`. */
  export function bearer(header: string | undefined): string | undefined {
    const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
    return match?.[1];
  }
}
