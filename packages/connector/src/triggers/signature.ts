import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/*
 * How a receiver proves a delivery came from the DAM: the shared secret's HMAC-SHA256 over the
 * raw body (`X-Sfx-Signature: sha256=<hex>`), or HTTP basic auth. Both compare in constant time,
 * so a caller cannot learn the expected value from response timings.
 */

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** The `X-Sfx-Signature` value the DAM sends for this body. */
export function signBody(secret: string, rawBody: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/**
 * Whether `header` is `sha256=<hex>` of the HMAC-SHA256 of exactly these bytes under `secret`.
 * Verify the bytes as received: a body parsed and serialised again may differ.
 */
export function verifySignature(secret: string, rawBody: string | Uint8Array, header: string | undefined): boolean {
  if (typeof header !== 'string') return false;
  const match = SIGNATURE.exec(header.trim());
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(match[1]!, 'hex'), expected);
}

/** Whether an `Authorization` header carries these basic-auth credentials. */
export function verifyBasicAuth(expected: { user: string; pass: string }, header: string | undefined): boolean {
  if (typeof header !== 'string') return false;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return false;
  const given = Buffer.from(match[1]!, 'base64').toString('utf8');
  // Hashing first gives both sides the same length, so the comparison leaks neither length.
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(`${expected.user}:${expected.pass}`));
}
