/**
 * A connection replaced or removed, through the console or from a terminal meanwhile, is never
 * used with its old credentials: the next page opens a client with the new ones, and uploads mint
 * their key with them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_KEY, samplePng, startStack, type Stack } from './e2e/harness.js';
import { memoryConnections } from './pages-fixture.js';

let stack: Stack;
let session: { cookie: string; csrf: string };
const connections = memoryConnections();
const WRONG = 'wrong-key-4b7c11';

beforeAll(async () => {
  stack = await startStack({ token: 'tok-changes-123', seed: true, console: { connections } });
  const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-changes-123' });
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const page = await stack.app.inject({ method: 'GET', url: '/ui/connections', headers: { cookie } });
  session = { cookie, csrf: /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]! };
});
afterAll(async () => stack?.close());

const endpoint = () => `${stack.dam.url}/${stack.dam.token}`;
const input = (apiKey: string) => ({ name: 'local', endpointUrl: endpoint(), authentication: 'apikey' as const, apiKey: { value: apiKey } });

function post(url: string, form: Record<string, string>) {
  return stack.app.inject({
    method: 'POST',
    url,
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' },
    payload: new URLSearchParams(form).toString(),
  });
}

/** What the Assets page makes of the connection: its assets, or the DAM's refusal. */
async function assets(): Promise<'listed' | 'refused' | 'none'> {
  const res = await stack.app.inject({ method: 'GET', url: '/ui/assets', headers: { cookie: session.cookie } });
  expect(res.statusCode).toBe(200);
  if (res.body.includes('red-sneaker.png')) return 'listed';
  if (res.body.includes('The DAM refused')) return 'refused';
  expect(res.body).toContain('No connection yet');
  return 'none';
}

async function upload(name: string): Promise<number> {
  const form = new FormData();
  form.append('file', new Blob([await samplePng(7, 16, 16)], { type: 'image/png' }), name);
  const res = await fetch(`${stack.url}/ui/assets/upload?folder=%2Fincoming`, {
    method: 'POST',
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
    body: form,
  });
  return res.status;
}

describe('connections that change', () => {
  it('removed and added again through the console with another key: the next page uses the new key', async () => {
    expect((await post('/ui/connections', { name: 'local', endpointUrl: endpoint(), authentication: 'apikey', apiKey: ROOT_KEY })).statusCode).toBeLessThan(300);
    expect(await connections.list()).toHaveLength(1);
    expect(await assets()).toBe('listed');
    expect(await upload('a.png')).toBe(200);

    await post('/ui/connections/local/remove', {});
    expect(await assets()).toBe('none');
    await post('/ui/connections', { name: 'local', endpointUrl: endpoint(), authentication: 'apikey', apiKey: WRONG, skipTest: '1' });
    expect(await assets()).toBe('refused');
    // The upload key minted with the old key is gone too: a new one is asked for with the new key.
    expect(await upload('b.png')).toBe(401);
  });

  it('replaced from a terminal meanwhile (same name, another key): the next page and upload use the new key', async () => {
    connections.put(input(ROOT_KEY));
    expect(await assets()).toBe('listed');
    expect(await upload('c.png')).toBe(200);
    connections.put(input(WRONG));
    expect(await assets()).toBe('refused');
    expect(await upload('d.png')).toBe(401);
  });

  it('removed from a terminal: gone from the pages', async () => {
    connections.put(input(ROOT_KEY));
    expect(await assets()).toBe('listed');
    await connections.remove!('local');
    expect(await assets()).toBe('none');
    expect(await upload('e.png')).toBe(400);
  });
});
