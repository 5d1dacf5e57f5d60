import { handle } from "hono/aws-lambda";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { PatternRouter } from "hono/router/pattern-router";
import { Hono } from "hono/tiny";
import { Health } from "./answers.ts";
import { ApprovalApi } from "./approval.ts";
import { doc } from "./doc.ts";
import { type ErrorBody, errorResponse, httpError } from "./error.ts";
import { GitHubApi } from "./github.ts";
import { requireUser, TaskApi } from "./task.ts";
import { WebhookApi } from "./webhook.ts";

const MAX_BODY_BYTES = 64 * 1024;

export const app = new Hono()
  // Any origin: the API is called with a bearer token, never cookies, so CORS guards nothing here.
  .use(
    "*",
    cors({
      origin: "*",
      allowMethods: ["GET", "HEAD", "POST", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
      maxAge: 600,
    }),
  )
  // Before authentication: which methods a path takes is no secret, and says more than a 401.
  .use("*", async (c, next) => {
    const allowed = methodsFor(c.req.path);
    if (allowed.length === 0 || allowed.includes(c.req.method)) return next();
    c.header("Allow", allowed.join(", "));
    return errorResponse(
      httpError(
        405,
        "request.method",
        `${c.req.method} is not allowed on ${c.req.path} (allowed: ${allowed.join(", ")})`,
      ),
      c,
    );
  })
  .get(
    "/health",
    doc({ summary: "Liveness", public: true, ok: { 200: { description: "Up", schema: Health } } }),
    (c) => c.json({ ok: true as const }, 200),
  )
  // Signed by GitHub rather than bearing a token: before the token check and the 64 KB limit.
  .route("/v1/github", GitHubApi)
  .use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => errorResponse(httpError(413, "request.too_large", "Request body over 64 KB"), c),
    }),
  )
  .use("/v1/*", requireUser)
  .route("/v1/tasks", TaskApi)
  .route("/v1/approvals", ApprovalApi)
  .route("/v1/webhooks", WebhookApi);

let openapi: Promise<unknown> | undefined;
// Registered apart from the chain: the document is generated from `app` itself. The generator
// and its schema converters load on the first call, never at the Lambda's init.
app.get(
  "/openapi.json",
  doc({ summary: "This document (OpenAPI 3.1)", public: true, ok: { 200: { description: "OpenAPI 3.1" } } }),
  async (c) => {
    openapi ??= import("./openapi.ts")
      .then(({ openApiDocument }) => openApiDocument(app as never))
      .catch((error) => {
        openapi = undefined; // the next call tries again
        throw error;
      });
    return c.json((await openapi) as object, 200);
  },
);

app.onError(errorResponse);
app.notFound((c) =>
  c.json<ErrorBody>({ error: { code: "NOT_FOUND", message: `No route ${c.req.method} ${c.req.path}` } }, 404),
);

let routes: PatternRouter<string> | undefined;
/** The methods a path is routed for; none for an unknown path (middleware, on ALL, never counts). */
function methodsFor(path: string) {
  if (!routes) {
    routes = new PatternRouter<string>();
    for (const route of app.routes)
      if (route.method !== "ALL") routes.add(route.method, route.path, route.method);
  }
  const router = routes;
  return ["GET", "POST", "PUT", "PATCH", "DELETE"]
    .filter((method) => router.match(method, path)[0].length > 0)
    .flatMap((method) => (method === "GET" ? ["GET", "HEAD"] : [method])); // Hono answers HEAD as GET
}

export type App = typeof app;

export const handler = handle(app);
