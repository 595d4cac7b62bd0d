/**
 * A connection replaced or removed, through the console or from a terminal meanwhile, is never
 * used with its old credentials: the next page opens a client with the new ones, and uploads mint
 * their key with them. A request already under way on the old client (a slow listing, an upload)
 * still finishes with it: the old client closes once the last such request has ended.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { Filerobot } from '@sfx/client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { poll, ROOT_KEY, samplePng, startStack, type Stack } from './e2e/harness.js';
import { memoryConnections } from './pages-fixture.js';

let stack: Stack;
let session: { cookie: string; csrf: string };
let proxy: HoldingProxy;
const connections = memoryConnections();
const WRONG = 'wrong-key-4b7c11';
/** The clients the console opened from the stored connections, oldest first. */
const opened: Filerobot[] = [];
const openStored = connections.open.bind(connections);
connections.open = async (name) => {
  const client = await openStored(name);
  opened.push(client);
  return client;
};

beforeAll(async () => {
  stack = await startStack({ token: 'tok-changes-123', seed: true, console: { connections } });
  proxy = await holdingProxy(stack.dam.url);
  const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-changes-123' });
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const page = await stack.app.inject({ method: 'GET', url: '/ui/connections', headers: { cookie } });
  session = { cookie, csrf: /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]! };
});
afterAll(async () => {
  await proxy?.close();
  await stack?.close();
});
afterEach(() => vi.restoreAllMocks());

const endpoint = () => `${stack.dam.url}/${stack.dam.token}`;
const input = (apiKey: string, endpointUrl = endpoint()) => ({ name: 'local', endpointUrl, authentication: 'apikey' as const, apiKey: { value: apiKey } });
/** The DAM behind the holding proxy. */
const proxied = () => `${proxy.url}/${stack.dam.token}`;

/** Every Filerobot client closed from now on, in order (the console's, and the upload keys' it makes itself). */
function watchCloses(): Filerobot[] {
  const closed: Filerobot[] = [];
  const close = Filerobot.prototype.close;
  vi.spyOn(Filerobot.prototype, 'close').mockImplementation(function (this: Filerobot) {
    closed.push(this);
    return close.call(this);
  });
  return closed;
}

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

function fragment(url: string) {
  return stack.app.inject({ method: 'GET', url, headers: { cookie: session.cookie, 'hx-request': 'true' } });
}

async function upload(name: string, hue = 7): Promise<number> {
  const form = new FormData();
  // The DAM answers an upload of content the folder already has with that asset: another hue, another file.
  form.append('file', new Blob([await samplePng(hue, 16, 16)], { type: 'image/png' }), name);
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

describe('a request under way when its connection changes', () => {
  it('a slow listing finishes with its data; the replaced client closes after it, and the next page uses the new key', async () => {
    connections.put(input(ROOT_KEY, proxied()));
    expect(await assets()).toBe('listed');
    const old = opened.at(-1)!;
    const closed = watchCloses();
    const held = proxy.holdNext((method, path) => method === 'GET' && /\/files\?/.test(path));
    const listing = fragment('/ui/assets/page');
    await held.arrived;

    connections.put(input(WRONG, proxied()));
    expect(await assets()).toBe('refused');
    expect(opened.at(-1)).not.toBe(old);
    expect(closed.includes(old)).toBe(false);

    held.release();
    const res = await listing;
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('red-sneaker.png');
    expect(res.body).not.toContain('could not be reached');
    await poll(() => closed.filter((c) => c === old).length).toBe(1);
    expect(await assets()).toBe('refused');
  });

  it('removed through the console during a slow listing: the listing finishes, then the client closes', async () => {
    connections.put(input(ROOT_KEY, proxied()));
    expect(await assets()).toBe('listed');
    const old = opened.at(-1)!;
    const closed = watchCloses();
    const held = proxy.holdNext((method, path) => method === 'GET' && /\/files\?/.test(path));
    const listing = fragment('/ui/assets/page');
    await held.arrived;

    expect((await post('/ui/connections/local/remove', {})).statusCode).toBe(200);
    expect(await assets()).toBe('none');
    expect(closed.includes(old)).toBe(false);

    held.release();
    const res = await listing;
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('red-sneaker.png');
    await poll(() => closed.includes(old)).toBe(true);
  });

  it('a client no request holds is closed at once when its connection changes', async () => {
    connections.put(input(ROOT_KEY));
    expect(await assets()).toBe('listed');
    const old = opened.at(-1)!;
    const closed = watchCloses();
    connections.put(input(WRONG));
    expect(await assets()).toBe('refused');
    expect(closed).toContain(old);
  });

  it('an upload under way is stored; its upload key and the replaced client close after it', async () => {
    connections.put(input(ROOT_KEY, proxied()));
    expect(await assets()).toBe('listed');
    const old = opened.at(-1)!;
    const closed = watchCloses();
    const held = proxy.holdNext((method, path) => method === 'POST' && /\/files(\?|$)/.test(path));
    const uploading = upload('held.png', 201);
    await held.arrived;

    connections.put(input(WRONG, proxied()));
    expect(await assets()).toBe('refused');
    expect(closed.length).toBe(0);

    held.release();
    expect(await uploading).toBe(200);
    const stored = await stack.client.files.list({ folder: '/incoming' });
    expect(stored.files?.map((f) => f.name)).toContain('held.png');
    // The connection's old client and the client of the upload key minted with it.
    await poll(() => closed.length).toBe(2);
    expect(closed).toContain(old);
    expect(opened).not.toContain(closed.find((c) => c !== old));
    expect(await upload('after.png')).toBe(401);
  });
});

describe('an upload key renewed while an upload still uses it', () => {
  let renewing: Stack;
  let renewingProxy: HoldingProxy;
  let cookie: string;
  let csrf: string;
  const stored = memoryConnections();

  beforeAll(async () => {
    // Keys are renewed a minute before they expire: with a minute's life, every upload asks for a new one.
    renewing = await startStack({ token: 'tok-renew-123', console: { connections: stored, uploadKeyTtlSeconds: 60 } });
    renewingProxy = await holdingProxy(renewing.dam.url);
    stored.put(input(ROOT_KEY, `${renewingProxy.url}/${renewing.dam.token}`));
    const res = await renewing.app.inject({ method: 'GET', url: '/ui/login?token=tok-renew-123' });
    cookie = String(res.headers['set-cookie']).split(';')[0]!;
    const page = await renewing.app.inject({ method: 'GET', url: '/ui/connections', headers: { cookie } });
    csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]!;
  });
  afterAll(async () => {
    await renewingProxy?.close();
    await renewing?.close();
  });

  async function send(name: string, hue: number): Promise<number> {
    const form = new FormData();
    form.append('file', new Blob([await samplePng(hue, 16, 16)], { type: 'image/png' }), name);
    const res = await fetch(`${renewing.url}/ui/assets/upload?folder=%2Fincoming`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf }, body: form });
    return res.status;
  }

  it('the upload under way is stored, and the old key closes after it', async () => {
    const closed = watchCloses();
    const held = renewingProxy.holdNext((method, path) => method === 'POST' && /\/files(\?|$)/.test(path));
    const first = send('first.png', 11);
    await held.arrived;
    // Renews the key the first upload holds.
    expect(await send('second.png', 12)).toBe(200);
    expect(closed.length).toBe(0);
    held.release();
    expect(await first).toBe(200);
    const names = (await renewing.client.files.list({ folder: '/incoming' })).files?.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['first.png', 'second.png']));
    await poll(() => closed.length).toBe(1);
  });
});

interface HoldingProxy {
  url: string;
  /** Holds the next request that matches until released; `arrived` resolves once it is held. */
  holdNext(match: (method: string, path: string) => boolean): { arrived: Promise<void>; release(): void };
  close(): Promise<void>;
}

/** An HTTP proxy in front of the DAM that can keep one request waiting, as a slow DAM would. */
async function holdingProxy(target: string): Promise<HoldingProxy> {
  const upstream = new URL(target);
  let pending: { match: (method: string, path: string) => boolean; arrive(): void; released: Promise<void> } | undefined;
  const server: Server = createServer((request, response) => {
    const forward = (): void => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      out.on('error', () => response.destroy());
      request.pipe(out);
    };
    const hold = pending?.match(request.method ?? '', request.url ?? '') ? pending : undefined;
    if (!hold) return forward();
    pending = undefined;
    hold.arrive();
    void hold.released.then(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    holdNext(match) {
      let arrive!: () => void;
      let release!: () => void;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      pending = { match, arrive, released };
      return { arrived, release };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
