import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/index.js';
import { startHarness, type Harness } from './harness.js';

/** A parsed JSON document walked without checks: a test asserts on what it finds. */
interface Doc {
  [key: string]: Doc;
}

/** Follows a dotted path through parsed JSON; undefined where it leads nowhere. */
function at(doc: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined),
      doc,
    );
}

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: { id: string; type: string; occurred_at: string; project: string; data: Doc };
}

/** A local receiver: records every request; `respond` decides each answer (default 200). */
class Receiver {
  readonly requests: Received[] = [];
  respond: (req: Received, res: ServerResponse) => void = (_req, res) => res.writeHead(200).end('ok');
  private server!: Server;
  url = '';

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const received: Received = {
          path: req.url ?? '',
          headers: req.headers,
          raw,
          body: JSON.parse(raw) as Received['body'],
        };
        this.requests.push(received);
        this.respond(received, res);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  on(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 8000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const FAST = { retryBaseMs: 30, pollMs: 50, timeoutMs: 2000 };
const SECRET = 'a-webhook-secret-for-tests';

let h: Harness;
const receiver = new Receiver();

beforeAll(async () => {
  await receiver.start();
  h = await startHarness({ allowPrivateWebhooks: true, webhooks: FAST });
});
afterAll(async () => {
  await h.close();
  await receiver.close();
});

async function subscribe(path: string, body: Record<string, unknown> = {}): Promise<{ uuid: string }> {
  const r = await h.call('POST', '/webhooks', {
    body: { url: `${receiver.url}${path}`, events: ['*'], ...body },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.webhook as { uuid: string };
}

async function upload(folder: string, name: string, content = name): Promise<{ uuid: string }> {
  const r = await h.upload(folder, name, content);
  return r.file as { uuid: string };
}

describe('webhook management', () => {
  it('creates, lists, reads, changes and deletes a webhook; secrets and passwords are never returned', async () => {
    const created = await h.call('POST', '/webhooks', {
      body: {
        url: `${receiver.url}/manage`,
        events: ['file.uploaded', 'file.deleted'],
        secret: SECRET,
        basic_auth: { user: 'u', pass: 'p4ss-word' },
        description: 'crm',
      },
    });
    expect(created.status).toBe(200);
    const hook = created.body.webhook as Record<string, unknown>;
    expect(hook).toMatchObject({
      url: `${receiver.url}/manage`,
      events: ['file.uploaded', 'file.deleted'],
      has_secret: true,
      basic_auth: { user: 'u', has_pass: true },
      active: true,
      description: 'crm',
    });
    expect(JSON.stringify(created.body)).not.toContain(SECRET);
    expect(JSON.stringify(created.body)).not.toContain('p4ss-word');
    const uuid = hook.uuid as string;

    const list = await h.call('GET', '/webhooks');
    expect((list.body.webhooks as Array<{ uuid: string }>).map((w) => w.uuid)).toContain(uuid);
    expect(list.body.events).toContain('folder.moved');
    expect(JSON.stringify(list.body)).not.toContain(SECRET);
    expect(JSON.stringify(list.body)).not.toContain('p4ss-word');
    expect((await h.call('GET', `/webhooks/${uuid}`)).body.webhook).toMatchObject({ uuid, has_secret: true });

    const patched = await h.call('PATCH', `/webhooks/${uuid}`, {
      body: { active: false, secret: null, basic_auth: null, events: ['*'] },
    });
    expect(patched.body.webhook).toMatchObject({
      active: false,
      has_secret: false,
      basic_auth: null,
      events: ['*'],
    });

    const deleted = await h.call('DELETE', `/webhooks/${uuid}`);
    expect(deleted.body).toMatchObject({ action: 'webhook_deleted', webhook_uuid: uuid });
    expect((await h.call('GET', `/webhooks/${uuid}`)).status).toBe(404);
    expect((await h.call('PATCH', `/webhooks/${uuid}`, { body: { active: true } })).body.code).toBe(
      'WEBHOOK_NOT_FOUND',
    );
  });

  it('refuses bad input with a 400 naming the problem', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ events: ['*'] }, 'INVALID_PARAMETER', '"url" is required'],
      [{ url: `${receiver.url}/x` }, 'INVALID_PARAMETER', '"events" is required'],
      [{ url: 'ftp://example.com/x', events: ['*'] }, 'INVALID_URL', 'ftp:'],
      [{ url: 'not a url', events: ['*'] }, 'INVALID_URL', 'not a URL'],
      [{ url: 'https://user:pw@example.com/x', events: ['*'] }, 'INVALID_URL', 'Credentials'],
      [
        { url: `${receiver.url}/x`, events: ['file.uploaded', 'file.exploded', 'nope'] },
        'INVALID_EVENT',
        '"file.exploded", "nope"',
      ],
      [{ url: `${receiver.url}/x`, events: [] }, 'INVALID_PARAMETER', '"events"'],
      [{ url: `${receiver.url}/x`, events: ['*'], secret: 'short' }, 'INVALID_PARAMETER', '"secret"'],
      [
        { url: `${receiver.url}/x`, events: ['*'], basic_auth: { user: 'a:b', pass: 'x' } },
        'INVALID_PARAMETER',
        '"basic_auth"',
      ],
      [{ url: `${receiver.url}/x`, events: ['*'], active: 'yes' }, 'INVALID_PARAMETER', '"active"'],
      [{ url: `${receiver.url}/x`, events: ['*'], colour: 'red' }, 'INVALID_PARAMETER', 'colour'],
    ];
    for (const [body, code, text] of cases) {
      const r = await h.call('POST', '/webhooks', { body });
      expect([r.status, r.body.code], JSON.stringify(body)).toEqual([400, code]);
      expect(String(r.body.msg)).toContain(text);
    }
    expect((await h.call('GET', '/webhooks/not-a-uuid')).body.code).toBe('INVALID_UUID');
    expect((await h.call('GET', '/webhooks')).body.webhooks).toEqual([]);
  });

  it('refuses loopback and private receivers unless the server allows them', async () => {
    const strict = await startServer({
      port: 0,
      data: ':memory:',
      rootKey: 'strict-root',
      logLevel: 'silent',
    });
    try {
      for (const url of [
        `${receiver.url}/x`,
        'http://10.1.2.3/x',
        'http://[::1]:9/x',
        'http://localhost:9/x',
      ]) {
        const r = await fetch(`${strict.url}/${strict.token}/v5/webhooks`, {
          method: 'POST',
          headers: { 'X-Filerobot-Key': strict.rootKey, 'Content-Type': 'application/json' },
          body: JSON.stringify({ url, events: ['*'] }),
        });
        const body = (await r.json()) as Record<string, unknown>;
        expect([r.status, body.code], url).toEqual([400, 'URL_NOT_ALLOWED']);
      }
    } finally {
      await strict.close();
    }
  });
});

describe('webhook delivery', () => {
  it('sends every event type in order with the API objects, a verifiable signature and the event headers', async () => {
    const hook = await subscribe('/all', { secret: SECRET });
    const sid = (
      (await h.call('POST', '/labels', { body: { label: { name: 'hooked', color: '#123456' } } })).body
        .label as { sid: string }
    ).sid;

    const a = (await h.call('POST', '/folders', { body: { name: '/hooks/a' } })).body.folder as {
      uuid: string;
    };
    const file = await upload('/hooks/a', 'one.txt');
    await h.call('PATCH', `/files/${file.uuid}`, { body: { name: 'two.txt' } });
    await h.call('PUT', `/file/${file.uuid}/meta`, { body: { meta: { title: 'T' } } });
    await h.call('PUT', `/file/${file.uuid}/tags`, { body: { new_tags: ['red'] } });
    await h.call('PUT', `/file/${file.uuid}/labels`, { body: { labels: [sid] } });
    await h.call('PUT', `/file/${file.uuid}/product`, {
      body: { product: { ref: 'SKU-1', position: 1 } },
      version: 'v4',
    });
    const prepared = await h.call('PUT', '/bulk/prepare', {
      body: {
        bulk: {
          target: { files_uuids: [file.uuid] },
          changes: [{ type: 'meta.replace', key: 'owner', value: 'ops' }],
        },
      },
    });
    await h.call('POST', `/bulk/${prepared.body.bulk_uuid as string}/commit`);
    const b = (await h.call('POST', '/folders', { body: { name: '/hooks/b' } })).body.folder as {
      uuid: string;
    };
    await h.call('PUT', `/files/${file.uuid}/folders/${b.uuid}`);
    await h.call('PATCH', `/folders/${b.uuid}`, { body: { name: 'c' } });
    await h.call('PUT', `/folders/${b.uuid}/folders/${a.uuid}`);
    await h.call('DELETE', `/files/${file.uuid}`);
    await h.call('DELETE', `/folders/${a.uuid}`);

    const expected = [
      'folder.created',
      'folder.created',
      'file.uploaded',
      'file.renamed',
      'file.meta_changed',
      'file.meta_changed',
      'file.meta_changed',
      'file.meta_changed',
      'file.meta_changed',
      'folder.created',
      'file.moved',
      'folder.renamed',
      'folder.moved',
      'file.deleted',
      'folder.deleted',
      'folder.deleted',
    ];
    const got = await waitFor(
      'all events',
      () => receiver.on('/all').length >= expected.length && receiver.on('/all'),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.on('/all').map((r) => r.body.type)).toEqual(expected);

    for (const r of got) {
      expect(r.headers['x-sfx-event']).toBe(r.body.type);
      expect(r.headers['x-sfx-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-sfx-signature']).toBe(
        'sha256=' + createHmac('sha256', SECRET).update(r.raw).digest('hex'),
      );
      expect(r.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(r.body.project).toBe(h.server.token);
      expect(r.body.occurred_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(new Set(got.map((r) => r.body.id)).size).toBe(got.length);

    const [
      hooks,
      created,
      uploaded,
      renamed,
      meta,
      tags,
      labels,
      product,
      bulk,
      ,
      moved,
      folderRenamed,
      folderMoved,
      deleted,
      ...folderDeleted
    ] = got;
    expect(hooks!.body.data.folder).toMatchObject({ path: '/hooks' });
    expect(created!.body.data.folder).toMatchObject({
      uuid: a.uuid,
      name: 'a',
      path: '/hooks/a',
      visibility: { in_dam: { set: 'inherited' } },
    });
    expect(uploaded!.body.data).toMatchObject({
      overwrite: false,
      file: { uuid: file.uuid, name: 'one.txt', folder: { uuid: a.uuid, name: '/hooks/a' }, owner: null },
    });
    expect(String(at(uploaded!.body, 'data.file.url.cdn'))).toContain(
      `${h.server.url}/${h.server.token}/cdn/hooks/a/one.txt`,
    );
    expect(at(uploaded!.body, 'data.file.url.permalink')).toBe(
      `${h.server.url}/${h.server.token}/v5/get/${file.uuid}`,
    );
    expect(renamed!.body.data).toMatchObject({ file: { name: 'two.txt' }, previous: { name: 'one.txt' } });
    expect(meta!.body.data).toMatchObject({ changed: ['meta'], file: { meta: { title: 'T' } } });
    expect(tags!.body.data.changed).toEqual(['tags']);
    expect(at(tags!.body, 'data.file.tags.en.0.label')).toBe('red');
    expect(labels!.body.data).toMatchObject({ changed: ['labels'], file: { labels: [sid] } });
    expect(product!.body.data).toMatchObject({
      changed: ['product'],
      file: { product: { ref: 'SKU-1', position: 1 } },
    });
    expect(bulk!.body.data).toMatchObject({
      changed: ['meta'],
      file: { meta: { title: 'T', owner: 'ops' } },
    });
    expect(moved!.body.data).toMatchObject({
      file: { folder: { uuid: b.uuid, name: '/hooks/b' } },
      previous: { folder: { uuid: a.uuid, name: '/hooks/a' } },
    });
    expect(folderRenamed!.body.data).toMatchObject({
      folder: { uuid: b.uuid, name: 'c', path: '/hooks/c' },
      previous: { name: 'b', path: '/hooks/b' },
    });
    expect(folderMoved!.body.data).toMatchObject({
      folder: { uuid: b.uuid, path: '/hooks/a/c' },
      previous: { path: '/hooks/c', folder: { path: '/hooks' } },
    });
    // The file was deleted from /hooks/a/c: the snapshot says where it was when it went.
    expect(deleted!.body.data).toMatchObject({
      file: { uuid: file.uuid, name: 'two.txt', folder: { name: '/hooks/a/c' } },
    });
    expect(folderDeleted.map((r) => String(at(r.body, 'data.folder.path'))).sort()).toEqual([
      '/hooks/a',
      '/hooks/a/c',
    ]);

    const log = await h.call('GET', `/webhooks/${hook.uuid}/deliveries?state=delivered&limit=100`);
    expect(log.body.total).toBe(expected.length);
    expect(
      (log.body.deliveries as Array<{ attempts: number; state: string; last_status: number }>).every(
        (d) => d.attempts === 1 && d.last_status === 200,
      ),
    ).toBe(true);
    await h.call('DELETE', `/webhooks/${hook.uuid}`);
  });

  it('sends only the subscribed events, with basic auth when configured', async () => {
    receiver.respond = (req, res) => {
      const expected = 'Basic ' + Buffer.from('hook-user:hook-pass').toString('base64');
      res.writeHead(req.path === '/auth' && req.headers.authorization !== expected ? 401 : 200).end();
    };
    const hook = await subscribe('/auth', {
      events: ['file.deleted'],
      basic_auth: { user: 'hook-user', pass: 'hook-pass' },
    });
    const file = await upload('/filtered', 'f.txt');
    await h.call('PUT', `/file/${file.uuid}/meta`, { body: { meta: { a: 1 } } });
    await h.call('DELETE', `/files/${file.uuid}`);
    const [only] = await waitFor(
      'the delete event',
      () => receiver.on('/auth').length > 0 && receiver.on('/auth'),
    );
    expect(only!.body.type).toBe('file.deleted');
    expect(only!.headers['x-sfx-signature']).toBeUndefined();
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.on('/auth')).toHaveLength(1);
    const log = await h.call('GET', `/webhooks/${hook.uuid}/deliveries`);
    expect(log.body.deliveries).toMatchObject([
      { state: 'delivered', attempts: 1, last_status: 200, event: { type: 'file.deleted' } },
    ]);
    await h.call('DELETE', `/webhooks/${hook.uuid}`);
    receiver.respond = (_req, res) => res.writeHead(200).end();
  });

  it('retries after receiver errors with backoff, keeps order per webhook, and gives up after 5 attempts', async () => {
    let failuresLeft = 2;
    receiver.respond = (req, res) => {
      if (req.path === '/flaky' && failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500).end('boom');
      } else if (req.path === '/down') {
        res.writeHead(503).end();
      } else {
        res.writeHead(204).end();
      }
    };
    const flaky = await subscribe('/flaky', { events: ['file.uploaded'] });
    const down = await subscribe('/down', { events: ['file.uploaded'] });
    const names = ['r1.txt', 'r2.txt', 'r3.txt'];
    for (const name of names) await upload('/retry', name);

    await waitFor('three deliveries after two failures', () => receiver.on('/flaky').length >= 5);
    const arrivals = receiver.on('/flaky').map((r) => String(at(r.body, 'data.file.name')));
    // The first event is sent three times before any later one overtakes it.
    expect(arrivals).toEqual(['r1.txt', 'r1.txt', 'r1.txt', 'r2.txt', 'r3.txt']);
    const [first, second, third] = receiver.on('/flaky');
    expect(second!.headers['x-sfx-delivery']).toBe(first!.headers['x-sfx-delivery']);
    expect(third!.body.id).toBe(first!.body.id);

    const flakyLog = await waitFor('flaky log settled', async () => {
      const r = await h.call('GET', `/webhooks/${flaky.uuid}/deliveries`);
      const list = r.body.deliveries as Array<Record<string, unknown>>;
      return list.every((d) => d.state === 'delivered') && list;
    });
    expect(flakyLog.map((d) => d.attempts)).toEqual([1, 1, 3]);
    expect(flakyLog[2]).toMatchObject({ last_status: 204, last_error: null });

    const failed = await waitFor('the down webhook to give up on its first event', async () => {
      const r = await h.call('GET', `/webhooks/${down.uuid}/deliveries?state=failed`);
      return (r.body.total as number) >= 1 && (r.body.deliveries as Array<Record<string, unknown>>);
    });
    expect(failed.at(-1)).toMatchObject({
      state: 'failed',
      attempts: 5,
      last_status: 503,
      last_error: 'HTTP 503',
      next_attempt_at: null,
    });
    const firstDown = receiver.on('/down').filter((r) => String(at(r.body, 'data.file.name')) === 'r1.txt');
    expect(firstDown.length).toBe(5);
    await h.call('PATCH', `/webhooks/${down.uuid}`, { body: { active: false } });

    // A failed delivery can be queued again; it then goes out once the receiver is back.
    receiver.respond = (_req, res) => res.writeHead(200).end();
    const delivery = failed.at(-1)!.uuid as string;
    expect((await h.call('POST', `/webhooks/${down.uuid}/deliveries/${delivery}/retry`)).body).toMatchObject({
      action: 'delivery_queued',
    });
    expect((await h.call('POST', `/webhooks/${down.uuid}/deliveries/${delivery}/retry`)).body.code).toBe(
      'DELIVERY_NOT_FAILED',
    );
    await h.call('PATCH', `/webhooks/${down.uuid}`, { body: { active: true } });
    await waitFor('the retried delivery', async () => {
      const r = await h.call('GET', `/webhooks/${down.uuid}/deliveries?state=pending`);
      return r.body.total === 0;
    });
    const after = await h.call('GET', `/webhooks/${down.uuid}/deliveries`);
    const retried = (after.body.deliveries as Array<Record<string, unknown>>).find(
      (d) => d.uuid === delivery,
    );
    expect(retried).toMatchObject({ state: 'delivered', attempts: 1, last_status: 200 });
    await h.call('DELETE', `/webhooks/${flaky.uuid}`);
    await h.call('DELETE', `/webhooks/${down.uuid}`);
  });

  it('waits exponentially longer between attempts', async () => {
    const times: number[] = [];
    receiver.respond = (req, res) => {
      if (req.path === '/backoff') times.push(Date.now());
      res.writeHead(req.path === '/backoff' && times.length < 4 ? 500 : 200).end();
    };
    const hook = await subscribe('/backoff', { events: ['folder.created'] });
    await h.call('POST', '/folders', { body: { name: '/backoff' } });
    await waitFor('four attempts', () => times.length >= 4);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Base 30 ms: at least 30, 60 and 120 ms.
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(FAST.retryBaseMs * 2 ** i - 5));
    receiver.respond = (_req, res) => res.writeHead(200).end();
    await h.call('DELETE', `/webhooks/${hook.uuid}`);
  });
});

describe('durability', () => {
  it('a receiver that never answers does not slow the API, and its event is delivered after a restart', async () => {
    const local = await startHarness({ allowPrivateWebhooks: true, webhooks: FAST });
    const data = local.dir;
    let server = local.server;
    let hang = true;
    const held: ServerResponse[] = [];
    receiver.respond = (req, res) => {
      if (req.path === '/durable' && hang) held.push(res);
      else res.writeHead(200).end();
    };
    try {
      const created = await fetch(`${server.url}/${server.token}/v5/webhooks`, {
        method: 'POST',
        headers: { 'X-Filerobot-Key': server.rootKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: `${receiver.url}/durable`, events: ['file.uploaded'] }),
      });
      const hook = ((await created.json()) as { webhook: { uuid: string } }).webhook;
      const started = Date.now();
      for (let i = 0; i < 5; i++) {
        const r = await local.upload('/durable', `d${i}.txt`, `content ${i}`);
        expect(r.status).toBe('success');
      }
      expect(Date.now() - started).toBeLessThan(1500);
      await waitFor('the first delivery to be in flight', () => held.length === 1);
      // Stop while the receiver holds the request: nothing was acknowledged, so nothing is lost.
      await server.close();
      hang = false;
      for (const res of held) res.destroy();
      const before = receiver.on('/durable').length;
      server = await startServer({
        port: 0,
        data,
        rootKey: 'root-key-for-tests',
        durability: 'relaxed',
        logLevel: 'silent',
        allowPrivateWebhooks: true,
        webhooks: FAST,
      });
      await waitFor('all five events after the restart', () => receiver.on('/durable').length >= before + 5);
      const names = receiver
        .on('/durable')
        .slice(before)
        .map((r) => String(at(r.body, 'data.file.name')));
      expect(names).toEqual(['d0.txt', 'd1.txt', 'd2.txt', 'd3.txt', 'd4.txt']);
      const log = await fetch(`${server.url}/${server.token}/v5/webhooks/${hook.uuid}/deliveries`, {
        headers: { 'X-Filerobot-Key': server.rootKey },
      });
      const deliveries = ((await log.json()) as { deliveries: Array<{ state: string }> }).deliveries;
      expect(deliveries.map((d) => d.state)).toEqual(Array(5).fill('delivered'));
      // The URL in payloads after the restart is the new server's.
      expect(String(at(receiver.on('/durable').at(-1)!.body, 'data.file.url.permalink'))).toContain(
        server.url,
      );
    } finally {
      await server.close();
      receiver.respond = (_req, res) => res.writeHead(200).end();
      await local.close().catch(() => undefined);
    }
  });
});
