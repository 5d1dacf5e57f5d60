import { ERROR_CODES, invalidInput, VisibleError, WIRE } from "@conveyor/core/error";
import { logger } from "@conveyor/core/log";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as v from "valibot";
import { ValiError } from "valibot";

/**
 * Every error answer's body. Written as a schema so the OpenAPI document describes the very
 * shape this module sends (`components.schemas.Error`); nothing validates answers with it.
 */
export const ErrorBody = v.object({
  error: v.object({
    code: v.picklist(ERROR_CODES),
    message: v.string(),
    /** `reason` (a dotted code such as `task.not_found`), and for bad input `issues`. */
    details: v.optional(v.record(v.string(), v.unknown())),
  }),
});
export type ErrorBody = v.InferOutput<typeof ErrorBody>;

/**
 * An answer about the HTTP request itself (its method, size or media type) rather than
 * its content; `reason` goes to `details.reason` like a core error's dotted code.
 */
export const httpError = (status: ContentfulStatusCode, reason: string, message: string) =>
  new HTTPException(status, { message, cause: { reason } });

// Statuses that are not a core error kind; everything else about the request is VALIDATION_ERROR.
const byStatus: Partial<Record<number, ErrorBody["error"]["code"]>> = {
  401: "UNAUTHORIZED",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
};

/** The one place errors become HTTP answers. Unknown errors are logged and never leak. */
export function errorResponse(error: unknown, c: Context) {
  const reply = (
    status: ContentfulStatusCode,
    code: ErrorBody["error"]["code"],
    message: string,
    details?: Record<string, unknown>,
  ) => c.json<ErrorBody>({ error: { code, message, ...(details === undefined ? {} : { details }) } }, status);

  if (error instanceof ValiError) return errorResponse(invalidInput(error.issues), c);
  if (error instanceof VisibleError) {
    const { status, code } = WIRE[error.kind];
    return reply(status, code, error.message, { reason: error.code, ...error.details });
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const reason = (error.cause as { reason?: unknown } | undefined)?.reason;
    return reply(
      status,
      byStatus[status] ?? "VALIDATION_ERROR",
      error.message || "Bad request",
      typeof reason === "string" ? { reason } : undefined,
    );
  }
  logger.error("unhandled", {
    path: c.req.path,
    method: c.req.method,
    error: String(error),
    stack: (error as Error)?.stack,
  });
  return reply(500, "INTERNAL", "Internal error");
}
