import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBody, verifyBasicAuth, verifySignature } from './signature.js';

const SECRET = 'a-webhook-secret-for-tests';
const BODY = '{"id":"e1","type":"file.uploaded","data":{"file":{"name":"ü.jpg"}}}';
const header = (secret: string, body: string | Buffer): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('verifySignature', () => {
  it('accepts the HMAC-SHA256 of the exact bytes, as a string or as bytes, in any hex case', () => {
    expect(verifySignature(SECRET, BODY, header(SECRET, BODY))).toBe(true);
    expect(verifySignature(SECRET, Buffer.from(BODY), header(SECRET, BODY))).toBe(true);
    expect(verifySignature(SECRET, BODY, header(SECRET, BODY).toUpperCase().replace('SHA256', 'sha256'))).toBe(true);
    expect(signBody(SECRET, BODY)).toBe(header(SECRET, BODY));
  });

  it('refuses another secret, a changed body, a re-serialised body, and malformed or missing headers', () => {
    expect(verifySignature('another-secret', BODY, header(SECRET, BODY))).toBe(false);
    expect(verifySignature(SECRET, BODY.replace('e1', 'e2'), header(SECRET, BODY))).toBe(false);
    const reserialised = JSON.stringify(JSON.parse(BODY), null, 1);
    expect(verifySignature(SECRET, reserialised, header(SECRET, BODY))).toBe(false);
    const good = header(SECRET, BODY);
    for (const bad of [undefined, '', good.slice(7), `sha1=${good.slice(7)}`, good.slice(0, -2), `${good}00`, 'sha256=' + 'z'.repeat(64)])
      expect(verifySignature(SECRET, BODY, bad)).toBe(false);
  });
});

describe('verifyBasicAuth', () => {
  const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;
  const expected = { user: 'hook-user', pass: 'p:a:ss' };

  it('accepts the exact user and password (a password may hold ":")', () => {
    expect(verifyBasicAuth(expected, basic('hook-user:p:a:ss'))).toBe(true);
    expect(verifyBasicAuth(expected, `basic   ${Buffer.from('hook-user:p:a:ss').toString('base64')}`)).toBe(true);
  });

  it('refuses a wrong user or password, other schemes and missing headers', () => {
    for (const bad of [basic('hook-user:p:a:s'), basic('hook-use:p:a:ss'), basic('hook-user:p:a:ss '), basic(''), 'Bearer abc', undefined, 'Basic'])
      expect(verifyBasicAuth(expected, bad)).toBe(false);
  });
});
