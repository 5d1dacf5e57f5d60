import type { MiddlewareHandler } from "hono";
import type * as v from "valibot";

/**
 * Marks a route's `doc()` and a `validate()`'s schema on their middleware. openapi.ts turns them
 * into hono-openapi's markers when the document is first asked for, so the generator's code is
 * loaded then and never at the Lambda's init.
 */
export const DOC = Symbol("conveyor.openapi.doc");
export const CHECKED = Symbol("conveyor.openapi.checked");

/** Where every documented error answer points: one schema, `ErrorBody` in error.ts. */
export const ERROR_SCHEMA_REF = "#/components/schemas/Error";

/** What each error status means on this API; a route lists the ones it can answer. */
export const ERROR_TEXT = {
  400: "The request is not valid: `error.message` names the field and what it should be",
  401: "No bearer token, or one that names no user",
  404: "No such resource for this user",
  409: "The resource changed state first (for example the task already ended)",
  413: "Body over 64 KB",
  415: 'Body not sent as JSON ("Content-Type: application/json")',
  429: "A quota or rate limit was reached: `details.reason` says which",
} as const;
export type ErrorStatus = keyof typeof ERROR_TEXT;

export const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: ERROR_SCHEMA_REF } } },
});

export interface RouteDoc {
  summary: string;
  description?: string;
  tags?: string[];
  /** Success answers by status, each with the valibot schema of its body when it has one. */
  ok: Record<number, { description: string; schema?: v.GenericSchema }>;
  /** Error statuses beyond those every route has (401 under /v1, 400 from a validator). */
  errors?: ErrorStatus[];
  /** Served without a token (no `security`, no 401). */
  public?: boolean;
}

/**
 * Documents one route for `GET /openapi.json`: a no-op middleware placed before the handler,
 * which the generator finds by walking the app's routes. Bodies and queries are documented
 * by `validate()` from the schemas that check them, so only answers are described here.
 *
 * @example TaskApi.get("/:id", doc({ summary: "One task", ok: { 200: { description: "The task" } }, errors: [404] }), handler)
 */
export function doc(route: RouteDoc): MiddlewareHandler {
  const middleware: MiddlewareHandler = async (_c, next) => {
    await next();
  };
  return Object.assign(middleware, { [DOC]: route });
}
