import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpTransport, type Transport } from '../src/core/transport.js';
import {
  AuthenticationError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  type Filerobot,
} from '../src/index.js';
import { startFixture, type Fixture } from './server-fixture.js';

let now = Date.parse('2031-06-01T08:00:00Z');
let fx: Fixture;
let admin: Filerobot;

beforeAll(async () => {
  fx = await startFixture({ clock: () => now });
  admin = fx.client();
});

afterAll(async () => {
  await fx.close();
});

/** A client on a security template whose transport counts key exchanges and what each request sent. */
function sassClient(
  templateId: string,
  extra: Parameters<Fixture['client']>[0] = {},
): { client: Filerobot; exchanges: () => number; keysSent: string[] } {
  const inner = httpTransport({ connections: 16 });
  let exchanges = 0;
  const keysSent: string[] = [];
  const transport: Transport = async (request) => {
    if (/\/key\/SECU_/.test(request.url)) exchanges++;
    else keysSent.push(request.headers['x-filerobot-key'] ?? '');
    return inner(request);
  };
  const client = fx.client({ apiKey: undefined, securityTemplate: templateId, transport, ...extra });
  return { client, exchanges: () => exchanges, keysSent };
}

async function template(fields: Record<string, unknown>): Promise<string> {
  const t = await admin.access.templates.create({
    name: 'sass e2e',
    permissions: ['FILE_UPLOAD', 'OBJECTS_LIST', 'OBJECTS_FETCH'],
    ...fields,
  });
  return t.id;
}

describe('authentication: "sass" against the local server', () => {
  it('exchanges the template on first use, uploads with the SASS key, and renews once after it expires', async () => {
    const id = await template({ validity_seconds: 60, dir_scope: '/widget/*', list_scope: '/widget/*' });
    const { client, exchanges, keysSent } = sassClient(id);
    const first = await client.files.upload(Buffer.from('first upload'), {
      name: 'one.txt',
      folder: '/widget',
    });
    expect(first.file.folder?.name ?? '/widget').toBe('/widget');
    expect(exchanges()).toBe(1);
    expect(keysSent[0]).toMatch(/^SASS__v1\.05__/);

    // Still valid one second before expiry: no exchange.
    now += 59_000;
    await client.files.upload(Buffer.from('second upload'), { name: 'two.txt', folder: '/widget' });
    expect(exchanges()).toBe(1);

    // Past expiry: the server answers KEY_EXPIRED, the client exchanges once and repeats the upload.
    now += 1_000;
    const path = join(fx.dir, 'three.txt');
    await writeFile(path, 'third upload, from a file');
    const third = await client.files.upload(path, { folder: '/widget/sub' });
    expect(third.file.name).toBe('three.txt');
    expect(exchanges()).toBe(2);
    expect(new Set(keysSent).size).toBe(2);

    const listed = await client.files.list({ folder: '/widget', recursive: true }).toArray(100);
    expect(listed.map((f) => f.name).sort()).toEqual(['one.txt', 'three.txt', 'two.txt']);
    await expect(client.files.list({ folder: '/' }).toArray(100)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    // A scope refusal is not an auth failure: no renewal for it.
    expect(exchanges()).toBe(2);
  });

  it('concurrent requests that meet an expired key share one renewal', async () => {
    const id = await template({ validity_seconds: 30 });
    const { client, exchanges } = sassClient(id);
    await client.files.list({ folder: '/' });
    expect(exchanges()).toBe(1);
    now += 30_000;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0
          ? client.files
              .upload(Buffer.from(`concurrent ${i}`), { name: `c${i}.txt`, folder: '/concurrent' })
              .then(() => 'upload')
          : client.files.list({ folder: '/concurrent' }).then(() => 'list'),
      ),
    );
    expect(results).toHaveLength(12);
    // One exchange after the first: twelve separate renewals would also trip the 5-per-minute exchange limit.
    expect(exchanges()).toBe(2);
    expect(await admin.files.list({ folder: '/concurrent' }).toArray(100)).toHaveLength(6);
  });

  it('renews on an unknown key (UNAUTHORIZED) too, but only once: a deleted template ends in the exchange error', async () => {
    const id = await template({});
    const { client, exchanges } = sassClient(id);
    await client.files.list({ folder: '/' });
    await admin.access.templates.delete(id);
    const error = await client.files.list({ folder: '/' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // The key vanished with its template (401 UNAUTHORIZED): one renewal, which the server refuses.
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'TEMPLATE_NOT_FOUND' });
    expect(exchanges()).toBe(2);
  });

  it('a deactivated template is not renewed around: KEY_DEACTIVATED surfaces', async () => {
    const id = await template({});
    const { client, exchanges } = sassClient(id);
    await client.files.list({ folder: '/' });
    await admin.access.templates.update(id, { active: false });
    const error = await client.files.list({ folder: '/' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'KEY_DEACTIVATED' });
    expect(exchanges()).toBe(1);
  });

  it('the upload quota surfaces as RateLimitError with the Retry-After the server sent', async () => {
    const id = await template({ limit_per_min: 2 });
    const { client } = sassClient(id, { retry: { maxRetries: 2, maxRetryAfterMs: 100 } });
    await client.files.upload(Buffer.from('q1'), { name: 'q1.txt', folder: '/quota' });
    await client.files.upload(Buffer.from('q2'), { name: 'q2.txt', folder: '/quota' });
    const error = await client.files.upload(Buffer.from('q3'), { name: 'q3.txt', folder: '/quota' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'TOO_MANY_UPLOADS' });
    expect(Number((error as RateLimitError).headers['retry-after'])).toBe(60);
    now += 60_000;
    await expect(
      client.files.upload(Buffer.from('q3'), { name: 'q3.txt', folder: '/quota' }),
    ).resolves.toBeDefined();
  });

  it('a stream upload that meets an expired key fails (a stream cannot be sent twice) but renews the key for later calls', async () => {
    const id = await template({ validity_seconds: 10 });
    const { client, exchanges } = sassClient(id);
    await client.files.list({ folder: '/' });
    now += 10_000;
    await expect(
      client.files.upload(Readable.from([Buffer.from('streamed once')]), {
        name: 's.txt',
        folder: '/streams',
      }),
    ).rejects.toThrow(Error);
    expect(exchanges()).toBe(2);
    await client.files.upload(Buffer.from('after'), { name: 'after.txt', folder: '/streams' });
    expect(exchanges()).toBe(2);
    expect((await admin.files.list({ folder: '/streams' }).toArray(100)).map((f) => f.name)).toEqual([
      'after.txt',
    ]);
  });
});
