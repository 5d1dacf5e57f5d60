import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures: `Conveyor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
 * under the subscription's secret. A receiver recomputes the HMAC over the raw body it got,
 * compares in constant time, and refuses a timestamp outside its window (replays).
 */
export namespace Signature {
  export const HEADER = "Conveyor-Signature";
  /** The default window a receiver allows between `t` and its clock. */
  export const TOLERANCE_SECONDS = 300;

  /** A new signing secret: `whsec_` + 32 random bytes, base64url. */
  export function newSecret(): string {
    return `whsec_${randomBytes(32).toString("base64url")}`;
  }

  /** The header value for a body sent at `nowMs`. */
  export function sign(secret: string, body: string, nowMs: number): string {
    const t = Math.floor(nowMs / 1000);
    return `t=${t},v1=${hmac(secret, t, body)}`;
  }

  /**
   * What a receiver does: true when `header` signs exactly `rawBody` under `secret` and its
   * timestamp is within `toleranceSeconds` of `nowMs`.
   *
   * @example Signature.verify(secret, req.headers["conveyor-signature"], rawBody, Date.now())
   */
  export function verify(
    secret: string,
    header: string | null | undefined,
    rawBody: string,
    nowMs: number,
    toleranceSeconds = TOLERANCE_SECONDS,
  ): boolean {
    if (!header) return false;
    const parts = new Map(
      header.split(",").map((part) => {
        const at = part.indexOf("=");
        return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
      }),
    );
    const t = Number(parts.get("t"));
    const given = parts.get("v1") ?? "";
    if (!Number.isInteger(t) || Math.abs(nowMs / 1000 - t) > toleranceSeconds) return false;
    const expected = Buffer.from(hmac(secret, t, rawBody), "hex");
    const actual = Buffer.from(given, "hex");
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  function hmac(secret: string, t: number, body: string): string {
    return createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
  }
}
