import * as v from "valibot";
import { LOGIN_PATTERN } from "./link.ts";

const User = v.object({
  login: v.string(),
  /** "User", "Bot" or "Organization". */
  type: v.optional(v.string()),
});

/** The part of an `issue_comment` delivery Conveyor reads; everything else is dropped. */
export const IssueCommentEvent = v.object({
  action: v.string(),
  comment: v.object({
    id: v.number(),
    body: v.optional(v.nullable(v.string()), ""),
    user: v.nullable(User),
    created_at: v.string(),
  }),
  issue: v.object({
    number: v.pipe(v.number(), v.integer(), v.minValue(1)),
    /** Present when the issue is a pull request. */
    pull_request: v.optional(v.unknown()),
  }),
  repository: v.object({
    name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,100}$/)),
    owner: v.object({ login: v.pipe(v.string(), v.regex(LOGIN_PATTERN)) }),
  }),
});
export type IssueCommentEvent = v.InferOutput<typeof IssueCommentEvent>;
