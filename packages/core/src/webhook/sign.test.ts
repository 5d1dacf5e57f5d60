import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Signature } from "./sign.ts";

describe("Signature", () => {
  const secret = Signature.newSecret();
  const body = '{"deliveryId":"dlv_x","event":{}}';
  const now = 1_800_000_000_000;

  it("signs t.body with HMAC-SHA256, as the docs tell receivers to check", () => {
    const header = Signature.sign(secret, body, now);
    const t = Math.floor(now / 1000);
    expect(header).toBe(`t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`);
    expect(Signature.verify(secret, header, body, now)).toBe(true);
  });

  it("refuses another secret, a changed body, a stale timestamp and a malformed header", () => {
    const header = Signature.sign(secret, body, now);
    expect(Signature.verify(Signature.newSecret(), header, body, now)).toBe(false);
    expect(Signature.verify(secret, header, `${body} `, now)).toBe(false);
    expect(Signature.verify(secret, header, body, now + 301_000)).toBe(false);
    expect(Signature.verify(secret, header, body, now + 299_000)).toBe(true);
    expect(Signature.verify(secret, "v1=abc", body, now)).toBe(false);
    expect(Signature.verify(secret, undefined, body, now)).toBe(false);
  });
});
