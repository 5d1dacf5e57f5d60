import { createHmac, randomUUID } from "node:crypto";
import type { FakeComment } from "./fake-github.ts";

/**
 * Webhook deliveries as GitHub sends them: the `issue_comment` payload's shape (the fields
 * GitHub documents, trimmed of URLs nobody reads), `X-GitHub-Event`, `X-GitHub-Delivery`
 * (a GUID) and `X-Hub-Signature-256`: `sha256=` + the hex HMAC-SHA256 of the raw body.
 */
export function issueCommentPayload(
  comment: FakeComment,
  o: { pullRequest?: boolean; userType?: "User" | "Bot"; action?: string } = {},
) {
  const repo = { owner: comment.owner, name: comment.repo };
  const user = (login: string, type = "User") => ({
    login,
    id: 1000 + login.length,
    node_id: `U_${login}`,
    type,
    site_admin: false,
  });
  return {
    action: o.action ?? "created",
    issue: {
      id: 5000 + comment.issueNumber,
      number: comment.issueNumber,
      title: `Thread ${comment.issueNumber}`,
      user: user("octocat"),
      state: "open",
      body: "",
      ...(o.pullRequest
        ? {
            pull_request: {
              url: `https://api.github.com/repos/${repo.owner}/${repo.name}/pulls/${comment.issueNumber}`,
              html_url: `https://github.com/${repo.owner}/${repo.name}/pull/${comment.issueNumber}`,
            },
          }
        : {}),
    },
    comment: {
      id: comment.id,
      node_id: `IC_${comment.id}`,
      html_url: `https://github.com/${repo.owner}/${repo.name}/issues/${comment.issueNumber}#issuecomment-${comment.id}`,
      body: comment.body,
      user: user(comment.author, o.userType ?? (comment.author.endsWith("[bot]") ? "Bot" : "User")),
      created_at: comment.createdAt,
      updated_at: comment.updatedAt,
      author_association: "MEMBER",
    },
    repository: {
      id: 42,
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      private: false,
      owner: user(repo.owner, "Organization"),
      default_branch: "main",
    },
    sender: user(comment.author, o.userType ?? "User"),
  };
}

/** GitHub's signature of a raw body. */
export const sign = (secret: string, raw: string) =>
  `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`;

/** Posts one delivery to the API as GitHub would; `signature: null` leaves the header out. */
export async function deliver(
  apiUrl: string,
  secret: string,
  event: string,
  payload: unknown,
  o: { deliveryId?: string; signature?: string | null; raw?: string } = {},
) {
  const raw = o.raw ?? JSON.stringify(payload);
  const deliveryId = o.deliveryId ?? randomUUID();
  const signature = o.signature === undefined ? sign(secret, raw) : o.signature;
  const res = await fetch(`${apiUrl}/v1/github/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/abc1234",
      "x-github-event": event,
      "x-github-delivery": deliveryId,
      "x-github-hook-id": "1",
      ...(signature === null ? {} : { "x-hub-signature-256": signature }),
    },
    body: raw,
  });
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, deliveryId };
}
