import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex of HMAC-SHA256(appSecret, raw body)>`.
 * The HMAC covers the exact bytes Meta sent (it escapes non-ASCII as `\uXXXX`), so callers must pass
 * the raw request body, never re-serialised JSON.
 */

const PREFIX = 'sha256=';
const HEX_DIGEST_LENGTH = 64;
const HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Computes the header value Meta would send for `rawBody`. Pure, no I/O.
 * Used by tests, the simulator and tools that replay captured webhooks.
 */
export function signBody(appSecret: string, rawBody: Uint8Array): string {
  return PREFIX + createHmac('sha256', appSecret).update(rawBody).digest('hex');
}

/**
 * True only when `header` is exactly `sha256=` followed by 64 hex digits (either case) that equal the
 * HMAC-SHA256 of `rawBody` keyed with `appSecret`. The digests are compared with
 * `crypto.timingSafeEqual` on two 32-byte buffers. A missing, empty or malformed header (wrong
 * prefix, wrong length, non-hex characters, surrounding spaces) yields false; this never throws.
 * An empty app secret is refused (false) so that a misconfiguration cannot accept forged bodies
 * signed with the empty key.
 */
export function verifySignature(
  appSecret: string,
  rawBody: Uint8Array,
  header: string | undefined | null,
): boolean {
  if (typeof appSecret !== 'string' || appSecret.length === 0) return false;
  if (typeof header !== 'string' || header.length !== PREFIX.length + HEX_DIGEST_LENGTH) return false;
  if (!header.startsWith(PREFIX)) return false;
  const hex = header.slice(PREFIX.length);
  if (!HEX.test(hex)) return false;
  const given = Buffer.from(hex, 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}
