import { Hono } from "hono";
import { handle } from "hono/aws-lambda";
import { bodyLimit } from "hono/body-limit";
import { errorResponse } from "./error.ts";
import { requireUser, TaskApi } from "./task.ts";

export const app = new Hono()
  .get("/health", (c) => c.json({ ok: true as const }, 200))
  .use(
    "/v1/*",
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) =>
        c.json({ error: { code: "VALIDATION_ERROR" as const, message: "Request body over 64 KB" } }, 413),
    }),
  )
  .use("/v1/*", requireUser)
  .route("/v1/tasks", TaskApi);

app.onError(errorResponse);
app.notFound((c) =>
  c.json({ error: { code: "NOT_FOUND" as const, message: `No route ${c.req.method} ${c.req.path}` } }, 404),
);

export type App = typeof app;

export const handler = handle(app);
