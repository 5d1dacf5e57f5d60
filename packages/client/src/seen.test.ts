import { describe, expect, it } from "vitest";
import { Seen } from "./seen.ts";

describe("Seen", () => {
  it("remembers ids until they fall behind the floor, which then counts as seen", () => {
    const seen = new Seen();
    for (const id of ["A1", "A2", "B1", "C1"]) seen.add(id);

    seen.forgetUpTo("B0");

    expect(seen.size).toBe(2);
    expect(["A1", "A9", "B1", "C1", "C2"].map((id) => seen.has(id))).toEqual([true, true, true, true, false]);
  });

  it("never lowers the floor", () => {
    const seen = new Seen();
    seen.forgetUpTo("B");

    seen.forgetUpTo("A");
    seen.forgetUpTo(undefined);

    expect(seen.has("AZ")).toBe(true);
  });
});
