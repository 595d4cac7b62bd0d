/**
 * Behind a TLS-terminating reverse proxy: with `trustedProxies`, the proxy's X-Forwarded-Proto
 * https makes the session cookie Secure and its X-Forwarded-For names who the login throttle
 * counts; without it, or from any other peer, those headers change nothing.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerConsole, TrustedProxies } from '../src/index.js';
import { memoryConnections } from './pages-fixture.js';

const TOKEN = 'tok-proxy-123';
let app: FastifyInstance | undefined;

async function consoleApp(trustedProxies?: string[]): Promise<FastifyInstance> {
  app = Fastify();
  await registerConsole(app, { connections: memoryConnections(), token: TOKEN, ...(trustedProxies ? { trustedProxies } : {}) });
  await app.ready();
  return app;
}
afterEach(async () => app?.close());

async function loginCookie(a: FastifyInstance, remoteAddress: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await a.inject({ method: 'GET', url: `/ui/login?token=${TOKEN}`, remoteAddress, headers });
  expect(res.statusCode).toBe(303);
  return String(res.headers['set-cookie']);
}

describe('Secure cookie behind a TLS proxy', () => {
  it('never believes X-Forwarded-Proto without trusted proxies', async () => {
    const a = await consoleApp();
    expect(await loginCookie(a, '10.1.2.3', { 'x-forwarded-proto': 'https' })).not.toContain('Secure');
  });

  it('a trusted proxy saying https gets a Secure cookie; http, or another peer saying https, does not', async () => {
    const a = await consoleApp(['10.0.0.0/8', '2001:db8::1']);
    expect(await loginCookie(a, '10.1.2.3', { 'x-forwarded-proto': 'https' })).toMatch(/; Secure$/);
    expect(await loginCookie(a, '::ffff:10.1.2.3', { 'x-forwarded-proto': 'https' })).toMatch(/; Secure$/);
    expect(await loginCookie(a, '2001:db8::1', { 'x-forwarded-proto': 'https' })).toMatch(/; Secure$/);
    expect(await loginCookie(a, '10.1.2.3', { 'x-forwarded-proto': 'http' })).not.toContain('Secure');
    expect(await loginCookie(a, '10.1.2.3')).not.toContain('Secure');
    // The value the proxy next to us wrote is the last one; a client's own claim comes before it.
    expect(await loginCookie(a, '10.1.2.3', { 'x-forwarded-proto': 'https, http' })).not.toContain('Secure');
    expect(await loginCookie(a, '192.0.2.9', { 'x-forwarded-proto': 'https' })).not.toContain('Secure');
    expect(await loginCookie(a, '2001:db8::2', { 'x-forwarded-proto': 'https' })).not.toContain('Secure');
    // Logging out clears the cookie the same way.
    const cookie = (await loginCookie(a, '10.1.2.3', { 'x-forwarded-proto': 'https' })).split(';')[0]!;
    const page = await a.inject({ method: 'GET', url: '/ui/connections', headers: { cookie }, remoteAddress: '10.1.2.3' });
    const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]!;
    const out = await a.inject({
      method: 'POST',
      url: '/ui/logout',
      remoteAddress: '10.1.2.3',
      headers: { cookie, 'x-csrf-token': csrf, 'x-forwarded-proto': 'https' },
    });
    expect(String(out.headers['set-cookie'])).toMatch(/Max-Age=0; Secure$/);
  });

  it('refuses a malformed range at start, naming it', () => {
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow(/trusted proxy "10.0.0.0\/33" is not an IPv4 or IPv6 CIDR range/);
    expect(() => new TrustedProxies(['proxy.internal'])).toThrow(/"proxy.internal"/);
    expect(new TrustedProxies(['10.0.0.0/8']).trusts('10.200.0.1')).toBe(true);
  });
});

describe('login throttle behind a proxy', () => {
  const wrong = (a: FastifyInstance, remoteAddress: string, forwardedFor: string) =>
    a.inject({ method: 'GET', url: '/ui/login?token=wrong', remoteAddress, headers: { 'x-forwarded-for': forwardedFor } });

  it('counts the client a trusted proxy names, so one guesser does not lock out everyone behind it', async () => {
    const a = await consoleApp(['10.0.0.0/8']);
    for (let i = 0; i < 10; i++) expect((await wrong(a, '10.0.0.5', '198.51.100.1')).statusCode).toBe(401);
    expect((await wrong(a, '10.0.0.5', '198.51.100.1')).statusCode).toBe(429);
    // A hop the client wrote itself (left of the one the proxy added) changes nothing.
    expect((await wrong(a, '10.0.0.5', '203.0.113.77, 198.51.100.1')).statusCode).toBe(429);
    const other = await a.inject({ method: 'GET', url: `/ui/login?token=${TOKEN}`, remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '198.51.100.2' } });
    expect(other.statusCode).toBe(303);
  });

  it('ignores X-Forwarded-For from a peer it does not trust: changing it does not reset the count', async () => {
    const a = await consoleApp();
    for (let i = 0; i < 10; i++) await wrong(a, '192.0.2.9', `198.51.100.${i}`);
    expect((await wrong(a, '192.0.2.9', '198.51.100.200')).statusCode).toBe(429);
  });
});
