import { ListInput } from "@conveyor/core/approval/input";
import { Hono } from "hono/tiny";
import { useCore } from "../config.ts";
import { ApprovalList } from "./answers.ts";
import { doc } from "./doc.ts";
import { validate } from "./validate.ts";

/** The acting user's approvals across their tasks (a task's own are under `/v1/tasks/{id}/approvals`). */
export const ApprovalApi = new Hono().get(
  "/",
  doc({
    summary: "The user's approvals across tasks",
    tags: ["approvals"],
    ok: { 200: { description: "A page", schema: ApprovalList } },
  }),
  validate("query", ListInput),
  async (c) => {
    // Loaded on the first call: the task routes' cold start does not pay for the approval domain.
    const { Approval } = await import("@conveyor/core/approval");
    const page = await Approval.fromUser(useCore(), c.req.valid("query"));
    return c.json({ approvals: page.approvals.map(Approval.present), nextCursor: page.nextCursor }, 200);
  },
);
