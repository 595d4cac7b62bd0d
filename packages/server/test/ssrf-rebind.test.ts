import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResolver } from '../src/net/guarded-agent.js';
import { startHarness, type Harness } from './harness.js';

// DNS rebinding: a name (TTL 0) answers a public address when the server checks it, and loopback
// when the server connects. The check must hold for the address actually connected to.

/** An internal service the server must never reach for a caller: it records every request. */
let internal: Server;
let port = 0;
const hits: string[] = [];

beforeAll(async () => {
  internal = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('internal secret');
  });
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  port = (internal.address() as AddressInfo).port;
});
afterAll(async () => {
  internal.closeAllConnections();
  await new Promise<void>((resolve) => internal.close(() => resolve()));
});

/**
 * Resolves `name` to a public address for the first `publicAnswers` queries, then to loopback;
 * other names do not exist. Counts the queries for `name`.
 */
function rebinding(name: string, publicAnswers: number): HostResolver & { calls: number } {
  const resolver = Object.assign(
    (hostname: string) => {
      if (hostname !== name)
        return Promise.reject(Object.assign(new Error(`${hostname} not found`), { code: 'ENOTFOUND' }));
      const address = resolver.calls++ < publicAnswers ? '93.184.215.14' : '127.0.0.1';
      return Promise.resolve([{ address, family: 4 }]);
    },
    { calls: 0 },
  );
  return resolver;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('DNS rebinding', () => {
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.close();
  });

  it('a webhook receiver that rebinds to loopback after the check is refused at connect time', async () => {
    const resolver = rebinding('rebind.test', 1);
    h = await startHarness({ resolveHost: resolver, webhooks: { maxAttempts: 1, pollMs: 20 } });
    // Saving the webhook checks the name: its (first) answer is public, so it is accepted.
    const created = await h.call('POST', '/webhooks', {
      body: { url: `http://rebind.test:${port}/hook`, events: ['file.uploaded'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const { uuid } = created.body.webhook as { uuid: string };
    await h.upload('/', 'a.txt', 'hello');
    const failed = await waitFor('the delivery to fail', async () => {
      const r = await h!.call('GET', `/webhooks/${uuid}/deliveries?state=failed`);
      return (r.body.deliveries as Array<{ last_error: string }>)[0];
    });
    expect(failed.last_error).toBe(
      'rebind.test resolves to a loopback address, which webhooks may not reach',
    );
    expect(hits).toEqual([]);
  });

  it('a URL import whose name answers loopback when connecting is refused, and nothing internal is read', async () => {
    const resolver = rebinding('rebind.test', 0);
    const local = await startHarness({ resolveHost: resolver });
    try {
      const r = await local.call('POST', '/files', {
        body: { files_urls: [{ url: `http://rebind.test:${port}/admin/export` }] },
      });
      expect([r.status, r.body.code, r.body.msg]).toEqual([
        400,
        'URL_NOT_ALLOWED',
        'rebind.test resolves to a loopback address, which imports may not reach.',
      ]);
      // One resolution, and it is the one connected to: no second lookup can answer differently.
      expect(resolver.calls).toBe(1);
      expect(hits).toEqual([]);
      // An IPv4-mapped IPv6 loopback literal never reaches a resolver; it is refused too.
      const mapped = await local.call('POST', '/files', {
        body: { files_urls: [{ url: `http://[::ffff:127.0.0.1]:${port}/admin` }] },
      });
      expect([mapped.status, mapped.body.code]).toEqual([400, 'URL_NOT_ALLOWED']);
      expect(hits).toEqual([]);
    } finally {
      await local.close();
    }
  });

  it('with private addresses allowed, names still resolve through the resolver and imports work', async () => {
    const local = await startHarness({
      resolveHost: rebinding('assets.test', 0),
      allowPrivateUrlImports: true,
    });
    try {
      const r = await local.call('POST', '/files', {
        body: { files_urls: [{ url: `http://assets.test:${port}/logo.txt` }] },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(hits).toEqual(['/logo.txt']);
    } finally {
      hits.length = 0;
      await local.close();
    }
  });
});
