import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { describeIssue, ERROR_CODES, invalidInput, VisibleError, WIRE } from "./error.ts";

const issuesOf = (schema: v.GenericSchema, input: unknown) => {
  const result = v.safeParse(schema, input);
  if (result.success) throw new Error("expected issues");
  return result.issues;
};

describe("the error vocabulary", () => {
  it("gives every kind a wire code from the one enum, quota and rate limits their own", () => {
    for (const { code } of Object.values(WIRE)) expect(ERROR_CODES).toContain(code);
    expect(WIRE.quota).toEqual({ status: 429, code: "QUOTA_EXCEEDED" });
    expect(WIRE.rate_limit).toEqual({ status: 429, code: "RATE_LIMITED" });
    expect(WIRE.input).toEqual({ status: 400, code: "VALIDATION_ERROR" });
  });
});

describe("invalidInput", () => {
  const Body = v.strictObject({
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(20)),
    size: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(9))),
    kind: v.optional(v.picklist(["a", "b"])),
    tags: v.optional(v.record(v.string(), v.boolean())),
    slug: v.optional(v.pipe(v.string(), v.regex(/^[a-z]+$/, "must be lower-case letters"))),
  });
  const message = (input: unknown, subject?: string) =>
    invalidInput(issuesOf(Body, input), Body, subject).message;

  it("is a VisibleError of kind input with every issue in its details", () => {
    const error = invalidInput(issuesOf(Body, { name: "", size: 0 }), Body);
    expect(error).toBeInstanceOf(VisibleError);
    expect(error.kind).toBe("input");
    expect(error.details).toEqual({
      issues: [
        { path: "name", message: "must be text of 1 to 20 characters" },
        { path: "size", message: "must be a whole number from 1 to 9" },
      ],
    });
  });

  it.each([
    [{ name: "x", colour: "red" }, "colour: not a known field (allowed: name, size, kind, tags, slug)"],
    [{}, "name: is required; must be text of 1 to 20 characters"],
    [{ name: "x", size: "big" }, "size: must be a whole number from 1 to 9"],
    [{ name: "x", kind: "c" }, 'kind: must be one of "a", "b"'],
    [{ name: "x", tags: { red: "yes" } }, "tags.red: must be true or false"],
    [{ name: "x", slug: "A" }, "slug: must be lower-case letters"],
  ])("says %j is wrong in words naming the field", (input, words) => {
    expect(message(input)).toBe(words);
  });

  it("names the subject when the whole input is wrong", () => {
    expect(message("text", "body")).toBe("body: must be an object");
  });

  it("words an issue even without its schema", () => {
    const [issue] = issuesOf(v.object({ n: v.pipe(v.number(), v.maxValue(3)) }), { n: 4 });
    expect(describeIssue(issue!)).toEqual({ path: "n", message: "must be 3 or less" });
    const [typeIssue] = issuesOf(v.object({ n: v.number() }), { n: "4" });
    expect(describeIssue(typeIssue!)).toEqual({ path: "n", message: "must be a number" });
  });
});
