import { describe, expect, it } from "vitest";
import { matches } from "../src/stream-filter.ts";

describe("event filter patterns", () => {
  const record = {
    eventName: "INSERT",
    dynamodb: { NewImage: { type: { S: "agent.turn" }, tags: { SS: ["a", "b"] }, n: { N: "5" } } },
  };

  it("matches exact values, prefixes, exists and anything-but on nested keys", () => {
    expect(matches({ eventName: ["INSERT", "MODIFY"] }, record)).toBe(true);
    expect(matches({ eventName: ["REMOVE"] }, record)).toBe(false);
    expect(matches({ dynamodb: { NewImage: { type: { S: [{ prefix: "agent." }] } } } }, record)).toBe(true);
    expect(matches({ dynamodb: { NewImage: { type: { S: [{ exists: true }] } } } }, record)).toBe(true);
    expect(matches({ dynamodb: { NewImage: { gone: { S: [{ exists: false }] } } } }, record)).toBe(true);
    expect(matches({ dynamodb: { NewImage: { gone: { S: [{ exists: true }] } } } }, record)).toBe(false);
    expect(matches({ dynamodb: { NewImage: { type: { S: [{ "anything-but": ["x"] }] } } } }, record)).toBe(
      true,
    );
    expect(matches({ dynamodb: { NewImage: { tags: { SS: ["b"] } } } }, record)).toBe(true);
    expect(matches({ dynamodb: { NewImage: { n: { N: ["5"] } } } }, record)).toBe(true);
    expect(matches({ dynamodb: { OldImage: { type: { S: ["agent.turn"] } } } }, record)).toBe(false);
  });
});
