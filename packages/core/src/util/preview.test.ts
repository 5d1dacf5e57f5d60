import { describe, expect, it } from "vitest";
import { cutString, preview } from "./preview.ts";

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

describe("preview", () => {
  it("leaves short values alone", () => {
    const data = { text: "hello", n: 3, nested: { list: ["a", "b"] } };
    expect(preview(data, 2048, 16_384)).toEqual(data);
  });

  it("cuts every long string to the field cap with a visible marker", () => {
    const out = preview({ text: "x".repeat(10_000), input: { deep: ["y".repeat(5_000)] } }, 2048, 1_000_000);
    expect(new TextEncoder().encode(out.text).length).toBeLessThanOrEqual(2048);
    expect(out.text).toMatch(/…\[\d+ more bytes\]$/);
    expect(new TextEncoder().encode(out.input.deep[0]!).length).toBeLessThanOrEqual(2048);
  });

  it("keeps the whole event under its cap when many fields are long", () => {
    const data = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, "z".repeat(3_000)]));
    expect(bytes(preview(data, 2048, 16_384))).toBeLessThanOrEqual(16_384);
  });

  it("never splits a multi-byte character", () => {
    const out = cutString("é".repeat(3_000), 100);
    expect(out).not.toContain("\uFFFD");
    expect(new TextEncoder().encode(out).length).toBeLessThanOrEqual(100);
  });
});
