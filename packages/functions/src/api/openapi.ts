import { toJsonSchema } from "@valibot/to-json-schema";
import type { Hono } from "hono";
import { describeRoute, generateSpecs, resolver, uniqueSymbol } from "hono-openapi";
import type * as v from "valibot";
import { CHECKED, DOC, ERROR_TEXT, type ErrorStatus, errorResponse, type RouteDoc } from "./doc.ts";
import { ErrorBody } from "./error.ts";

/**
 * The OpenAPI 3.1 document of `app`, generated from its routes: `doc()` describes answers,
 * `validate()` the bodies and queries from the valibot schemas that check them. Loaded with
 * `import()` on the first `GET /openapi.json`, so the schema converters never weigh on the
 * Lambda's cold start.
 */
export async function openApiDocument(app: Hono) {
  for (const route of app.routes) mark(route.handler as Marked);
  const { $schema: _, ...error } = toJsonSchema(ErrorBody) as Record<string, unknown>;
  return generateSpecs(app, {
    // `/openapi.json` is a route like any other, not a static file to leave out.
    excludeStaticFile: false,
    documentation: {
      openapi: "3.1.0",
      info: {
        title: "Conveyor API",
        version: "1",
        description:
          "Submit, watch and steer background coding-agent tasks. Every error answer has the `Error` shape. " +
          'Live events: the WebSocket API (`subscribe`, optionally `format: "ag-ui"`).',
      },
      components: {
        schemas: { Error: error as never },
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      },
      security: [{ bearer: [] }],
    },
    // A validator's 400 is ours (`VALIDATION_ERROR` naming the field), not the generator's default.
    defaultValidationErrorResponse: errorResponse(
      "The request is not valid: `error.message` names the field and what it should be",
    ) as never,
  });
}

type Marked = {
  [DOC]?: RouteDoc;
  [CHECKED]?: { target: string; schema: v.GenericSchema };
  [uniqueSymbol]?: unknown;
};

/** Hands a `doc()` or `validate()` marker on as the hono-openapi marker the generator reads. */
function mark(handler: Marked) {
  if (handler[uniqueSymbol]) return;
  const route = handler[DOC];
  const checked = handler[CHECKED];
  if (route) Object.assign(handler, { [uniqueSymbol]: (describeRoute(spec(route)) as Marked)[uniqueSymbol] });
  else if (checked) {
    Object.assign(handler, { [uniqueSymbol]: { target: checked.target, ...resolver(checked.schema) } });
  }
}

function spec(route: RouteDoc) {
  const errors = new Set<ErrorStatus>(route.errors);
  if (!route.public) errors.add(401);
  const responses: Record<string, unknown> = {};
  for (const [status, { description, schema }] of Object.entries(route.ok)) {
    responses[status] = schema
      ? { description, content: { "application/json": { schema: resolver(schema) } } }
      : { description };
  }
  for (const status of [...errors].sort()) responses[status] = errorResponse(ERROR_TEXT[status]);
  return {
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.tags ? { tags: route.tags } : {}),
    ...(route.public ? { security: [] } : {}),
    responses: responses as Parameters<typeof describeRoute>[0]["responses"],
  };
}
