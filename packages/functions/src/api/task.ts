import { Actor } from "@conveyor/core/actor";
import { Auth } from "@conveyor/core/auth";
import { EventId, TaskEvent } from "@conveyor/core/event";
import { Nudge } from "@conveyor/core/nudge";
import { Task } from "@conveyor/core/task";
import { sValidator } from "@hono/standard-validator";
import { type Context, Hono, type Next } from "hono";
import * as v from "valibot";
import { useCore } from "../config.ts";
import { rejectInvalid } from "./error.ts";

const EventsQuery = v.object({
  after: v.optional(EventId),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, "must be a whole number"),
      v.toNumber(),
      v.minValue(1),
      v.maxValue(100),
    ),
    "50",
  ),
});

const present = async (task: Task.Info) => Task.present(task, await Task.queuePosition(useCore(), task));

export const TaskApi = new Hono()
  .post("/", sValidator("json", Task.SubmitInput, rejectInvalid), async (c) => {
    const source = c.req.header("x-conveyor-source") === "cli" ? "cli" : "api";
    const idempotencyKey = c.req.header("idempotency-key");
    const { task, replayed } = await Task.submit(useCore(), c.req.valid("json"), {
      idempotencyKey,
      source,
    });
    return c.json({ task: await present(task) }, replayed ? 200 : 201);
  })
  .get("/", sValidator("query", Task.ListInput, rejectInvalid), async (c) => {
    const page = await Task.fromUser(useCore(), c.req.valid("query"));
    return c.json({ tasks: await Promise.all(page.tasks.map(present)), nextCursor: page.nextCursor }, 200);
  })
  .get("/:id", async (c) => {
    const task = await Task.fromId(useCore(), c.req.param("id"));
    return c.json({ task: await present(task) }, 200);
  })
  .get("/:id/events", sValidator("query", EventsQuery, rejectInvalid), async (c) => {
    const core = useCore();
    const task = await Task.fromId(core, c.req.param("id"));
    const { after, limit } = c.req.valid("query");
    // One extra row says whether another page exists.
    const rows = await TaskEvent.list(core, task.taskId, { after, limit: Number(limit) + 1 });
    const more = rows.length > Number(limit);
    const events = rows.slice(0, Number(limit));
    const cursor = events.at(-1)?.eventId ?? after;
    const open = more || !Task.isTerminal(task.status);
    return c.json({ events, nextCursor: open ? cursor : undefined }, 200);
  })
  .post("/:id/nudges", sValidator("json", Nudge.CreateInput, rejectInvalid), async (c) => {
    const nudge = await Nudge.create(useCore(), c.req.param("id"), c.req.valid("json"));
    return c.json({ nudge: Nudge.present(nudge) }, 202);
  })
  .post("/:id/cancel", async (c) => {
    const task = await Task.cancel(useCore(), c.req.param("id"));
    return c.json({ task: await present(task) }, 202);
  });

/** Resolves the bearer token to a user and runs the rest of the request as them. */
export const requireUser = async (c: Context, next: Next) => {
  const actor = await Auth.verify(useCore(), Auth.bearer(c.req.header("authorization")));
  await Actor.provide(actor, next);
};
