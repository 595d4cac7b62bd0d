import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Filerobot, WEBHOOK_EVENT_TYPES, type FileObject } from '@sfx/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/src/index.js';
import { getAction } from '../src/actions/index.js';
import { manifest } from '../src/manifest.js';
import { DOC_SEED } from '../src/seed.js';
import {
  damEvents,
  getTrigger,
  newAssets,
  signBody,
  startWebhookReceiver,
  TriggerConfigError,
  TriggerStateError,
  updatedAssets,
  type DamEventOutput,
  type PollState,
  type WebhookReceiver,
} from '../src/triggers/index.js';

/*
 * The triggers end to end against a real local server: polling over the real listing (pages,
 * one-second timestamps, inclusive date filters) and the webhook trigger receiving the server's
 * real, signed deliveries over HTTP.
 */

const SECRET = 'a-webhook-secret-for-trigger-tests';
// Short retries, so a failing receiver sees the next attempt within a test: 50, 100, 200 ms.
const WEBHOOKS = { retryBaseMs: 50, pollMs: 50, timeoutMs: 3000, maxAttempts: 4 };

let server: RunningServer;
let dir: string;
let client: Filerobot;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfx-triggers-'));
  server = await startServer({
    port: 0,
    data: join(dir, 'data'),
    rootKey: 'root-key-for-trigger-tests',
    durability: 'relaxed',
    logLevel: 'silent',
    // The receivers below listen on loopback.
    allowPrivateWebhooks: true,
    webhooks: WEBHOOKS,
  });
  client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: server.rootKey, retry: { initialDelayMs: 5, maxDelayMs: 50 } });
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await client?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ctx = () => ({ client });
let counter = 0;
async function upload(folder: string, name: string): Promise<FileObject> {
  counter += 1;
  const { file } = await client.files.upload({ data: Buffer.from(`${name} #${counter} ${Math.random()}`), name }, { folder });
  return file;
}

/** The state as a runner would keep it: through JSON and back. */
const roundTrip = (state: PollState): PollState => JSON.parse(JSON.stringify(state)) as PollState;

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves early in a wall-clock second, so the next few writes share the server's second. */
async function startOfSecond(): Promise<void> {
  const ms = Date.now() % 1000;
  if (ms > 300) await new Promise((r) => setTimeout(r, 1000 - ms + 5));
}

describe('assets.new', () => {
  it('starts from now, then emits a burst larger than a page in full, in upload order, once', async () => {
    const folder = '/poll/new';
    for (let i = 0; i < 3; i++) await upload(folder, `before-${i}.txt`);
    const first = await newAssets.poll(ctx(), { folder }, undefined, { pageSize: 3 });
    expect(first.items).toEqual([]);
    expect(first.state.watermark).not.toBeNull();

    const burst: string[] = [];
    for (let i = 0; i < 10; i++) burst.push((await upload(folder, `burst-${i}.txt`)).uuid);
    burst.push((await upload(`${folder}/sub`, 'deeper.txt')).uuid);
    await upload('/poll/elsewhere', 'not-watched.txt');

    const second = await newAssets.poll(ctx(), { folder }, roundTrip(first.state), { pageSize: 3 });
    expect(second.items.map((f) => f.uuid)).toEqual(burst);
    expect(second.more).toBe(false);
    const createdAt = second.items.map((f) => Date.parse(f.created_at));
    expect([...createdAt].sort((a, b) => a - b)).toEqual(createdAt);
    for (const item of second.items) expect(newAssets.output.safeParse(item).success).toBe(true);

    const third = await newAssets.poll(ctx(), { folder }, roundTrip(second.state), { pageSize: 3 });
    expect(third.items).toEqual([]);
    // Not recursive: the sub-folder's asset is not in the folder itself.
    const flat = await newAssets.poll(ctx(), { folder, recursive: false, from: '2000-01-01' }, undefined, { pageSize: 4 });
    expect(flat.items.map((f) => f.name)).not.toContain('deeper.txt');
    expect(flat.items).toHaveLength(13);
  });

  it('emits assets that share the watermark second once each: neither lost nor repeated across polls', async () => {
    const folder = '/poll/same-second';
    // The server's timestamps are whole seconds; make the uploads land in one.
    let attempt = 0;
    for (;;) {
      attempt += 1;
      await startOfSecond();
      const a = await upload(folder, `a-${attempt}.txt`);
      const init = await newAssets.poll(ctx(), { folder }, undefined);
      const b = await upload(folder, `b-${attempt}.txt`);
      const second = await newAssets.poll(ctx(), { folder }, roundTrip(init.state));
      const c = await upload(folder, `c-${attempt}.txt`);
      const d = await upload(folder, `d-${attempt}.txt`);
      const third = await newAssets.poll(ctx(), { folder }, roundTrip(second.state), { pageSize: 2 });
      const fourth = await newAssets.poll(ctx(), { folder }, roundTrip(third.state), { pageSize: 2 });
      const sameSecond = [b, c, d].every((f) => f.created_at === a.created_at);
      if (!sameSecond && attempt < 4) continue;
      expect(sameSecond, 'the uploads should share one second').toBe(true);
      expect(init.items).toEqual([]);
      expect(init.state.watermark).toBe(new Date(Date.parse(a.created_at!)).toISOString());
      expect(second.items.map((f) => f.uuid)).toEqual([b.uuid]);
      expect(third.items.map((f) => f.uuid)).toEqual([c.uuid, d.uuid]);
      expect(fourth.items).toEqual([]);
      expect(fourth.state.seen).toEqual(expect.arrayContaining([a.uuid, b.uuid, c.uuid, d.uuid]));
      break;
    }
  });

  it('emits from a given date on the first poll, and stops at maxItems to carry on with the next poll', async () => {
    const folder = '/poll/from';
    const uploaded: string[] = [];
    for (let i = 0; i < 7; i++) uploaded.push((await upload(folder, `f-${i}.txt`)).uuid);
    const first = await newAssets.poll(ctx(), { folder, from: '2020-01-01T00:00:00Z' }, null, { pageSize: 2, maxItems: 4 });
    expect(first.items.map((f) => f.uuid)).toEqual(uploaded.slice(0, 4));
    expect(first.more).toBe(true);
    const second = await newAssets.poll(ctx(), { folder, from: '2020-01-01T00:00:00Z' }, roundTrip(first.state), { pageSize: 2, maxItems: 4 });
    expect(second.items.map((f) => f.uuid)).toEqual(uploaded.slice(4));
    expect(second.more).toBe(false);
  });

  it('filters with q and mime like a search', async () => {
    const folder = '/poll/filtered';
    const init = await newAssets.poll(ctx(), { folder, mime: 'image/png' }, undefined);
    await upload(folder, 'doc.txt');
    const png = await client.files.upload(
      { data: Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'), name: 'pixel.png' },
      { folder },
    );
    const next = await newAssets.poll(ctx(), { folder, mime: 'image/png' }, init.state);
    expect(next.items.map((f) => f.uuid)).toEqual([png.file.uuid]);
  });

  it('test mode returns up to 3 recent assets, newest first, and leaves what the next poll emits alone', async () => {
    const folder = '/poll/test-mode';
    const init = await newAssets.poll(ctx(), { folder }, undefined);
    const names: string[] = [];
    for (let i = 0; i < 5; i++) names.push((await upload(folder, `t-${i}.txt`)).name);
    const samples = await newAssets.test(ctx(), { folder });
    expect(samples).toHaveLength(3);
    expect(new Set(samples.map((f) => f.name))).toEqual(new Set(names.slice(2)));
    for (const sample of samples) expect(newAssets.output.safeParse(sample).success).toBe(true);
    const before = JSON.stringify(init.state);
    const next = await newAssets.poll(ctx(), { folder }, init.state);
    expect(JSON.stringify(init.state)).toBe(before);
    expect(next.items.map((f) => f.name)).toEqual(names);
    expect(await newAssets.test(ctx(), { folder: '/poll/nothing-here' })).toEqual([]);
  });

  it('refuses a bad config before any request, and a state written by another trigger', async () => {
    const offline = new Filerobot({ endpoint: 'http://127.0.0.1:9/demo', apiKey: 'k', retry: { maxRetries: 0 } });
    await expect(newAssets.poll({ client: offline }, { folder: 'no-slash' }, undefined)).rejects.toBeInstanceOf(TriggerConfigError);
    await expect(newAssets.poll({ client: offline }, { folder: '/x', colour: 'red' } as never, undefined)).rejects.toThrow(/colour/);
    const other = (await updatedAssets.poll(ctx(), { folder: '/poll/new' }, undefined)).state;
    await expect(newAssets.poll(ctx(), { folder: '/poll/new' }, other)).rejects.toBeInstanceOf(TriggerStateError);
    await expect(newAssets.poll(ctx(), { folder: '/poll/new' }, { ...other, trigger: 'assets.new', seen: 'x' } as never)).rejects.toThrow(
      /seen/,
    );
    await offline.close();
  });
});

describe('assets.updated', () => {
  it('emits a metadata change, each changed asset once per poll in change order, as it is now', async () => {
    const folder = '/poll/updated';
    const x = await upload(folder, 'x.txt');
    const y = await upload(folder, 'y.txt');
    const init = await updatedAssets.poll(ctx(), { folder }, undefined);
    expect(init.items).toEqual([]);

    await client.meta.update(y.uuid, { title: 'first change' });
    const first = await updatedAssets.poll(ctx(), { folder }, roundTrip(init.state), { pageSize: 2 });
    expect(first.items.map((f) => [f.uuid, f.meta?.title])).toEqual([[y.uuid, 'first change']]);

    await client.meta.update(x.uuid, { title: 'x changed' });
    await client.meta.update(y.uuid, { title: 'second change' });
    await client.meta.update(y.uuid, { title: 'third change' });
    await client.files.rename(x.uuid, 'x-renamed.txt');
    const second = await updatedAssets.poll(ctx(), { folder }, roundTrip(first.state), { pageSize: 2 });
    expect(second.items.map((f) => [f.uuid, f.name, f.meta?.title])).toEqual([
      [y.uuid, 'y.txt', 'third change'],
      [x.uuid, 'x-renamed.txt', 'x changed'],
    ]);
    const third = await updatedAssets.poll(ctx(), { folder }, roundTrip(second.state), { pageSize: 2 });
    expect(third.items).toEqual([]);
  });

  it('with ignoreNew, skips uploads nobody changed since', async () => {
    const folder = '/poll/ignore-new';
    const init = await updatedAssets.poll(ctx(), { folder, ignoreNew: true }, undefined);
    const old = await upload(folder, 'old.txt');
    // A change counts once it is in a later second than the upload.
    await new Promise((r) => setTimeout(r, 1100));
    await upload(folder, 'fresh.txt');
    await client.meta.update(old.uuid, { title: 'edited' });
    const next = await updatedAssets.poll(ctx(), { folder, ignoreNew: true }, init.state);
    expect(next.items.map((f) => f.name)).toEqual(['old.txt']);
    const all = await updatedAssets.poll(ctx(), { folder }, init.state);
    expect(all.items.map((f) => f.name)).toEqual(['fresh.txt', 'old.txt']);
  });
});

describe('dam.events', () => {
  async function receiver(config: Parameters<typeof startWebhookReceiver>[0]): Promise<WebhookReceiver> {
    const started = await startWebhookReceiver(config);
    receivers.push(started);
    return started;
  }

  it('receives upload, rename, move, metadata change and delete as typed events, in order', async () => {
    const events: DamEventOutput[] = [];
    const hook = await receiver({ path: '/dam', config: { secret: SECRET, folder: '/hooked' }, onEvent: (e) => void events.push(e) });
    const webhook = await damEvents.subscribe(ctx(), { url: hook.url, events: ['*'], secret: SECRET, description: 'trigger test' });
    expect(webhook).toMatchObject({ url: hook.url, has_secret: true, active: true });

    const a = await client.folders.ensure('/hooked/a');
    const b = await client.folders.ensure('/hooked/b');
    await upload('/outside', 'ignored.txt');
    const file = await upload('/hooked/a', 'one.txt');
    await client.files.rename(file.uuid, 'two.txt');
    await client.files.move(file.uuid, b.uuid);
    await client.meta.update(file.uuid, { title: 'Moved' });
    await client.files.delete(file.uuid);

    const expected = ['folder.created', 'folder.created', 'folder.created', 'file.uploaded', 'file.renamed', 'file.moved', 'file.meta_changed', 'file.deleted'];
    await waitFor('every event', () => events.length >= expected.length);
    await new Promise((r) => setTimeout(r, 200));
    expect(events.map((e) => e.event)).toEqual(expected);
    expect(events.slice(0, 3).map((e) => e.folder?.path)).toEqual(['/hooked', '/hooked/a', '/hooked/b']);
    const [, , , uploaded, renamed, moved, changed, deleted] = events;
    expect(uploaded).toMatchObject({ file: { uuid: file.uuid, name: 'one.txt', folder: { uuid: a.uuid } }, overwrite: false, project: server.token });
    expect(renamed).toMatchObject({ file: { name: 'two.txt' }, previous: { name: 'one.txt' } });
    expect(moved).toMatchObject({ file: { folder: { uuid: b.uuid } }, previous: { folder: { uuid: a.uuid } } });
    expect(changed).toMatchObject({ changed: ['meta'], file: { meta: { title: 'Moved' } } });
    expect(deleted).toMatchObject({ file: { uuid: file.uuid, name: 'two.txt' } });
    for (const e of events) {
      expect(damEvents.output.safeParse(e).success).toBe(true);
      expect(e.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(new Set(events.map((e) => e.delivery)).size).toBe(events.length);
    await expect(damEvents.unsubscribe(ctx(), webhook.uuid)).resolves.toEqual({ uuid: webhook.uuid, deleted: true });
    await expect(damEvents.unsubscribe(ctx(), webhook.uuid)).resolves.toEqual({ uuid: webhook.uuid, deleted: false, reason: 'not_found' });
  });

  it('refuses a bad signature or none with 401, ignores a redelivery, and rejects oversized bodies', async () => {
    const events: DamEventOutput[] = [];
    const refusals: string[] = [];
    const hook = await receiver({
      config: { secret: SECRET },
      onEvent: (e) => void events.push(e),
      onError: (e) => refusals.push((e as Error & { reason?: string }).reason ?? e.message),
      maxBodyBytes: 64 * 1024,
    });
    const body = JSON.stringify({
      id: 'c1f5a3a0-0000-4000-8000-000000000001',
      type: 'file.deleted',
      occurred_at: '2026-03-01T10:00:00Z',
      project: 'demo',
      data: { file: { uuid: 'f-1', name: 'gone.txt', folder: { uuid: 'd-1', name: '/x' } } },
    });
    const post = (headers: Record<string, string>, payload: string = body) =>
      fetch(hook.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
    const delivery = { 'x-sfx-delivery': 'delivery-1', 'x-sfx-event': 'file.deleted' };

    expect((await post({ ...delivery, 'x-sfx-signature': signBody('not-the-secret', body) })).status).toBe(401);
    expect((await post(delivery)).status).toBe(401);
    expect((await post({ ...delivery, 'x-sfx-signature': signBody(SECRET, body) }, body.replace('gone', 'gon3'))).status).toBe(401);
    expect(refusals).toEqual(['bad_signature', 'missing_signature', 'bad_signature']);
    expect(events).toEqual([]);

    const signed = { ...delivery, 'x-sfx-signature': signBody(SECRET, body) };
    const first = await post(signed);
    expect([first.status, await first.json()]).toEqual([200, { status: 'success' }]);
    const again = await post(signed);
    expect([again.status, await again.json()]).toEqual([200, { status: 'ignored', reason: 'duplicate' }]);
    // The delivery header is not signed: a captured body replayed under a new one is still a duplicate.
    const replayed = await post({ ...signed, 'x-sfx-delivery': 'attacker-chosen' });
    expect([replayed.status, await replayed.json()]).toEqual([200, { status: 'ignored', reason: 'duplicate' }]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: 'file.deleted', delivery: 'delivery-1', file: { name: 'gone.txt' } });

    // A redelivery while the first is still being handled is not acknowledged (the first may fail).
    let release!: () => void;
    const slowBody = body.replace('gone', 'slow');
    const slowHook = await receiver({ config: { secret: SECRET }, onEvent: () => new Promise<void>((resolve) => (release = resolve)) });
    const slowHeaders = { 'content-type': 'application/json', 'x-sfx-delivery': 'delivery-slow', 'x-sfx-signature': signBody(SECRET, slowBody) };
    const slow = fetch(slowHook.url, { method: 'POST', headers: slowHeaders, body: slowBody });
    await waitFor('the first attempt to be in flight', () => release !== undefined);
    const meanwhile = await fetch(slowHook.url, { method: 'POST', headers: slowHeaders, body: slowBody });
    expect([meanwhile.status, meanwhile.headers.get('retry-after')]).toEqual([409, '1']);
    release();
    expect((await slow).status).toBe(200);
    const after = await fetch(slowHook.url, { method: 'POST', headers: slowHeaders, body: slowBody });
    expect(await after.json()).toEqual({ status: 'ignored', reason: 'duplicate' });

    const big = JSON.stringify({ pad: 'x'.repeat(100 * 1024) });
    const tooBig = await post({ 'x-sfx-delivery': 'delivery-2', 'x-sfx-signature': signBody(SECRET, big) }, big);
    expect(tooBig.status).toBe(413);
    const notJson = 'not json';
    expect((await post({ 'x-sfx-delivery': 'delivery-3', 'x-sfx-signature': signBody(SECRET, notJson) }, notJson)).status).toBe(400);
    expect((await fetch(hook.url)).status).toBe(405);
    expect((await fetch(hook.url.replace(/\/$/, '/other'), { method: 'POST', body })).status).toBe(404);
    expect(events).toHaveLength(1);
  });

  it('refuses wrong basic-auth credentials; once fixed, the failed delivery is retried and received', async () => {
    const events: DamEventOutput[] = [];
    const refusals: string[] = [];
    const hook = await receiver({
      config: { basicAuth: { user: 'dam', pass: 'env:SFX_TEST_HOOK_PASS' }, events: ['folder.created'] },
      env: { SFX_TEST_HOOK_PASS: 'right-pass' },
      onEvent: (e) => void events.push(e),
      onError: (e) => refusals.push((e as Error & { reason?: string }).reason ?? e.message),
    });
    const created = await getAction('webhooks.create').run(ctx(), {
      url: hook.url,
      events: ['folder.created'],
      basicAuth: { user: 'dam', pass: 'wrong-pass' },
    });
    const uuid = (created as { webhook: { uuid: string } }).webhook.uuid;
    await client.folders.create('/basic-auth');

    const deliveries = getAction('webhooks.deliveries');
    const failed = await waitFor('the delivery to fail for good', async () => {
      const page = (await deliveries.run(ctx(), { uuid, state: 'failed' })) as { deliveries: Array<Record<string, unknown>> };
      return page.deliveries[0];
    });
    expect(failed).toMatchObject({ state: 'failed', attempts: WEBHOOKS.maxAttempts, last_status: 401 });
    expect(refusals).toEqual(Array(WEBHOOKS.maxAttempts).fill('bad_credentials'));
    expect(events).toEqual([]);

    const retry = getAction('webhooks.retry-delivery');
    await getAction('webhooks.update').run(ctx(), { uuid, basicAuth: { user: 'dam', pass: 'right-pass' } });
    expect(await retry.run(ctx(), { uuid, delivery: failed.uuid as string })).toEqual({ delivery: failed.uuid, queued: true });
    await waitFor('the retried delivery', () => events.length === 1);
    expect(events[0]).toMatchObject({ event: 'folder.created', folder: { path: '/basic-auth' } });
    const log = (await deliveries.run(ctx(), { uuid })) as { deliveries: Array<Record<string, unknown>>; total: number };
    expect(log.deliveries[0]).toMatchObject({ uuid: failed.uuid, state: 'delivered', last_status: 200 });
    // Delivered: nothing to retry, reported rather than thrown.
    expect(await retry.run(ctx(), { uuid, delivery: failed.uuid as string })).toEqual({ delivery: failed.uuid, queued: false, reason: 'not_failed' });
    await getAction('webhooks.delete').run(ctx(), { uuid });
  });

  it('answers 5xx while the flow fails, so the server retries; the event is then handled once, and later ones follow in order', async () => {
    const handled: DamEventOutput[] = [];
    const attempts = new Map<string, number>();
    let failuresLeft = 2;
    const hook = await receiver({
      config: { secret: 'env:SFX_TEST_HOOK_SECRET', events: ['file.uploaded', 'file.deleted'] },
      env: { SFX_TEST_HOOK_SECRET: SECRET },
      onEvent: async (event) => {
        attempts.set(event.delivery, (attempts.get(event.delivery) ?? 0) + 1);
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('the flow failed');
        }
        handled.push(event);
      },
    });
    const webhook = await damEvents.subscribe(ctx(), {
      url: hook.url,
      events: ['*'],
      secret: 'env:SFX_TEST_HOOK_SECRET',
      env: { SFX_TEST_HOOK_SECRET: SECRET },
    });
    const one = await upload('/retried', 'one.txt');
    await client.meta.update(one.uuid, { title: 'not selected' });
    const two = await upload('/retried', 'two.txt');
    await client.files.delete(one.uuid);

    await waitFor('three handled events', () => handled.length >= 3);
    await new Promise((r) => setTimeout(r, 200));
    expect(handled.map((e) => [e.event, e.file?.name])).toEqual([
      ['file.uploaded', 'one.txt'],
      ['file.uploaded', 'two.txt'],
      ['file.deleted', 'one.txt'],
    ]);
    expect([...attempts.values()]).toEqual([3, 1, 1]);
    expect(two.uuid).toBe(handled[1]!.file?.uuid);
    const log = await client.webhooks.deliveries(webhook.uuid, { limit: 100 });
    expect(log.total).toBe(5);
    // Newest first: the upload of one.txt (the oldest) took three attempts; the rest one each.
    expect(log.deliveries.map((d) => [d.event.type, d.state, d.attempts])).toEqual([
      ['file.deleted', 'delivered', 1],
      ['file.uploaded', 'delivered', 1],
      ['file.meta_changed', 'delivered', 1],
      ['file.uploaded', 'delivered', 3],
      ['folder.created', 'delivered', 1],
    ]);
    await damEvents.unsubscribe(ctx(), webhook.uuid);
  });

  it('handle() verifies, filters by type and folder, and needs a secret or basic auth', async () => {
    const body = JSON.stringify({
      id: 'e-1',
      type: 'file.moved',
      occurred_at: '2026-03-01T10:00:00Z',
      project: 'demo',
      data: { file: { uuid: 'f', name: 'n.txt', folder: { uuid: 'd', name: '/in/deep' } }, previous: { folder: { uuid: 'o', name: '/out' } } },
    });
    const request = { headers: { 'X-Sfx-Delivery': 'd-1', 'X-Sfx-Signature': signBody(SECRET, body) }, rawBody: Buffer.from(body) };
    await expect(damEvents.handle(request, { secret: SECRET, folder: '/in' })).resolves.toMatchObject({
      status: 'accepted',
      item: { event: 'file.moved', previous: { folder: { name: '/out' } } },
    });
    await expect(damEvents.handle(request, { secret: SECRET, folder: '/in', recursive: false })).resolves.toMatchObject({
      status: 'ignored',
      reason: 'outside_folder',
    });
    // Moved out of a watched folder counts: the previous folder is in it.
    await expect(damEvents.handle(request, { secret: SECRET, folder: '/out', recursive: false })).resolves.toMatchObject({ status: 'accepted' });
    await expect(damEvents.handle(request, { secret: SECRET, events: ['file.deleted'] })).resolves.toMatchObject({
      status: 'ignored',
      reason: 'event_not_selected',
    });
    await expect(damEvents.handle(request, {} as never)).rejects.toBeInstanceOf(TriggerConfigError);
    await expect(damEvents.handle(request, { secret: 'env:SFX_UNSET_FOR_TEST' }, { env: {} })).rejects.toThrow(/SFX_UNSET_FOR_TEST, which is not set/);
  });
});

describe('catalogue', () => {
  it("knows the server's event types", async () => {
    expect(await client.webhooks.eventTypes()).toEqual([...WEBHOOK_EVENT_TYPES]);
    expect(damEvents.output.shape.event.options).toEqual([...WEBHOOK_EVENT_TYPES]);
  });

  it('lists the triggers with their plain fields, and the webhook actions', () => {
    expect(manifest.triggers.map((t) => [t.id, t.kind, t.group])).toEqual([
      ['assets.new', 'polling', 'assets'],
      ['assets.updated', 'polling', 'assets'],
      ['dam.events', 'webhook', 'dam'],
    ]);
    for (const trigger of manifest.triggers) {
      expect(trigger.input.safeParse(trigger.example(DOC_SEED)).success).toBe(true);
      expect(trigger.permissions.length).toBeGreaterThan(0);
      expect(getTrigger(trigger.id)).toBe(trigger);
    }
    const ids = manifest.actions.map((a) => a.id).filter((id) => id.startsWith('webhooks.'));
    expect(ids).toEqual(['webhooks.list', 'webhooks.create', 'webhooks.get', 'webhooks.update', 'webhooks.delete', 'webhooks.deliveries', 'webhooks.retry-delivery']);
    for (const id of ids) {
      const action = getAction(id);
      expect(action.endpoint).toBe('extension');
      expect(action.permissions).toEqual([action.kind === 'read' ? 'CONFIG_LIST' : 'CONFIG_CHANGE']);
    }
  });
});
