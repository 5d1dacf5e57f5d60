import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * `X-Hub-Signature-256` as GitHub computes it: `sha256=` and the hex HMAC-SHA256 of the raw
 * body (the bytes as sent, never re-serialized JSON) under the webhook secret.
 *
 * @example signatureOf("s3cret", '{"zen":"hi"}') // "sha256=…"
 */
export function signatureOf(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** Whether `header` signs `body` under `secret`, compared in constant time. No secret or no header: false. */
export function verifySignature(
  secret: string | undefined,
  body: string | Uint8Array,
  header: unknown,
): boolean {
  if (!secret || typeof header !== "string" || header.length === 0) return false;
  const expected = Buffer.from(signatureOf(secret, body));
  const given = Buffer.from(header);
  // The length of a valid signature is public (71 bytes); only equal lengths are compared.
  return given.length === expected.length && timingSafeEqual(expected, given);
}
