import { Actor } from "@conveyor/core/actor";
import { Approval } from "@conveyor/core/approval";
import { Auth } from "@conveyor/core/auth";
import { TaskEvent } from "@conveyor/core/event";
import { Nudge } from "@conveyor/core/nudge";
import { Task } from "@conveyor/core/task";
import { type Context, Hono, type Next } from "hono";
import { useCore } from "../config.ts";
import { validate } from "./validate.ts";

const present = async (task: Task.Info) => Task.present(task, await Task.queuePosition(useCore(), task));

export const TaskApi = new Hono()
  .post("/", validate("json", Task.SubmitInput), async (c) => {
    const source = c.req.header("x-conveyor-source") === "cli" ? "cli" : "api";
    const idempotencyKey = c.req.header("idempotency-key");
    const { task, replayed } = await Task.submit(useCore(), c.req.valid("json"), {
      idempotencyKey,
      source,
    });
    return c.json({ task: await present(task) }, replayed ? 200 : 201);
  })
  .get("/", validate("query", Task.ListInput), async (c) => {
    const page = await Task.fromUser(useCore(), c.req.valid("query"));
    return c.json({ tasks: await Promise.all(page.tasks.map(present)), nextCursor: page.nextCursor }, 200);
  })
  .get("/:id", async (c) => {
    const task = await Task.fromId(useCore(), c.req.param("id"));
    return c.json({ task: await present(task) }, 200);
  })
  .get("/:id/events", validate("query", TaskEvent.PageInput), async (c) => {
    const core = useCore();
    const task = await Task.fromId(core, c.req.param("id"));
    return c.json(await TaskEvent.page(core, task, c.req.valid("query")), 200);
  })
  .post("/:id/nudges", validate("json", Nudge.CreateInput), async (c) => {
    const nudge = await Nudge.create(useCore(), c.req.param("id"), c.req.valid("json"));
    return c.json({ nudge: Nudge.present(nudge) }, 202);
  })
  .post("/:id/cancel", async (c) => {
    const task = await Task.cancel(useCore(), c.req.param("id"));
    return c.json({ task: await present(task) }, 202);
  })
  .get("/:id/approvals", async (c) => {
    const approvals = await Approval.fromTask(useCore(), c.req.param("id"));
    return c.json({ approvals: approvals.map(Approval.present) }, 200);
  })
  .post("/:id/approvals/:approvalId", validate("json", Approval.DecideInput), async (c) => {
    const approval = await Approval.decide(
      useCore(),
      c.req.param("id"),
      c.req.param("approvalId"),
      c.req.valid("json"),
    );
    return c.json({ approval: Approval.present(approval) }, 200);
  });

/** Resolves the bearer token to a user and runs the rest of the request as them. */
export const requireUser = async (c: Context, next: Next) => {
  const actor = await Auth.verify(useCore(), Auth.bearer(c.req.header("authorization")));
  await Actor.provide(actor, next);
};
