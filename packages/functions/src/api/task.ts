import { Actor } from "@conveyor/core/actor";
import { DecideInput } from "@conveyor/core/approval/input";
import { Auth } from "@conveyor/core/auth";
import { TaskEvent } from "@conveyor/core/event";
import { EventFormat } from "@conveyor/core/event/schema";
import { CreateInput as NudgeInput } from "@conveyor/core/nudge/input";
import { Task } from "@conveyor/core/task";
import type { Context, Next } from "hono";
import { Hono } from "hono/tiny";
import * as v from "valibot";
import { useCore } from "../config.ts";
import { ApprovalAnswer, ApprovalList, EventPage, NudgeAnswer, TaskAnswer, TaskPage } from "./answers.ts";
import { doc } from "./doc.ts";
import { validate } from "./validate.ts";

const present = async (task: Task.Info) => Task.present(task, await Task.queuePosition(useCore(), task));

const tags = ["tasks"];
/** `?format=ag-ui` serves the same page as AG-UI events (core/src/event/ag-ui.ts). */
const EventsQuery = v.object({ ...TaskEvent.PageInput.entries, format: v.optional(EventFormat) });

export const TaskApi = new Hono()
  .post(
    "/",
    doc({
      summary: "Submit a task",
      description:
        "Send `Idempotency-Key` to make a retry answer the first submission (200) instead of a new task.",
      tags,
      ok: {
        201: { description: "Submitted", schema: TaskAnswer },
        200: { description: "A replay of an earlier submission", schema: TaskAnswer },
      },
      errors: [413, 415, 429],
    }),
    validate("json", Task.SubmitInput),
    async (c) => {
      const source = c.req.header("x-conveyor-source") === "cli" ? "cli" : "api";
      const idempotencyKey = c.req.header("idempotency-key");
      const { task, replayed } = await Task.submit(useCore(), c.req.valid("json"), {
        idempotencyKey,
        source,
      });
      return c.json({ task: await present(task) }, replayed ? 200 : 201);
    },
  )
  .get(
    "/",
    doc({
      summary: "The user's tasks, newest first",
      tags,
      ok: { 200: { description: "A page", schema: TaskPage } },
    }),
    validate("query", Task.ListInput),
    async (c) => {
      const page = await Task.fromUser(useCore(), c.req.valid("query"));
      return c.json({ tasks: await Promise.all(page.tasks.map(present)), nextCursor: page.nextCursor }, 200);
    },
  )
  .get(
    "/:id",
    doc({
      summary: "One task",
      tags,
      ok: { 200: { description: "The task", schema: TaskAnswer } },
      errors: [404],
    }),
    async (c) => {
      const task = await Task.fromId(useCore(), c.req.param("id"));
      return c.json({ task: await present(task) }, 200);
    },
  )
  .get(
    "/:id/events",
    doc({
      summary: "A task's events strictly after `after`, oldest first",
      description:
        "Resume from `nextCursor`; it is left out once the task has ended and nothing is left. " +
        "`format=ag-ui` maps each event to AG-UI events carrying its `eventId` in `rawEvent`.",
      tags,
      ok: { 200: { description: "A page of events", schema: EventPage } },
      errors: [404],
    }),
    validate("query", EventsQuery),
    async (c) => {
      const core = useCore();
      const task = await Task.fromId(core, c.req.param("id"));
      const { format, ...query } = c.req.valid("query");
      const page = await TaskEvent.page(core, task, query);
      if (format !== "ag-ui") return c.json(page, 200);
      const { toAgUi } = await import("@conveyor/core/event/ag-ui");
      // Kept out of the route's type (`as never`): the typed client (CLI, web) reads Conveyor's shape.
      return c.json({ events: page.events.flatMap(toAgUi), nextCursor: page.nextCursor }, 200) as never;
    },
  )
  .post(
    "/:id/nudges",
    doc({
      summary: "Steer a running task with a message",
      tags,
      ok: { 202: { description: "Accepted; the agent reads it at its next turn", schema: NudgeAnswer } },
      errors: [404, 409, 413, 415, 429],
    }),
    validate("json", NudgeInput),
    async (c) => {
      const { Nudge } = await import("@conveyor/core/nudge");
      const nudge = await Nudge.create(useCore(), c.req.param("id"), c.req.valid("json"));
      return c.json({ nudge: Nudge.present(nudge) }, 202);
    },
  )
  .post(
    "/:id/cancel",
    doc({
      summary: "Cancel a task",
      tags,
      ok: { 202: { description: "Cancellation under way", schema: TaskAnswer } },
      errors: [404, 409],
    }),
    async (c) => {
      const task = await Task.cancel(useCore(), c.req.param("id"));
      return c.json({ task: await present(task) }, 202);
    },
  )
  .get(
    "/:id/approvals",
    doc({
      summary: "A task's approvals",
      tags: ["approvals"],
      ok: { 200: { description: "Its approvals", schema: ApprovalList } },
      errors: [404],
    }),
    async (c) => {
      const { Approval } = await import("@conveyor/core/approval");
      const approvals = await Approval.fromTask(useCore(), c.req.param("id"));
      return c.json({ approvals: approvals.map(Approval.present) }, 200);
    },
  )
  .post(
    "/:id/approvals/:approvalId",
    doc({
      summary: "Approve or deny a pending approval",
      tags: ["approvals"],
      ok: { 200: { description: "The decided approval", schema: ApprovalAnswer } },
      errors: [404, 409, 413, 415],
    }),
    validate("json", DecideInput),
    async (c) => {
      const { Approval } = await import("@conveyor/core/approval");
      const approval = await Approval.decide(
        useCore(),
        c.req.param("id"),
        c.req.param("approvalId"),
        c.req.valid("json"),
      );
      return c.json({ approval: Approval.present(approval) }, 200);
    },
  );

/** Resolves the bearer token to a user and runs the rest of the request as them. */
export const requireUser = async (c: Context, next: Next) => {
  const actor = await Auth.verify(useCore(), Auth.bearer(c.req.header("authorization")));
  await Actor.provide(actor, next);
};
