import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Core } from "../core.ts";

/** A Conveyor user, as a GitHub login is linked to one. */
export interface LinkedUser {
  tenantId: string;
  userId: string;
}

/** GitHub logins: letters, digits and single hyphens, at most 39 characters. */
export const LOGIN_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/;

// Plain commands in ElectroDB's key style (as Auth's tokens): one item per login, lower-cased
// because GitHub logins are case-insensitive.
const linkKey = (login: string) => ({
  pk: `$conveyor#githublogin_${login.toLowerCase()}`,
  sk: "$githublink_1",
});

/**
 * Links a GitHub login to a Conveyor user (an admin's `scripts/link-github.ts`). A login
 * has one user; linking it again replaces the user.
 */
export async function link(core: Core, login: string, user: LinkedUser): Promise<void> {
  if (!LOGIN_PATTERN.test(login)) throw new Error(`not a GitHub login: ${login}`);
  await core.db.send(
    new PutCommand({
      TableName: core.config.tables.tasks,
      Item: {
        ...linkKey(login),
        login: login.toLowerCase(),
        tenantId: user.tenantId,
        userId: user.userId,
        createdAt: core.now(),
        __edb_e__: "githublink",
        __edb_v__: "1",
      },
    }),
  );
}

export async function unlink(core: Core, login: string): Promise<void> {
  await core.db.send(new DeleteCommand({ TableName: core.config.tables.tasks, Key: linkKey(login) }));
}

/** The user a login is linked to: configuration (`CONVEYOR_GITHUB_USERS`) first, then the table. */
export async function userOf(core: Core, login: string): Promise<LinkedUser | undefined> {
  const configured = core.config.github?.users?.[login.toLowerCase()];
  if (configured) return configured;
  if (!LOGIN_PATTERN.test(login)) return undefined;
  const { Item } = await core.db.send(
    new GetCommand({ TableName: core.config.tables.tasks, Key: linkKey(login), ConsistentRead: true }),
  );
  if (typeof Item?.tenantId !== "string" || typeof Item.userId !== "string") return undefined;
  return { tenantId: Item.tenantId, userId: Item.userId };
}
