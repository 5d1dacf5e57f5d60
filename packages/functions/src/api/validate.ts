import { invalidInput } from "@conveyor/core/error";
import { sValidator } from "@hono/standard-validator";
import type { ValidationTargets } from "hono";
import type * as v from "valibot";
import { CHECKED } from "./doc.ts";
import { httpError } from "./error.ts";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Validates one part of the request against a core schema. Failures are answered 400
 * in words naming the field (`maxTurns: must be a whole number from 1 to 500`); a body
 * that is not declared JSON is answered 415 instead of being read as empty.
 *
 * The middleware also carries the schema for the OpenAPI generator (openapi.ts hands it on as
 * hono-openapi's own `validator()` would), so the document describes exactly what is checked;
 * checking and its messages stay this module's.
 *
 * @example TaskApi.post("/", validate("json", Task.SubmitInput), (c) => c.req.valid("json"))
 */
export function validate<Target extends keyof ValidationTargets, Schema extends v.GenericSchema>(
  target: Target,
  schema: Schema,
) {
  const subject = target === "json" ? "body" : target;
  const check = sValidator(target, schema, (result) => {
    if (!result.success) throw invalidInput(result.error, schema, subject);
  });
  const documented = <M extends object>(middleware: M) =>
    Object.assign(middleware, { [CHECKED]: { target, schema } });
  if (target !== "json") return documented(check);
  const json = (async (c, next) => {
    const mediaType = c.req.header("content-type")?.split(";")[0]?.trim() ?? "";
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw httpError(
        415,
        "request.content_type",
        `Send the body as JSON with "Content-Type: application/json"${mediaType ? ` (got ${mediaType})` : ""}`,
      );
    }
    return check(c, next);
  }) as typeof check;
  return documented(json);
}
