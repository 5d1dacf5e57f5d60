import { createHash } from "node:crypto";
import * as v from "valibot";
import { Actor } from "../actor.ts";
import type { Core } from "../core.ts";
import { pages } from "../dynamo.ts";
import { VisibleError } from "../error.ts";
import { store } from "../store.ts";
import { ULID_PATTERN } from "../util/ulid.ts";
import { type Info, serialize } from "./info.ts";
import { ListInput } from "./input.ts";

export { ListInput };

/** A task's approvals, oldest first. */
export async function ofTask(core: Core, taskId: string): Promise<Info[]> {
  const result = await store(core).approval.query.primary({ taskId }).go({ pages: "all", order: "asc" });
  return result.data.map(serialize);
}

/** A task's pending approvals (at most one while it waits; more only after a crash mid-write). */
export async function pendingOf(core: Core, taskId: string): Promise<Info[]> {
  return (await ofTask(core, taskId)).filter((a) => a.status === "pending");
}

/** Every pending approval, by page: pending ones are few, and this reads no others. */
export async function* allPending(core: Core): AsyncGenerator<Info[]> {
  const query = store(core).approval.query.byStatus({ status: "pending" });
  for await (const page of pages((cursor) => query.go({ cursor, limit: 100 }))) yield page.map(serialize);
}

/** The acting user's approvals across their tasks, newest first, with a cursor bound to the caller. */
export async function fromUser(core: Core, raw: unknown) {
  const input = v.parse(ListInput, raw);
  const { tenantId, userId } = Actor.user();
  const owner = `${tenantId}/${userId}/${input.status ?? ""}`;
  const before = input.cursor ? decode(input.cursor, owner) : undefined;
  const entity = store(core).approval;
  const query =
    input.status === "pending"
      ? entity.query.byUserStatus({ tenantId, userId, status: "pending" })
      : entity.query.byUser({ tenantId, userId });
  const ranged = before ? query.lt({ approvalId: before }) : query;
  // `decided` reads the user's partition without the pending ones; `count` fills the page past the filter.
  const filtered = input.status === "decided" ? ranged.where((a, op) => op.ne(a.status, "pending")) : ranged;
  const result = await filtered.go({ order: "desc", limit: input.limit + 1, count: input.limit + 1 });
  const approvals = result.data.slice(0, input.limit).map(serialize);
  const last = approvals.at(-1);
  return {
    approvals,
    nextCursor: result.data.length > input.limit && last ? encode(last.approvalId, owner) : undefined,
  };
}

const check = (owner: string, approvalId: string) =>
  createHash("sha256").update(`approvals/${owner}/${approvalId}`).digest("hex").slice(0, 16);

function encode(approvalId: string, owner: string) {
  return Buffer.from(`${approvalId}.${check(owner, approvalId)}`).toString("base64url");
}

function decode(cursor: string, owner: string): string {
  const [approvalId, mac] = Buffer.from(cursor, "base64url").toString().split(".");
  if (!approvalId || !mac || !ULID_PATTERN.test(approvalId) || check(owner, approvalId) !== mac) {
    throw new VisibleError("input", "cursor.invalid", "Invalid cursor");
  }
  return approvalId;
}
