import { describe, expect, it } from "vitest";
import { closest, distance } from "./suggest.ts";

describe("distance", () => {
  it.each([
    ["status", "status", 0],
    ["stauts", "status", 1],
    ["lst", "list", 1],
    ["limt", "limit", 1],
    ["cancle", "cancel", 1],
    ["", "run", 3],
    ["watch", "events", 6],
  ])("from %j to %j is %i", (a, b, d) => {
    expect(distance(a, b)).toBe(d);
  });
});

describe("closest", () => {
  const commands = ["run", "submit", "status", "events", "list", "watch", "nudge", "cancel"];

  it.each([
    ["stauts", "status"],
    ["lst", "list"],
    ["sumbit", "submit"],
    ["Watch", "watch"],
    ["evnets", "events"],
    ["can", "cancel"],
  ])("takes %j for %j", (typo, meant) => {
    expect(closest(typo, commands)).toBe(meant);
  });

  it.each(["deploy", "x", "statistics", "s"])("suggests nothing for %j", (word) => {
    expect(closest(word, commands)).toBeUndefined();
  });
});
