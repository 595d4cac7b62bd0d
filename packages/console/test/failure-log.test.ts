/**
 * A request that fails on the server writes one JSON line to the service's log (the sfx serve
 * log) with a request id, and the page shows that id; the line holds no secret: not the API key
 * typed in the form, not the session cookie, the CSRF token or the login token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_KEY, startStack, type Stack } from './e2e/harness.js';
import { memoryConnections } from './pages-fixture.js';

const TOKEN = 'tok-failure-log-123';
let stack: Stack;
let session: { cookie: string; csrf: string };
const lines: string[] = [];
const connections = memoryConnections();
// The store fails in a way the console does not expect: a 500.
connections.test = async () => {
  throw new Error('the connection store is unreadable');
};

beforeAll(async () => {
  stack = await startStack({ token: TOKEN, console: { connections }, write: (line) => lines.push(line) });
  const res = await stack.app.inject({ method: 'GET', url: `/ui/login?token=${TOKEN}` });
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const page = await stack.app.inject({ method: 'GET', url: '/ui/connections', headers: { cookie } });
  session = { cookie, csrf: /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]! };
});
afterAll(async () => stack?.close());

const failures = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'console request failed');

describe('server failures are logged', () => {
  it('a 500 writes one JSON line with the request id the page shows, and no secret', async () => {
    const before = failures().length;
    const res = await stack.app.inject({
      method: 'POST',
      url: `/ui/connections/demo/test?token=${TOKEN}`,
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ apiKey: ROOT_KEY, _csrf: session.csrf }).toString(),
    });
    expect(res.statusCode).toBe(500);
    const id = /class="request-id">([0-9a-f]{12})</.exec(res.body)?.[1];
    expect(id).toBeTruthy();
    expect(res.headers['x-request-id']).toBe(id);

    const logged = failures().slice(before);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 'error',
      requestId: id,
      status: 500,
      method: 'POST',
      path: '/ui/connections/demo/test',
      error: 'the connection store is unreadable',
    });
    const line = lines.find((l) => l.includes(id!))!;
    for (const secret of [ROOT_KEY, TOKEN, session.cookie.split('=')[1]!, session.csrf]) expect(line).not.toContain(secret);
  });

  it('a refusal (4xx) is the caller\'s problem: no error line, no id', async () => {
    const before = failures().length;
    const res = await stack.app.inject({ method: 'GET', url: '/ui/runs/no-such-run', headers: { cookie: session.cookie } });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('request-id');
    expect(failures().length).toBe(before);
  });
});
