import { VisibleError } from "@conveyor/core/error";
import { describe, expect, it } from "vitest";
import { breakerFor, CircuitBreaker, isPermanent } from "./progress.ts";

describe("circuit breaker", () => {
  it("opens after repeated transient failures and closes after the cooldown", () => {
    let now = 0;
    const breaker = new CircuitBreaker(3, 1_000, () => now);
    breaker.failure();
    breaker.failure();
    expect(breaker.open).toBe(false);
    breaker.failure();
    expect(breaker.open).toBe(true);
    now = 999;
    expect(breaker.open).toBe(true);
    now = 1_000;
    expect(breaker.open).toBe(false);
  });

  it("resets its count on success", () => {
    const breaker = new CircuitBreaker(2, 1_000, () => 0);
    breaker.failure();
    breaker.success();
    breaker.failure();
    expect(breaker.open).toBe(false);
  });

  it("is one per task, shared by every writer of that task", () => {
    expect(breakerFor("task-a")).toBe(breakerFor("task-a"));
    expect(breakerFor("task-a")).not.toBe(breakerFor("task-b"));
  });
});

describe("error classes", () => {
  const aws = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  it.each([
    [aws("ValidationException", 400), true],
    [new VisibleError("input", "event.invalid", "bad"), true],
    [aws("ProvisionedThroughputExceededException", 400), false],
    [aws("ThrottlingException", 400), false],
    [aws("InternalServerError", 500), false],
    [new Error("socket hang up"), false],
    [Object.assign(new Error("ElectroError"), { cause: aws("ResourceNotFoundException", 400) }), true],
    [Object.assign(new Error("ElectroError"), { cause: aws("ThrottlingException", 400) }), false],
  ])("%s is permanent: %s", (error, permanent) => {
    expect(isPermanent(error)).toBe(permanent);
  });
});
