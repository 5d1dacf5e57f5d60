import { type ErrorKind, VisibleError } from "@conveyor/core/error";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ValiError } from "valibot";

/** The wire error codes of DESIGN §7. */
export type ErrorCode =
  | "VALIDATION_ERROR"
  | "NOT_FOUND"
  | "CONFLICT"
  | "QUOTA_EXCEEDED"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "RATE_LIMITED"
  | "INTERNAL";

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

const byKind: Record<ErrorKind, [ContentfulStatusCode, ErrorCode]> = {
  input: [400, "VALIDATION_ERROR"],
  auth: [401, "UNAUTHORIZED"],
  forbidden: [403, "FORBIDDEN"],
  not_found: [404, "NOT_FOUND"],
  conflict: [409, "CONFLICT"],
  quota: [429, "QUOTA_EXCEEDED"],
  rate_limit: [429, "RATE_LIMITED"],
};

/** The one place errors become HTTP answers. Unknown errors are logged and never leak. */
export function errorResponse(error: unknown, c: Context) {
  const reply = (status: ContentfulStatusCode, code: ErrorCode, message: string, details?: unknown) =>
    c.json<ErrorBody>({ error: { code, message, ...(details === undefined ? {} : { details }) } }, status);

  if (error instanceof VisibleError) {
    const [status, code] = byKind[error.kind];
    return reply(status, code, error.message, { reason: error.code, ...error.details });
  }
  if (error instanceof ValiError) {
    const issues = error.issues.map((issue) => ({
      path: issue.path?.map((p: { key: unknown }) => String(p.key)).join(".") || undefined,
      message: issue.message,
    }));
    const first = issues[0];
    return reply(
      400,
      "VALIDATION_ERROR",
      first?.path ? `${first.path}: ${first.message}` : (first?.message ?? "Invalid input"),
      {
        issues,
      },
    );
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const code: ErrorCode =
      status === 401 ? "UNAUTHORIZED" : status === 404 ? "NOT_FOUND" : "VALIDATION_ERROR";
    return reply(status, code, error.message || "Bad request");
  }
  console.error(
    JSON.stringify({
      level: "error",
      msg: "unhandled",
      path: c.req.path,
      method: c.req.method,
      error: String(error),
      stack: (error as Error)?.stack,
    }),
  );
  return reply(500, "INTERNAL", "Internal error");
}

/** The validators' failure hook: bad input becomes a VisibleError, answered by `errorResponse`. */
export function rejectInvalid(result: { success: boolean; error?: readonly StandardSchemaV1.Issue[] }) {
  if (result.success) return;
  const issues = (result.error ?? []).map((issue) => ({
    path:
      issue.path
        ?.map((p) => String(typeof p === "object" && p !== null && "key" in p ? p.key : p))
        .join(".") || undefined,
    message: issue.message,
  }));
  const first = issues[0];
  throw new VisibleError(
    "input",
    "request.invalid",
    first?.path ? `${first.path}: ${first.message}` : (first?.message ?? "Invalid input"),
    { issues },
  );
}
