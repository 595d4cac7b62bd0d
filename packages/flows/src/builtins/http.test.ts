import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { action, collectItems, makeContext, runAction } from './context.test-util.js';
import { nextLink, retryAfter } from './http.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let base: string;
let handler: Handler;
const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
});

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(value));
}

/** Answers with each of `replies` in turn, then the last one again. */
function sequence(...replies: Handler[]): void {
  let n = 0;
  handler = (req, res, body) => replies[Math.min(n++, replies.length - 1)]!(req, res, body);
}

async function failure(promise: Promise<unknown>): Promise<Error & { status?: number }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { status?: number };
  }
  throw new Error('expected the request to fail');
}

const fast = { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 };

describe('http.request', () => {
  it('sends method, query, json and bearer auth, and parses a JSON response', async () => {
    handler = (_req, res) => json(res, 201, { ok: true });
    const ctx = makeContext('/tmp');
    const result = await runAction(ctx, 'http', 'request', {
      method: 'post',
      url: `${base}/items?x=1`,
      query: { tag: ['a', 'b'], n: 2 },
      json: { name: 'chair' },
      auth: { bearer: 'tok-123' },
      headers: { 'x-custom': 'yes' },
    });
    expect(result).toMatchObject({ status: 201, body: { ok: true }, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/items?x=1&tag=a&tag=b&n=2', body: '{"name":"chair"}' });
    expect(seen[0]!.headers).toMatchObject({ authorization: 'Bearer tok-123', 'content-type': 'application/json', 'x-custom': 'yes' });
  });

  it('returns text for text responses and sends basic and header auth', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello');
    };
    const ctx = makeContext('/tmp');
    expect(await runAction(ctx, 'http', 'request', { url: base, auth: { basic: { username: 'u', password: 'p' } } })).toMatchObject({ body: 'hello' });
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    await runAction(ctx, 'http', 'request', { url: base, auth: { header: { name: 'X-Api-Key', value: 'k1' } } });
    expect(seen[1]!.headers['x-api-key']).toBe('k1');
  });

  it('retries a 503 and succeeds', async () => {
    sequence(
      (_q, res) => json(res, 503, { error: 'busy' }),
      (_q, res) => json(res, 200, { n: 1 }),
    );
    const ctx = makeContext('/tmp');
    expect(await runAction(ctx, 'http', 'request', { url: `${base}/r`, retry: fast })).toMatchObject({ status: 200, body: { n: 1 } });
    expect(seen).toHaveLength(2);
    expect(ctx.logs[0]).toMatchObject({ level: 'warn', message: expect.stringMatching(/HTTP 503 .*retrying in \d+ ms \(attempt 2 of 3\)/) });
  });

  it('waits as long as Retry-After asks, and refuses a wait longer than maxDelayMs', async () => {
    sequence(
      (_q, res) => json(res, 429, {}, { 'retry-after': '1' }),
      (_q, res) => json(res, 200, {}),
    );
    const ctx = makeContext('/tmp');
    const started = Date.now();
    await runAction(ctx, 'http', 'request', { url: base, retry: { attempts: 2, baseDelayMs: 0, maxDelayMs: 5000 } });
    // Backoff alone would wait 0 ms: the second request came only after the server's second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(seen).toHaveLength(2);

    handler = (_q, res) => json(res, 429, {}, { 'retry-after': '120' });
    seen.length = 0;
    await expect(runAction(ctx, 'http', 'request', { url: base, retry: fast })).rejects.toThrow(/HTTP 429 .*asks to wait 120 s.*raise it/);
    expect(seen).toHaveLength(1);
  });

  it('does not retry a POST unless told it is safe, then sends the idempotency key', async () => {
    handler = (_q, res) => json(res, 503, { error: 'busy' });
    const ctx = makeContext('/tmp');
    await expect(runAction(ctx, 'http', 'request', { method: 'POST', url: base, json: {}, retry: fast })).rejects.toMatchObject({ code: 'HTTP_STATUS', status: 503 });
    expect(seen).toHaveLength(1);

    seen.length = 0;
    sequence(
      (_q, res) => json(res, 503, {}),
      (_q, res) => json(res, 200, { done: true }),
    );
    const result = await runAction(ctx, 'http', 'request', { method: 'POST', url: base, json: {}, retry: fast, idempotencyKeyHeader: 'Idempotency-Key' });
    expect(result).toMatchObject({ body: { done: true } });
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['run1:step1:0', 'run1:step1:0']);
  });

  it('gives up after its attempts with the status and a body excerpt that never holds the secret', async () => {
    handler = (req, res) => json(res, 401, { error: 'bad credentials', youSent: req.headers.authorization, key: req.headers['x-key'] });
    const ctx = makeContext('/tmp');
    const error = await failure(runAction(ctx, 'http', 'request', {
      url: `${base}/private?api_key=q-secret-1`,
      auth: { bearer: 'SECRET-TOKEN-42' },
      headers: { 'X-Key': 'hdr-secret-9' },
    }));
    expect(error.status).toBe(401);
    expect(error.message).toMatch(/^HTTP 401 from GET http:\/\/127\.0\.0\.1:\d+\/private: .*bad credentials.*\*\*\*.*Check the credentials/);
    expect(error.message).not.toContain('SECRET-TOKEN-42');
    expect(error.message).not.toContain('hdr-secret-9');
    expect(error.message).not.toContain('q-secret-1');
    expect(JSON.stringify(error)).not.toContain('SECRET-TOKEN-42');
    expect(seen).toHaveLength(1);

    const basic = await failure(runAction(ctx, 'http', 'request', { url: base, auth: { basic: { username: 'me', password: 'pw-secret-7' } } }));
    expect(basic.message).not.toContain('pw-secret-7');
    expect(basic.message).not.toContain(Buffer.from('me:pw-secret-7').toString('base64'));
  });

  it('retries network errors, times out a slow server, and refuses an oversized response', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((r) => closed.close(() => r()));
    const ctx = makeContext('/tmp');
    await expect(runAction(ctx, 'http', 'request', { method: 'POST', url: deadUrl, retry: fast })).rejects.toMatchObject({ code: 'HTTP_NETWORK' });
    expect(ctx.logs.filter((l) => l.level === 'warn')).toHaveLength(2);

    handler = (_q, res) => setTimeout(() => json(res, 200, {}), 2000);
    await expect(runAction(ctx, 'http', 'request', { url: base, timeoutMs: 100, retry: { attempts: 1 } })).rejects.toMatchObject({ code: 'HTTP_TIMEOUT' });

    handler = (_q, res) => json(res, 200, { big: 'x'.repeat(5000) });
    await expect(runAction(ctx, 'http', 'request', { url: base, maxResponseBytes: 1000 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('validates input with messages that say the fix', () => {
    const input = action('http', 'request').input;
    expect(input.safeParse({ url: 'ftp://x' }).error?.issues[0]?.message).toMatch(/absolute http:\/\/ or https:\/\/ URL/);
    expect(input.safeParse({ method: 'PUT', url: base, json: {}, body: 'x' }).error?.issues[0]?.message).toMatch(/json or body, not both/);
    expect(input.safeParse({ url: base, json: {} }).error?.issues[0]?.message).toMatch(/GET request has no body/);
    expect(input.safeParse({ url: base, retries: 3 }).error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['retries'] });
    expect(JSON.stringify(input.safeParse({ url: base, auth: { token: 'x' } }).error?.issues)).toMatch(/bearer/);
  });

  it('parses Retry-After and Link headers', () => {
    expect(retryAfter('3')).toBe(3000);
    expect(retryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfter('soon')).toBeUndefined();
    expect(nextLink('<https://a/?p=1>; rel="prev", <https://a/?p=3>; rel="next"')).toBe('https://a/?p=3');
    expect(nextLink('</p2>; rel=next')).toBe('/p2');
    expect(nextLink('<https://a/?p=1>; rel="prev"')).toBeUndefined();
  });
});

describe('http.paginate', () => {
  const PAGES: Record<string, { items: number[]; next?: string }> = {
    '1': { items: [1, 2, 3], next: '2' },
    '2': { items: [4, 5, 6], next: '3' },
    '3': { items: [7, 8] },
  };

  it('follows Link headers across 3 pages, and resumes from a cursor with exactly the rest', async () => {
    handler = (req, res) => {
      const page = new URL(req.url!, base).searchParams.get('page') ?? '1';
      const p = PAGES[page]!;
      json(res, 200, p.items, p.next ? { link: `</list?page=${p.next}>; rel="next"` } : {});
    };
    const ctx = makeContext('/tmp');
    const all = await collectItems(ctx, 'http', 'paginate', { url: `${base}/list`, auth: { bearer: 't' } });
    expect(all.map((x) => x.item)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(seen.map((s) => s.url)).toEqual(['/list', '/list?page=2', '/list?page=3']);
    expect(seen.every((s) => s.headers.authorization === 'Bearer t')).toBe(true);
    for (const k of [0, 2, 4, 7]) {
      seen.length = 0;
      const rest = await collectItems(ctx, 'http', 'paginate', { url: `${base}/list` }, all[k]!.cursor);
      expect(rest).toEqual(all.slice(k + 1));
    }
    // Resuming after the last item of page 2 refetches only pages 2 and 3.
    seen.length = 0;
    await collectItems(ctx, 'http', 'paginate', { url: `${base}/list` }, all[5]!.cursor);
    expect(seen.map((s) => s.url)).toEqual(['/list?page=2', '/list?page=3']);
  });

  it('finds items and the next cursor with JSONata expressions', async () => {
    handler = (req, res) => {
      const cursor = new URL(req.url!, base).searchParams.get('after') ?? '1';
      const p = PAGES[cursor]!;
      json(res, 200, { data: p.items.map((n) => ({ n })), meta: { next: p.next ?? null } });
    };
    const ctx = makeContext('/tmp');
    const all = await collectItems(ctx, 'http', 'paginate', { url: `${base}/s`, query: { q: 'x' }, items: 'data', nextCursor: 'meta.next', cursorParam: 'after' });
    expect(all.map((x) => (x.item as { n: number }).n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(seen.map((s) => s.url)).toEqual(['/s?q=x', '/s?q=x&after=2', '/s?q=x&after=3']);
  });

  it('follows a next URL from the body, and stops a loop that would never end', async () => {
    handler = (req, res) => {
      const page = new URL(req.url!, base).searchParams.get('page') ?? '1';
      const p = PAGES[page]!;
      json(res, 200, { results: p.items, links: { next: p.next ? `/n?page=${p.next}` : null } });
    };
    const ctx = makeContext('/tmp');
    const all = await collectItems(ctx, 'http', 'paginate', { url: `${base}/n`, items: 'results', nextUrl: 'links.next' });
    expect(all).toHaveLength(8);
    handler = (_q, res) => json(res, 200, { results: [1], links: { next: '/same' } });
    await expect(collectItems(ctx, 'http', 'paginate', { url: `${base}/same`, items: 'results', nextUrl: 'links.next' })).rejects.toThrow(/never end/);
    handler = (_q, res) => json(res, 200, { results: [1] });
    await expect(collectItems(ctx, 'http', 'paginate', { url: `${base}/x` })).rejects.toThrow(/is not a list.*Give items/);
  });
});
