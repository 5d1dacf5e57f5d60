import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signatureOf, verifySignature } from "./signature.ts";

// GitHub's documented example (docs: "Validating webhook deliveries", test values).
const DOC_SECRET = "It's a Secret to Everybody";
const DOC_BODY = "Hello, World!";
const DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

describe("webhook signature", () => {
  it("matches GitHub's documented example", () => {
    expect(signatureOf(DOC_SECRET, DOC_BODY)).toBe(DOC_SIGNATURE);
    expect(verifySignature(DOC_SECRET, DOC_BODY, DOC_SIGNATURE)).toBe(true);
  });

  it("is the HMAC of the raw bytes, so bytes and text agree and re-serialized JSON does not", () => {
    const raw = '{"b":1,  "a":"é"}';
    const header = `sha256=${createHmac("sha256", "s").update(Buffer.from(raw)).digest("hex")}`;
    expect(verifySignature("s", Buffer.from(raw), header)).toBe(true);
    expect(verifySignature("s", raw, header)).toBe(true);
    expect(verifySignature("s", JSON.stringify(JSON.parse(raw)), header)).toBe(false);
  });

  it("refuses a missing, empty, truncated, upper-cased, sha1 or wrong-secret signature", () => {
    const good = signatureOf("s", "body");
    for (const bad of [
      undefined,
      "",
      good.slice(0, -1),
      good.toUpperCase(),
      `sha1=${good.slice(7, 47)}`,
      signatureOf("t", "body"),
      `${good}0`,
    ]) {
      expect(verifySignature("s", "body", bad)).toBe(false);
    }
  });

  it("refuses everything when no secret is configured", () => {
    expect(verifySignature(undefined, "body", signatureOf("", "body"))).toBe(false);
    expect(verifySignature("", "body", signatureOf("", "body"))).toBe(false);
  });
});
