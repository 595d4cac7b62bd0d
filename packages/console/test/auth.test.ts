import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_KEY, startStack, type Stack } from './e2e/harness.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ token: 'tok-for-tests-123', password: 'correct horse battery' });
});
afterAll(async () => stack?.close());

function cookieOf(setCookie: string | string[] | undefined): string {
  const line = Array.isArray(setCookie) ? setCookie[0]! : setCookie!;
  return line.split(';')[0]!;
}

async function login(): Promise<{ cookie: string; csrf: string }> {
  const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-for-tests-123&next=/ui/assets' });
  const cookie = cookieOf(res.headers['set-cookie']);
  const page = await stack.app.inject({ method: 'GET', url: '/ui/assets', headers: { cookie } });
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1];
  expect(csrf).toBeTruthy();
  return { cookie, csrf: csrf! };
}

describe('console login', () => {
  it('the login URL sets an HttpOnly, SameSite=Strict session cookie on /ui and redirects without the token', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-for-tests-123&next=/ui/assets' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/ui/assets');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^sfx_console=[\w-]{30,};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/ui');
    expect(cookie).toMatch(/Max-Age=\d+/);
  });

  it('pages need a session: a browser is sent to the login page, htmx gets HX-Redirect', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/ui/assets' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/ui/login?next=%2Fui%2Fassets');
    const hx = await stack.app.inject({ method: 'GET', url: '/ui/assets', headers: { 'hx-request': 'true' } });
    expect(hx.statusCode).toBe(401);
    expect(hx.headers['hx-redirect']).toMatch(/^\/ui\/login/);
  });

  it('a wrong token or password logs nobody in', async () => {
    const link = await stack.app.inject({ method: 'GET', url: '/ui/login?token=nope' });
    expect(link.statusCode).toBe(401);
    expect(link.headers['set-cookie']).toBeUndefined();
    const form = await stack.app.inject({
      method: 'POST',
      url: '/ui/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'secret=wrong',
    });
    expect(form.statusCode).toBe(401);
    expect(form.body).toContain('Wrong password.');
    expect(form.headers['set-cookie']).toBeUndefined();
  });

  it('the login form takes the admin password, and only sends to /ui paths afterwards', async () => {
    const res = await stack.app.inject({
      method: 'POST',
      url: '/ui/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `secret=${encodeURIComponent('correct horse battery')}&next=${encodeURIComponent('https://evil.example/')}`,
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/ui/');
    const page = await stack.app.inject({ method: 'GET', url: '/ui/assets', headers: { cookie: cookieOf(res.headers['set-cookie']) } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Assets');
  });

  it('logout ends the session', async () => {
    const { cookie, csrf } = await login();
    const out = await stack.app.inject({
      method: 'POST',
      url: '/ui/logout',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(csrf)}`,
    });
    expect(out.statusCode).toBe(303);
    const after = await stack.app.inject({ method: 'GET', url: '/ui/assets', headers: { cookie } });
    expect(after.statusCode).toBe(303);
  });
});

describe('CSRF', () => {
  it('a write without the token, or with another session\'s, is 403 and changes nothing', async () => {
    const a = await login();
    const b = await login();
    for (const headers of [{}, { 'x-csrf-token': b.csrf }, { 'x-csrf-token': '' }]) {
      const res = await stack.app.inject({ method: 'POST', url: '/ui/logout', headers: { cookie: a.cookie, ...headers } });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ status: 'error', code: 'CSRF_TOKEN_INVALID' });
    }
    // The session survived every refused logout.
    const still = await stack.app.inject({ method: 'GET', url: '/ui/assets', headers: { cookie: a.cookie } });
    expect(still.statusCode).toBe(200);
    const ok = await stack.app.inject({ method: 'POST', url: '/ui/logout', headers: { cookie: a.cookie, 'x-csrf-token': a.csrf } });
    expect(ok.statusCode).toBe(303);
  });

  it('a write from another origin is refused even with the token', async () => {
    const a = await login();
    const res = await stack.app.inject({
      method: 'POST',
      url: '/ui/logout',
      headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, origin: 'https://evil.example', host: 'localhost:80' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'CROSS_ORIGIN' });
  });
});

describe('headers and secrets', () => {
  it('every page carries the CSP and the other security headers; the pages have no inline script', async () => {
    const { cookie } = await login();
    for (const url of ['/ui/login', '/ui/assets', '/ui/nothing-here']) {
      const res = await stack.app.inject({ method: 'GET', url, headers: { cookie } });
      const policy = String(res.headers['content-security-policy']);
      expect(policy).toContain("default-src 'self'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).not.toContain('unsafe-inline');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('same-origin');
      expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(res.body).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    }
  });

  it('the static files are served, and only those', async () => {
    const htmx = await stack.app.inject({ method: 'GET', url: '/ui/static/htmx.min.js' });
    expect(htmx.statusCode).toBe(200);
    expect(htmx.headers['content-type']).toContain('text/javascript');
    const css = await stack.app.inject({ method: 'GET', url: '/ui/static/console.css' });
    expect(css.statusCode).toBe(200);
    for (const url of ['/ui/static/..%2F..%2Fpackage.json', '/ui/static/.tsbuildinfo', '/ui/static/index.js']) {
      const res = await stack.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(404);
    }
  });

  it('the static files go compressed to a browser that takes it, and a page view revalidates them with a 304', async () => {
    const url = '/ui/static/flow-editor.js';
    const plain = await stack.app.inject({ method: 'GET', url });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toContain('Accept-Encoding');
    const etag = plain.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const br = await stack.app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2);
    expect(brotliDecompressSync(br.rawPayload).equals(plain.rawPayload)).toBe(true);
    const gzip = await stack.app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip, br;q=0' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).equals(plain.rawPayload)).toBe(true);
    expect(br.headers.etag).not.toBe(etag);
    expect(gzip.headers.etag).not.toBe(br.headers.etag);
    const again = await stack.app.inject({ method: 'GET', url, headers: { 'if-none-match': br.headers.etag as string, 'accept-encoding': 'br' } });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    const plainAgain = await stack.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } });
    expect(plainAgain.statusCode).toBe(304);
    // A tag of another encoding is another representation: sent in full.
    expect((await stack.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag, 'accept-encoding': 'br' } })).statusCode).toBe(200);
    const other = await stack.app.inject({ method: 'GET', url: '/ui/static/console.css', headers: { 'if-none-match': etag } });
    expect(other.statusCode).toBe(200);
  });

  it('no page shows the API key or the login token', async () => {
    const { cookie } = await login();
    for (const url of ['/ui/', '/ui/assets', '/ui/connections', '/ui/flows', '/ui/runs', '/ui/login']) {
      const res = await stack.app.inject({ method: 'GET', url, headers: { cookie } });
      expect(res.body).not.toContain(ROOT_KEY);
      expect(res.body).not.toContain('tok-for-tests-123');
    }
  });

  it('the webhook routes of the service are untouched by the console', async () => {
    const health = await stack.app.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toEqual({ status: 'ok' });
    const hook = await stack.app.inject({ method: 'POST', url: '/hooks/x', payload: 'raw' });
    expect(hook.json()).toMatchObject({ code: 'HOOK_NOT_FOUND' });
  });
});
