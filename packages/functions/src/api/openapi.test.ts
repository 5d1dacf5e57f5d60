import { ERROR_CODES } from "@conveyor/core/error";
import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { ERROR_SCHEMA_REF } from "./doc.ts";
import { app } from "./index.ts";

type Operation = { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> } & Record<
  string,
  unknown
>;
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
};

/** Hono's `/v1/tasks/:id` as OpenAPI's `/v1/tasks/{id}`. */
const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

/** Every method+path the app routes (middleware is registered on ALL and is no route). */
const servedRoutes = () =>
  [...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`))].map(
    (key) => {
      const [method, path] = key.split(" ") as [string, string];
      return { method, path };
    },
  );

let doc: Document;
beforeAll(async () => {
  const res = await app.request("/openapi.json");
  expect(res.status).toBe(200);
  doc = (await res.json()) as Document;
});

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("is served without a token", async () => {
    const res = await app.request("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
  });

  it.each(servedRoutes())("documents $method $path", ({ method, path }) => {
    const operation = doc.paths[openApiPath(path)]?.[method.toLowerCase()];
    expect(operation, `${method} ${path} has no doc(): add one before its handler`).toBeDefined();
    const statuses = Object.keys(operation!.responses);
    expect(statuses.some((s) => s.startsWith("2"))).toBe(true);
    // A route served without a token says so (`doc({ public: true })`); every other one answers 401.
    const isPublic = Array.isArray(operation!.security) && operation!.security.length === 0;
    if (!isPublic) expect(statuses).toContain("401");
    if (path.startsWith("/v1/tasks") || path.startsWith("/v1/approvals")) expect(isPublic).toBe(false);
  });

  it("points every error answer at the one Error schema", () => {
    let errors = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          errors++;
          expect(
            response.content?.["application/json"]?.schema,
            `${method.toUpperCase()} ${path} ${status}`,
          ).toEqual({ $ref: ERROR_SCHEMA_REF });
        }
      }
    }
    expect(errors).toBeGreaterThan(10);
  });

  it("describes the Error schema as the API answers it (core/src/error.ts)", async () => {
    const error = doc.components.schemas.Error as {
      required: string[];
      properties: { error: { required: string[]; properties: { code: { enum: string[] } } } };
    };
    expect(error.required).toEqual(["error"]);
    expect(error.properties.error.required.sort()).toEqual(["code", "message"]);
    expect(error.properties.error.properties.code.enum).toEqual([...ERROR_CODES]);

    // And an answer really has that shape.
    const res = await app.request("/v1/tasks");
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(Object.keys(body)).toEqual(["error"]);
    expect(ERROR_CODES).toContain(body.error.code);
    expect(typeof body.error.message).toBe("string");
  });

  it("describes bodies and queries from the schemas that validate them", () => {
    const submit = doc.paths["/v1/tasks"]!.post!;
    const body = (submit.requestBody as { content: Record<string, { schema: { required?: string[] } }> })
      .content["application/json"]!.schema;
    expect(body.required).toEqual(expect.arrayContaining(["repo", "description"]));
    expect(submit.responses["400"]).toBeDefined();

    const events = doc.paths["/v1/tasks/{id}/events"]!.get!;
    const names = (events.parameters as { in: string; name: string }[]).map((p) => `${p.in} ${p.name}`);
    expect(names).toEqual(expect.arrayContaining(["path id", "query after", "query limit", "query format"]));
  });
});
