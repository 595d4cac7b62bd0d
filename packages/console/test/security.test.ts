/**
 * The console under attack, over HTTP against the real service and console: every write route
 * (enumerated from the routes the console registers, so a new one cannot slip through) refuses a
 * request without a session, without the CSRF token or from another origin; every response (pages,
 * fragments, errors, static files, server-sent events) carries the security headers; the login is
 * throttled and redirects only inside /ui; live streams are bounded per session and released when
 * the browser goes away.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type InjectOptions, type RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle, safeNext } from '../src/auth.js';
import { registerConsole } from '../src/index.js';
import { MAX_STREAMS_PER_SESSION } from '../src/pages/runs.js';
import { poll, startStack, type Stack } from './e2e/harness.js';
import { flowFiles, gate, HELD_FLOW, memoryConnections, type Gate } from './pages-fixture.js';

let stack: Stack;
let held: Gate;
let session: { cookie: string; csrf: string };
/** Subscriptions to run events the console holds right now (FlowService.watchRun, counted). */
let watching = 0;

async function login(remoteAddress = '127.0.0.1'): Promise<{ cookie: string; csrf: string }> {
  const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-security-123', remoteAddress });
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const page = await stack.app.inject({ method: 'GET', url: '/ui/flows', headers: { cookie } });
  return { cookie, csrf: /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]! };
}

/** The console's routes, as it registers them on a fastify instance of its own. */
async function consoleRoutes(): Promise<Array<{ method: string; url: string }>> {
  const app = Fastify();
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  await registerConsole(app, { connections: memoryConnections() });
  await app.ready();
  await app.close();
  // Params filled with a plain value: the guards answer before any handler looks at them.
  return routes.map((r) => ({ method: r.method, url: r.url.replace(/:\w+/g, 'x').replace(/\*$/, 'x') }));
}

beforeAll(async () => {
  held = await gate();
  stack = await startStack({
    token: 'tok-security-123',
    flows: await flowFiles({ 'held.yaml': HELD_FLOW }),
    console: { connections: memoryConnections() },
  });
  const watch = stack.service.watchRun.bind(stack.service);
  stack.service.watchRun = (id, listener) => {
    const stop = watch(id, listener);
    watching++;
    let stopped = false;
    return () => {
      if (!stopped) watching--;
      stopped = true;
      stop();
    };
  };
  session = await login();
});
afterAll(async () => {
  await held?.close();
  await stack?.close();
});

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

describe('every write route is guarded', () => {
  it('refuses a write without a session (401), without or with a wrong CSRF token (403), or from another origin (403)', async () => {
    const routes = await consoleRoutes();
    const writes = routes.filter((r) => !SAFE.has(r.method));
    // The list is the console's own: these are in it, and any route added later is checked too.
    for (const known of ['POST /ui/logout', 'POST /ui/flows/save', 'POST /ui/flows/x/run', 'POST /ui/assets/upload', 'POST /ui/connections/x/remove'])
      expect(writes.map((r) => `${r.method} ${r.url}`)).toContain(known);
    const other = await login();
    for (const { method, url } of writes) {
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const inject = (headers: Record<string, string>, payload = '') =>
        stack.app.inject({ method: method as 'POST', url, headers: { ...form, ...headers }, payload });
      const where = `${method} ${url}`;
      if (url !== '/ui/login') {
        const anonymous = await inject({}, 'secret=x');
        expect(anonymous.statusCode, where).toBe(401);
        expect(anonymous.json(), where).toMatchObject({ code: 'NOT_LOGGED_IN' });
        for (const token of [undefined, '', other.csrf, `${session.csrf}x`]) {
          const refused = await inject(
            { cookie: session.cookie, ...(token === undefined ? {} : { 'x-csrf-token': token }) },
            token === undefined ? '' : `_csrf=${encodeURIComponent(other.csrf)}`,
          );
          expect(refused.statusCode, `${where} with token ${String(token)}`).toBe(403);
          expect(refused.json(), where).toMatchObject({ code: 'CSRF_TOKEN_INVALID' });
        }
      }
      const cross = await inject({ cookie: session.cookie, 'x-csrf-token': session.csrf, origin: 'https://evil.example' });
      expect(cross.statusCode, where).toBe(403);
      expect(cross.json(), where).toMatchObject({ code: 'CROSS_ORIGIN' });
    }
  });

  it('a refused save writes no file', async () => {
    const res = await stack.app.inject({
      method: 'POST',
      url: '/ui/flows/save',
      headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ file: 'sneaky.yaml', text: HELD_FLOW.replace('name: held', 'name: sneaky') }).toString(),
    });
    expect(res.statusCode).toBe(403);
    expect(existsSync(join(stack.dir, 'flows', 'sneaky.yaml'))).toBe(false);
  });

  it('every read route but the login page and static files needs a session', async () => {
    const reads = (await consoleRoutes()).filter((r) => r.method === 'GET');
    expect(reads.length).toBeGreaterThan(8);
    for (const { url } of reads) {
      const res = await stack.app.inject({ method: 'GET', url });
      if (url === '/ui/login' || url.startsWith('/ui/static/')) expect(res.statusCode, url).not.toBe(303);
      else {
        expect(res.statusCode, url).toBe(303);
        expect(res.headers.location, url).toMatch(/^\/ui\/login\?next=/);
      }
    }
  });
});

const HEADERS = (res: { headers: Record<string, unknown> }, where: string): void => {
  expect(String(res.headers['content-security-policy']), where).toContain("frame-ancestors 'none'");
  expect(res.headers['x-content-type-options'], where).toBe('nosniff');
  expect(res.headers['referrer-policy'], where).toBe('same-origin');
  expect(res.headers['x-frame-options'], where).toBe('DENY');
};

describe('headers on every response', () => {
  it('pages, fragments, redirects, errors, refusals and static files', async () => {
    const cookie = session.cookie;
    const cases: Array<[string, InjectOptions]> = [
      ['page', { method: 'GET', url: '/ui/flows', headers: { cookie } }],
      ['fragment', { method: 'GET', url: '/ui/runs/table', headers: { cookie } }],
      ['login', { method: 'GET', url: '/ui/login' }],
      ['redirect to login', { method: 'GET', url: '/ui/runs' }],
      ['unknown run', { method: 'GET', url: '/ui/runs/nope', headers: { cookie } }],
      ['not found', { method: 'GET', url: '/ui/nothing', headers: { cookie } }],
      ['static', { method: 'GET', url: '/ui/static/htmx.min.js' }],
      ['static not found', { method: 'GET', url: '/ui/static/none.js' }],
      ['401', { method: 'POST', url: '/ui/logout' }],
      ['403', { method: 'POST', url: '/ui/logout', headers: { cookie } }],
      ['bad JSON', { method: 'POST', url: '/ui/flows/check', headers: { cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/json' }, payload: '{' }],
    ];
    for (const [where, request] of cases) HEADERS(await stack.app.inject(request), where);
  });

  it('unknown paths under the public prefixes are a 404 page, not a server error', async () => {
    for (const url of ['/ui/static/a/b', '/ui/loginx', '/ui/login/x']) {
      const res = await stack.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).toContain('Not found');
      HEADERS(res, url);
    }
  });

  it('server-sent events carry them too', async () => {
    const runId = await stack.service.startManualRun('held', { url: held.url });
    const response = await fetch(`${stack.url}/ui/runs/${runId}/events`, { headers: { cookie: session.cookie } });
    expect(response.status).toBe(200);
    HEADERS({ headers: Object.fromEntries(response.headers) }, 'event stream');
    await response.body!.cancel();
    held.release();
    await poll(async () => (await stack.service.runDetail(runId)).run.status).toBe('succeeded');
    held.hold();
  });
});

describe('live streams', () => {
  it('a session gets a bounded number of streams; a closed stream releases its listener at once', async () => {
    const runId = await stack.service.startManualRun('held', { url: held.url });
    const before = watching;
    const controllers: AbortController[] = [];
    for (let i = 0; i < MAX_STREAMS_PER_SESSION; i++) {
      const controller = new AbortController();
      const response = await fetch(`${stack.url}/ui/runs/${runId}/events`, { headers: { cookie: session.cookie }, signal: controller.signal });
      expect(response.status).toBe(200);
      controllers.push(controller);
    }
    await poll(() => watching - before).toBe(MAX_STREAMS_PER_SESSION);
    const over = await fetch(`${stack.url}/ui/runs/${runId}/events`, { headers: { cookie: session.cookie } });
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ code: 'TOO_MANY_STREAMS' });
    // Another session is not held back by this one.
    const other = await login();
    const theirs = new AbortController();
    expect((await fetch(`${stack.url}/ui/runs/${runId}/events`, { headers: { cookie: other.cookie }, signal: theirs.signal })).status).toBe(200);
    // The browser goes away while the run still runs: each listener goes with it.
    for (const c of [...controllers, theirs]) c.abort();
    await poll(() => watching - before).toBe(0);
    const again = new AbortController();
    expect((await fetch(`${stack.url}/ui/runs/${runId}/events`, { headers: { cookie: session.cookie }, signal: again.signal })).status).toBe(200);
    again.abort();
    held.release();
    await poll(async () => (await stack.service.runDetail(runId)).run.status).toBe('succeeded');
    await poll(() => watching - before).toBe(0);
    held.hold();
  });
});

describe('login', () => {
  it('wrong link tokens are throttled per address like wrong passwords; the right one waits too once blocked', async () => {
    const attacker = '10.9.8.7';
    for (let i = 0; i < 10; i++) {
      const res = await stack.app.inject({ method: 'GET', url: `/ui/login?token=guess-${i}`, remoteAddress: attacker });
      expect(res.statusCode).toBe(401);
    }
    const blocked = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-security-123', remoteAddress: attacker });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
    expect(blocked.headers['set-cookie']).toBeUndefined();
    const form = await stack.app.inject({
      method: 'POST',
      url: '/ui/login',
      remoteAddress: attacker,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'secret=tok-security-123',
    });
    expect(form.statusCode).toBe(429);
    // Someone else logs in meanwhile.
    const ok = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-security-123', remoteAddress: '10.9.8.6' });
    expect(ok.statusCode).toBe(303);
  });

  it('the throttle forgets after its window and stays bounded', () => {
    let now = 0;
    const throttle = new LoginThrottle(2, 1000, 3, () => now);
    throttle.fail('a');
    throttle.fail('a');
    expect(throttle.waitSeconds('a')).toBe(1);
    now = 1000;
    expect(throttle.waitSeconds('a')).toBe(0);
    for (const who of ['b', 'c', 'd', 'e']) throttle.fail(who);
    expect((throttle as unknown as { failures: Map<string, unknown> }).failures.size).toBeLessThanOrEqual(3);
  });

  it('after login it redirects only to plain paths under /ui', async () => {
    for (const next of ['/ui/..//evil.example', '/ui/./../x', '/ui/\r\nSet-Cookie: a=b', '/ui/a\\b', '//evil.example', 'https://evil.example/ui', '/uix'])
      expect(safeNext(next), JSON.stringify(next)).toBe('/ui/');
    for (const next of ['/ui', '/ui/', '/ui/runs?flow=a%20b', '/ui/flows/files/x.yaml']) expect(safeNext(next)).toBe(next);
    const res = await stack.app.inject({ method: 'GET', url: `/ui/login?token=tok-security-123&next=${encodeURIComponent('/ui/\r\nX: 1')}` });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/ui/');
  });
});
