import { toJsonSchema } from "@valibot/to-json-schema";
import type { Hono } from "hono";
import { generateSpecs } from "hono-openapi";
import { errorResponse } from "./doc.ts";
import { ErrorBody } from "./error.ts";

/**
 * The OpenAPI 3.1 document of `app`, generated from its routes: `doc()` describes answers,
 * `validate()` the bodies and queries from the valibot schemas that check them. Loaded with
 * `import()` on the first `GET /openapi.json`, so the schema converters never weigh on the
 * Lambda's cold start.
 */
export async function openApiDocument(app: Hono) {
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
