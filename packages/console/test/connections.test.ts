/**
 * The Connections page over HTTP: the form is made from the connector's JSON Schema, a connection is
 * tested before it is stored (a wrong key says why), secrets never come back in any page, writes
 * need the CSRF token, remove removes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_KEY, startStack, type Stack } from './e2e/harness.js';
import { memoryConnections } from './pages-fixture.js';

let stack: Stack;
let session: { cookie: string; csrf: string };
const connections = memoryConnections();
const TYPED_KEY = 'typed-key-NEVER-IN-A-PAGE-55c1';

beforeAll(async () => {
  stack = await startStack({ token: 'tok-connections-123', console: { connections } });
  const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-connections-123' });
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const page = await stack.app.inject({ method: 'GET', url: '/ui/connections', headers: { cookie } });
  session = { cookie, csrf: /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]! };
});
afterAll(async () => stack?.close());

function post(url: string, form: Record<string, string>, csrf = true) {
  return stack.app.inject({
    method: 'POST',
    url,
    headers: {
      cookie: session.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      'hx-request': 'true',
      ...(csrf ? { 'x-csrf-token': session.csrf } : {}),
    },
    payload: new URLSearchParams(form).toString(),
  });
}

const page = () => stack.app.inject({ method: 'GET', url: '/ui/connections', headers: { cookie: session.cookie } });

describe('Connections page', () => {
  it('starts empty with what to do, and a form made from the connection schema', async () => {
    const res = await page();
    expect(res.body).toContain('No connection yet.');
    for (const field of ['name', 'endpointUrl', 'token', 'authentication', 'apiKey', 'securityTemplate', 'apiVersion'])
      expect(res.body).toContain(`name="${field}"`);
    expect(res.body).not.toContain('name="connector"');
    expect(res.body).toMatch(/id="conn-apiKey" name="apiKey"[^>]*type="password"/);
    expect(res.body).toContain('<option value="sass">sass</option>');
  });

  it('tests before saving: a wrong key is not stored, and the reason says why', async () => {
    const endpoint = `${stack.dam.url}/${stack.dam.token}`;
    const wrong = await post('/ui/connections', { name: 'local', endpointUrl: endpoint, authentication: 'apikey', apiKey: 'wrong-key-0001' });
    expect(wrong.body).toContain('Not saved: it failed the test.');
    expect(wrong.body).toContain('(unauthorized)');
    expect(wrong.body).not.toContain('wrong-key-0001');
    expect(await connections.list()).toEqual([]);

    const bad = await post('/ui/connections', { name: 'local', endpointUrl: 'not a url', authentication: 'apikey' });
    expect(bad.body).toContain('id="conn-endpointUrl-error"');
    expect(bad.body).toContain('id="conn-apiKey-error"');
    expect(bad.body).toContain('aria-invalid="true"');
  });

  it('stores a working connection with its granted permissions, never showing the secret; remove needs CSRF', async () => {
    const endpoint = `${stack.dam.url}/${stack.dam.token}`;
    const forged = await post('/ui/connections', { name: 'local', endpointUrl: endpoint, authentication: 'apikey', apiKey: ROOT_KEY }, false);
    expect(forged.statusCode).toBe(403);
    expect(await connections.list()).toEqual([]);

    // The root key works against the local server; stored under a second name with a typed key too.
    const added = await post('/ui/connections', { name: 'local', endpointUrl: endpoint, authentication: 'apikey', apiKey: ROOT_KEY });
    expect(added.statusCode).toBe(204);
    expect(added.headers['hx-redirect']).toBe('/ui/connections');
    const skipped = await post('/ui/connections', { name: 'unchecked', endpointUrl: endpoint, authentication: 'apikey', apiKey: TYPED_KEY, skipTest: '1' });
    expect(skipped.statusCode).toBe(204);
    expect(connections.secrets.get('unchecked.apiKey')).toBe(TYPED_KEY);

    const list = await page();
    expect(list.body).toContain('<td>local');
    expect(list.body).toContain('secrets file');
    const tested = await post('/ui/connections/local/test', {});
    expect(tested.body).toContain('local works');
    expect(tested.body).toContain('<code>OBJECTS_LIST</code>');
    const failing = await post('/ui/connections/unchecked/test', {});
    expect(failing.body).toContain('unchecked fails');
    for (const body of [list.body, tested.body, failing.body, added.body]) {
      expect(body).not.toContain(ROOT_KEY);
      expect(body).not.toContain(TYPED_KEY);
    }

    expect((await post('/ui/connections/unchecked/remove', {}, false)).statusCode).toBe(403);
    expect((await connections.list()).map((c) => c.name)).toEqual(['local', 'unchecked']);
    const removed = await post('/ui/connections/unchecked/remove', {});
    expect(removed.body).toContain('Removed unchecked.');
    expect((await connections.list()).map((c) => c.name)).toEqual(['local']);
    expect(connections.secrets.has('unchecked.apiKey')).toBe(false);
  });
});
