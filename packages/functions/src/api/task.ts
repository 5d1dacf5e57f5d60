import { Actor } from "@conveyor/core/actor";
import { Auth } from "@conveyor/core/auth";
import { EventId, TaskEvent } from "@conveyor/core/event";
import { Task } from "@conveyor/core/task";
import { type Context, Hono, type Next } from "hono";
import { validator } from "hono/validator";
import * as v from "valibot";
import { useCore } from "../config.ts";

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
  .post(
    "/",
    validator("json", (value) => v.parse(Task.SubmitInput, value)),
    validator("header", (value) => ({
      idempotencyKey: value["idempotency-key"] as string | undefined,
      source: value["x-conveyor-source"] === "cli" ? ("cli" as const) : ("api" as const),
    })),
    async (c) => {
      const { idempotencyKey, source } = c.req.valid("header");
      const { task, replayed } = await Task.submit(useCore(), c.req.valid("json"), {
        idempotencyKey,
        source,
      });
      return c.json({ task: await present(task) }, replayed ? 200 : 201);
    },
  )
  .get(
    "/",
    validator("query", (value) => v.parse(Task.ListInput, value)),
    async (c) => {
      const page = await Task.fromUser(useCore(), c.req.valid("query"));
      return c.json({ tasks: await Promise.all(page.tasks.map(present)), nextCursor: page.nextCursor }, 200);
    },
  )
  .get("/:id", async (c) => {
    const task = await Task.fromId(useCore(), c.req.param("id"));
    return c.json({ task: await present(task) }, 200);
  })
  .get(
    "/:id/events",
    validator("query", (value) => v.parse(EventsQuery, value)),
    async (c) => {
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
    },
  );

/** Resolves the bearer token to a user and runs the rest of the request as them. */
export const requireUser = async (c: Context, next: Next) => {
  const actor = await Auth.verify(useCore(), Auth.bearer(c.req.header("authorization")));
  await Actor.provide(actor, next);
};
