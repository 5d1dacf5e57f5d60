import { describe, expect, it } from "vitest";
import { classify, sessionIdFor } from "./index.ts";

const sdkError = (name: string, status?: number) =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });

describe("runtime", () => {
  it("derives a session id AgentCore accepts (33+ chars) deterministically", () => {
    const id = sessionIdFor("01M80A6R8REXYA6GNV4VJ8FN8P");
    expect(id).toBe("conveyor-task-01M80A6R8REXYA6GNV4VJ8FN8P");
    expect(id.length).toBeGreaterThanOrEqual(33);
  });

  it.each([
    ["ValidationException", 400, true],
    ["AccessDeniedException", 403, true],
    ["ResourceNotFoundException", 404, true],
    ["ConflictException", 409, false],
    ["ThrottlingException", 429, false],
    ["InternalServerException", 500, false],
    ["ServiceUnavailable", 503, false],
    ["TimeoutError", undefined, false],
  ])("classifies %s (%s) as permanent=%s", (name, status, permanent) => {
    const error = classify(sdkError(name, status));
    expect(error.permanent).toBe(permanent);
    expect(error.message).toContain(name);
  });
});
