import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../src/index.js';
import { SASS_RULES, sassRuleFor } from '../src/auth/sass-rules.js';
import { startHarness, type Harness } from './harness.js';

type Template = {
  id: string;
  name: string;
  validity_seconds: number;
  ip_ranges: string[];
  countries: string[];
  active: boolean;
} & Record<string, unknown>;
type FileObject = { uuid: string; name: string; folder: { uuid: string; name: string } };
type Reply = Awaited<ReturnType<Harness['call']>>;

const START = Date.parse('2031-03-01T12:00:00Z');
let now = START;
/** Addresses the injected resolver knows; anything else has no country. */
const COUNTRIES: Record<string, string> = { '198.51.100.7': 'FR', '198.51.100.8': 'DE', '2001:db8::7': 'FR' };

let h: Harness;
let plain: Harness;
const seeded: Record<string, FileObject> = {};
let templateCount = 0;

async function createTemplate(server: Harness, fields: Record<string, unknown>): Promise<Template> {
  const r = await server.call('POST', '/access/templates', {
    body: { name: `t${++templateCount}`, permissions: ['OBJECTS_LIST'], ...fields },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.template as Template;
}

/** GET {token}/key/{id} as the client at `from` (sent as X-Forwarded-For; the test server trusts loopback). */
async function exchange(server: Harness, id: string, from = '192.0.2.1', prefix = ''): Promise<Reply> {
  return server.call(
    'GET',
    `${server.server.url}/${server.server.token}${prefix}/key/${encodeURIComponent(id)}`,
    {
      key: null,
      headers: { 'X-Forwarded-For': from },
    },
  );
}

async function sassKey(
  server: Harness,
  fields: Record<string, unknown>,
  from = '192.0.2.1',
): Promise<{ key: string; template: Template }> {
  const template = await createTemplate(server, fields);
  const r = await exchange(server, template.id, from);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return { key: r.body.key as string, template };
}

function as(
  key: string,
  from = '192.0.2.1',
  headers: Record<string, string> = {},
): { key: string; headers: Record<string, string> } {
  return { key, headers: { 'X-Forwarded-For': from, ...headers } };
}

async function multipart(
  key: string,
  folder: string,
  files: Array<{ name: string; content?: string; info?: Record<string, unknown> }>,
  from = '192.0.2.1',
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const form = new FormData();
  files.forEach((f, i) => {
    if (f.info) form.append(`info[file${i}]`, JSON.stringify(f.info));
    form.append(`file${i}`, new Blob([f.content ?? `${f.name} ${Math.random()}`]), f.name);
  });
  const response = await fetch(`${h.api()}/files?folder=${encodeURIComponent(folder)}`, {
    method: 'POST',
    headers: { 'X-Filerobot-Key': key, 'X-Forwarded-For': from },
    body: form,
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

const fileNames = (body: Record<string, unknown>): string[] =>
  (body.files as FileObject[]).map((f) => `${f.folder.name}/${f.name}`.replace('//', '/')).sort();

beforeAll(async () => {
  h = await startHarness({
    clock: () => now,
    trustedProxies: ['127.0.0.1/32', '::1/128'],
    countryHeader: 'X-Client-Country',
    countryResolver: (ip) => COUNTRIES[ip],
    allowPrivateUrlImports: true,
  });
  // No trusted proxy: forwarded headers must change nothing.
  plain = await startHarness({ clock: () => now });
  for (const [folder, name] of [
    ['/incoming', 'a.txt'],
    ['/incoming/sub', 'b.txt'],
    ['/incomingx', 'c.txt'],
    ['/secret', 'd.txt'],
    ['/', 'e.txt'],
  ] as const) {
    const reply = await h.upload(folder, name, `seed ${folder}/${name}`);
    expect(reply.status).toBe('success');
    seeded[`${folder === '/' ? '' : folder}/${name}`] = reply.file as FileObject;
  }
});

afterAll(async () => {
  await h?.close();
  await plain?.close();
});

describe('template management', () => {
  it('creates with the documented defaults, normalises ranges, countries and scopes, and reads back', async () => {
    const t = await createTemplate(h, {
      name: 'widget',
      permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'],
      ip_ranges: ['203.0.113.77/24', '2001:DB8::1/32', '198.51.100.9'],
      countries: ['fr', 'DE'],
      dir_scope: '/incoming/*',
      list_scope: '/incoming//sub/',
    });
    expect(t.id).toMatch(/^SECU_[0-9A-F]{32}$/);
    expect(t).toMatchObject({
      name: 'widget',
      permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'],
      validity_seconds: 1200,
      ip_ranges: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.9/32'],
      countries: ['FR', 'DE'],
      limit_per_min: null,
      limit_per_ip_source: null,
      dir_scope: '/incoming/*',
      list_scope: '/incoming/sub',
      active: true,
    });
    expect((await h.call('GET', `/access/templates/${t.id}`)).body.template).toEqual(t);
    const listed = (await h.call('GET', '/access/templates')).body.templates as Template[];
    expect(listed.map((x) => x.id)).toContain(t.id);

    const patched = await h.call('PATCH', `/access/templates/${t.id}`, {
      body: { ...t, validity_seconds: 7, limit_per_min: 0, list_scope: null },
    });
    expect(patched.body.template).toMatchObject({
      validity_seconds: 7,
      limit_per_min: null,
      list_scope: null,
      name: 'widget',
    });

    expect((await h.call('DELETE', `/access/templates/${t.id}`)).body).toMatchObject({
      action: 'template_deleted',
      template_id: t.id,
    });
    expect((await h.call('GET', `/access/templates/${t.id}`)).status).toBe(404);
  });

  it('refuses malformed fields with a 400 naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ validity_seconds: 0 }, 'validity_seconds'],
      [{ validity_seconds: -5 }, 'validity_seconds'],
      [{ validity_seconds: 1.5 }, 'validity_seconds'],
      [{ ip_ranges: ['10.0.0.0/33'] }, 'ip_ranges[0]'],
      [{ ip_ranges: ['not an ip'] }, 'ip_ranges[0]'],
      [{ countries: ['FRA'] }, 'countries[0]'],
      [{ limit_per_min: -1 }, 'limit_per_min'],
      [{ dir_scope: '/a/*/b' }, 'dir_scope'],
      [{ list_scope: '/a/../b' }, 'list_scope'],
      [{ list_scope: 'relative' }, 'list_scope'],
      [{ limit_per_minute: 5 }, 'limit_per_minute'],
      [{ permissions: ['NOPE'] }, 'NOPE'],
    ];
    for (const [fields, named] of cases) {
      const r = await h.call('POST', '/access/templates', {
        body: { name: 'bad', permissions: ['OBJECTS_LIST'], ...fields },
      });
      expect(r.status, JSON.stringify(fields)).toBe(400);
      expect(String(r.body.msg), JSON.stringify(fields)).toContain(named);
    }
    expect((await h.call('POST', '/access/templates', { body: { permissions: [] } })).status).toBe(400);
    // Any positive validity is accepted, long or short.
    expect((await createTemplate(h, { validity_seconds: 1 })).validity_seconds).toBe(1);
    expect((await createTemplate(h, { validity_seconds: 86_400 * 365 })).validity_seconds).toBe(86_400 * 365);
  });
});

describe('key exchange', () => {
  it('answers {status, key} at /key, /v4/key and /v5/key with no key header; the key works', async () => {
    const t = await createTemplate(h, { permissions: ['OBJECTS_LIST'] });
    for (const prefix of ['', '/v4', '/v5']) {
      const r = await exchange(h, t.id, '192.0.2.10', prefix);
      expect(r.status).toBe(200);
      expect(Object.keys(r.body).sort()).toEqual(['key', 'status']);
      expect(r.body.key).toMatch(/^SASS__v1\.05__[A-Za-z0-9_-]{43}$/);
      expect(
        (await h.call('GET', '/files?folder=/incoming', as(r.body.key as string, '192.0.2.10'))).status,
      ).toBe(200);
    }
  });

  it('allows 5 exchanges of one template a minute per address: the 6th gets 429 with Retry-After until the window slides', async () => {
    const t = await createTemplate(h, {});
    const other = await createTemplate(h, {});
    const start = now;
    for (let i = 0; i < 5; i++) {
      expect((await exchange(h, t.id, '192.0.2.20')).status).toBe(200);
      now += 10_000;
    }
    // 50 s after the first: one minute has not passed.
    const sixth = await exchange(h, t.id, '192.0.2.20');
    expect([sixth.status, sixth.body.code]).toEqual([429, 'TOO_MANY_KEY_EXCHANGES']);
    expect(sixth.headers.get('retry-after')).toBe('10');
    // Other addresses and other templates have their own quota.
    expect((await exchange(h, t.id, '192.0.2.21')).status).toBe(200);
    expect((await exchange(h, other.id, '192.0.2.20')).status).toBe(200);
    now = start + 59_999;
    expect((await exchange(h, t.id, '192.0.2.20')).status).toBe(429);
    now = start + 60_000;
    expect((await exchange(h, t.id, '192.0.2.20')).status).toBe(200);
    expect((await exchange(h, t.id, '192.0.2.20')).status).toBe(429);
  });

  it('answers an unknown and an inactive template alike; deactivation revokes keys at once and for good; deletion too', async () => {
    const t = await createTemplate(h, {});
    const { key } = (await exchange(h, t.id, '192.0.2.30')).body as { key: string };
    expect((await h.call('GET', '/files?folder=/', as(key, '192.0.2.30'))).status).toBe(200);

    await h.call('PATCH', `/access/templates/${t.id}`, { body: { active: false } });
    const revoked = await h.call('GET', '/files?folder=/', as(key, '192.0.2.30'));
    expect([revoked.status, revoked.body.code]).toEqual([401, 'KEY_DEACTIVATED']);

    const inactive = await exchange(h, t.id, '192.0.2.31');
    const unknown = await exchange(h, `SECU_${'0'.repeat(32)}`, '192.0.2.31');
    expect(inactive.status).toBe(404);
    expect(unknown.status).toBe(inactive.status);
    expect(unknown.body).toEqual(inactive.body);

    await h.call('PATCH', `/access/templates/${t.id}`, { body: { active: true } });
    expect((await h.call('GET', '/files?folder=/', as(key, '192.0.2.30'))).body.code).toBe('KEY_DEACTIVATED');
    const fresh = (await exchange(h, t.id, '192.0.2.32')).body.key as string;
    expect((await h.call('GET', '/files?folder=/', as(fresh, '192.0.2.32'))).status).toBe(200);

    await h.call('DELETE', `/access/templates/${t.id}`);
    const gone = await h.call('GET', '/files?folder=/', as(fresh, '192.0.2.32'));
    expect([gone.status, gone.body.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('stores SASS keys hashed and never echoes them in listings or logs', async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    const debug = await startHarness({
      clock: () => now,
      logLevel: 'debug',
      trustedProxies: ['127.0.0.1/32'],
    });
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      writes.push(String(chunk));
      return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      const t = await createTemplate(debug, { ip_ranges: ['10.0.0.0/8'] });
      const { key } = (await exchange(debug, t.id, '192.0.2.40')).body as { key: string };
      // Refused (outside the range): the refusal is logged at debug level, without the key.
      expect((await debug.call('GET', '/files', as(key, '192.0.2.40'))).body.code).toBe('IP_NOT_ALLOWED');
      expect(writes.join('')).toContain('SASS key refused');
      expect(writes.join('')).not.toContain(key);
      expect(writes.join('')).not.toContain(key.slice(13, 30));
      const listed = JSON.stringify((await debug.call('GET', '/access/templates')).body);
      expect(listed).not.toContain(key);
      const db = new BetterSqlite3(join(debug.dir, 'metadata.sqlite'), { readonly: true });
      const rows = db.prepare('SELECT * FROM sass_keys').all();
      db.close();
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(key.slice(13));
    } finally {
      process.stderr.write = original;
      await debug.close();
    }
  });
});

describe('SASS key rules', () => {
  it('grants exactly the template permissions, and a permission change applies to live keys', async () => {
    const { key, template } = await sassKey(h, { permissions: ['OBJECTS_LIST'] });
    expect((await h.call('GET', '/files?folder=/', as(key))).status).toBe(200);
    const denied = await h.call('GET', `/files/${seeded['/e.txt']!.uuid}`, as(key));
    expect([denied.status, denied.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(String(denied.body.hint)).toContain('security template');
    await h.call('PATCH', `/access/templates/${template.id}`, { body: { permissions: ['OBJECTS_FETCH'] } });
    expect((await h.call('GET', `/files/${seeded['/e.txt']!.uuid}`, as(key))).status).toBe(200);
    expect((await h.call('GET', '/files?folder=/', as(key))).status).toBe(403);
  });

  it('expires exactly validity_seconds after the exchange: fine a second and a millisecond before, KEY_EXPIRED at and after', async () => {
    const issued = now;
    const { key } = await sassKey(h, { validity_seconds: 30 });
    now = issued + 29_000;
    expect((await h.call('GET', '/files?folder=/', as(key))).status).toBe(200);
    now = issued + 29_999;
    expect((await h.call('GET', '/files?folder=/', as(key))).status).toBe(200);
    now = issued + 30_000;
    const expired = await h.call('GET', '/files?folder=/', as(key));
    expect([expired.status, expired.body.code]).toEqual([401, 'KEY_EXPIRED']);
    now = issued + 31_000;
    expect((await h.call('GET', '/files?folder=/', as(key))).body.code).toBe('KEY_EXPIRED');
    // Default validity: 20 minutes.
    const long = await sassKey(h, {});
    now += 1_199_999;
    expect((await h.call('GET', '/files?folder=/', as(long.key))).status).toBe(200);
    now += 1;
    expect((await h.call('GET', '/files?folder=/', as(long.key))).body.code).toBe('KEY_EXPIRED');
  });

  it('checks the client address against IPv4 and IPv6 ranges, to the first address outside', async () => {
    const { key } = await sassKey(h, { ip_ranges: ['203.0.113.0/24', '2001:db8::/32'] });
    const from = async (ip: string): Promise<number | string> => {
      const r = await h.call('GET', '/files?folder=/', as(key, ip));
      return r.status === 200 ? 200 : (r.body.code as string);
    };
    expect(await from('203.0.113.0')).toBe(200);
    expect(await from('203.0.113.255')).toBe(200);
    expect(await from('203.0.114.0')).toBe('IP_NOT_ALLOWED');
    expect(await from('203.0.112.255')).toBe('IP_NOT_ALLOWED');
    expect(await from('::ffff:203.0.113.9')).toBe(200);
    expect(await from('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(200);
    expect(await from('2001:db9::')).toBe('IP_NOT_ALLOWED');
    expect(await from('2001:db7:ffff:ffff:ffff:ffff:ffff:ffff')).toBe('IP_NOT_ALLOWED');
    expect((await h.call('GET', '/files?folder=/', as(key, '203.0.114.0'))).status).toBe(403);
  });

  it('honours X-Forwarded-For only from a trusted proxy, taking the right-most untrusted hop', async () => {
    const { key } = await sassKey(h, { ip_ranges: ['203.0.113.0/24'] });
    // A client cannot smuggle an allowed address in front of its own.
    expect((await h.call('GET', '/files?folder=/', as(key, '203.0.113.5, 198.51.100.1'))).body.code).toBe(
      'IP_NOT_ALLOWED',
    );
    expect(
      (await h.call('GET', '/files?folder=/', as(key, '198.51.100.1, 203.0.113.5, 127.0.0.1'))).status,
    ).toBe(200);
    // Without trusted proxies the socket's address (loopback) is the client's, whatever the header says.
    const t = await createTemplate(plain, { ip_ranges: ['203.0.113.0/24'] });
    const r = await exchange(plain, t.id, '203.0.113.5');
    const outside = await plain.call('GET', '/files?folder=/', as(r.body.key as string, '203.0.113.5'));
    expect([outside.status, outside.body.code]).toEqual([403, 'IP_NOT_ALLOWED']);
    const loopback = await createTemplate(plain, { ip_ranges: ['127.0.0.0/8', '::1/128'] });
    const k2 = (await exchange(plain, loopback.id, '203.0.113.5')).body.key as string;
    expect((await plain.call('GET', '/files?folder=/', as(k2, '203.0.113.5'))).status).toBe(200);
  });

  it('checks the country: trusted header first, else the resolver; an unknown country is refused', async () => {
    const { key } = await sassKey(h, { countries: ['FR'] });
    const code = async (ip: string, country?: string): Promise<number | string> => {
      const r = await h.call(
        'GET',
        '/files?folder=/',
        as(key, ip, country ? { 'X-Client-Country': country } : {}),
      );
      return r.status === 200 ? 200 : (r.body.code as string);
    };
    expect(await code('198.51.100.7')).toBe(200);
    expect(await code('2001:db8::7')).toBe(200);
    expect(await code('198.51.100.8')).toBe('COUNTRY_NOT_ALLOWED');
    expect(await code('192.0.2.99')).toBe('COUNTRY_NOT_ALLOWED');
    expect(await code('192.0.2.99', 'fr')).toBe(200);
    expect(await code('198.51.100.7', 'DE')).toBe('COUNTRY_NOT_ALLOWED');
    // The header from an untrusted peer means nothing, and loopback has no country in the GeoIP data.
    const t = await createTemplate(plain, { countries: ['FR'] });
    const k = (await exchange(plain, t.id)).body.key as string;
    const r = await plain.call('GET', '/files?folder=/', { key: k, headers: { 'X-Client-Country': 'FR' } });
    expect([r.status, r.body.code]).toEqual([403, 'COUNTRY_NOT_ALLOWED']);
  });

  it('uses the bundled GeoIP database by default', async () => {
    const geo = await startHarness({ clock: () => now, trustedProxies: ['127.0.0.1/32'] });
    try {
      const t = await createTemplate(geo, { countries: ['US'] });
      const key = (await exchange(geo, t.id)).body.key as string;
      expect((await geo.call('GET', '/files?folder=/', as(key, '8.8.8.8'))).status).toBe(200);
      expect((await geo.call('GET', '/files?folder=/', as(key, '2001:4860:4860::8888'))).status).toBe(200);
      expect((await geo.call('GET', '/files?folder=/', as(key, '193.0.6.139'))).body.code).toBe(
        'COUNTRY_NOT_ALLOWED',
      );
      expect((await geo.call('GET', '/files?folder=/', as(key, '10.1.2.3'))).body.code).toBe(
        'COUNTRY_NOT_ALLOWED',
      );
    } finally {
      await geo.close();
    }
  });

  it('never lets a SASS key manage keys or templates, whatever the template grants', async () => {
    const { key } = await sassKey(h, { permissions: ['ACCESS_READ', 'ACCESS_MANAGE'] });
    for (const [method, path] of [
      ['GET', '/access/keys'],
      ['POST', '/access/keys'],
      ['GET', '/access/templates'],
      ['POST', '/access/templates'],
    ] as const) {
      const r = await h.call(method, path, {
        ...as(key),
        body: method === 'POST' ? { name: 'x', permissions: ['OBJECTS_LIST'] } : undefined,
      });
      expect([r.status, r.body.code], `${method} ${path}`).toEqual([403, 'SASS_KEY_NOT_ALLOWED']);
    }
  });
});

describe('listing scope', () => {
  let key: string;
  beforeAll(async () => {
    ({ key } = await sassKey(
      h,
      {
        permissions: ['OBJECTS_LIST', 'OBJECTS_FETCH', 'FILE_DELETE', 'FILE_META_CHANGE'],
        list_scope: '/incoming/*',
        validity_seconds: 86_400 * 365,
      },
      '192.0.2.50',
    ));
  });
  const list = (query: string): Promise<Reply> => h.call('GET', `/files?${query}`, as(key, '192.0.2.50'));

  it('lists and searches inside the scope only', async () => {
    expect(fileNames((await list('folder=/incoming')).body)).toEqual(['/incoming/a.txt']);
    expect(fileNames((await list('folder=/incoming/sub')).body)).toEqual(['/incoming/sub/b.txt']);
    expect(fileNames((await list('folder=/incoming&recursive=1')).body)).toEqual([
      '/incoming/a.txt',
      '/incoming/sub/b.txt',
    ]);
    expect(fileNames((await list('folder=/incoming&recursive=1&q=txt')).body)).toEqual([
      '/incoming/a.txt',
      '/incoming/sub/b.txt',
    ]);
    expect(
      (await h.call('GET', '/files/stats?folder=/incoming&recursive=1', as(key, '192.0.2.50'))).body.stats,
    ).toMatchObject({ approx_files_count: 2 });
    expect((await h.call('GET', '/folders?folder=/incoming', as(key, '192.0.2.50'))).status).toBe(200);
  });

  it('refuses folders outside, "/a" vs "/ab", "..", encoded slashes and recursive listing from a parent', async () => {
    const refusals: Array<[string, number, string]> = [
      ['folder=/', 403, 'OUTSIDE_FOLDER_SCOPE'],
      ['folder=/secret', 403, 'OUTSIDE_FOLDER_SCOPE'],
      ['folder=/incomingx', 403, 'OUTSIDE_FOLDER_SCOPE'],
      ['folder=/incomin', 403, 'OUTSIDE_FOLDER_SCOPE'],
      ['folder=/&recursive=1', 403, 'OUTSIDE_FOLDER_SCOPE'],
      ['folder=/&recursive=1&q=txt', 403, 'OUTSIDE_FOLDER_SCOPE'],
      ['q=txt', 403, 'OUTSIDE_FOLDER_SCOPE'],
      ['folder=/incoming/../secret', 400, 'INVALID_FOLDER'],
      ['folder=%2Fincoming%2F..%2Fsecret', 400, 'INVALID_FOLDER'],
      ['folder=/incoming/%2E%2E/secret', 400, 'INVALID_FOLDER'],
      // Decoded once, %252F is a literal "%2F" inside one segment: a folder named so, at the root.
      ['folder=%2Fincoming%252F..%252Fsecret', 403, 'OUTSIDE_FOLDER_SCOPE'],
      ['folder=/incoming&folder=/secret', 403, 'OUTSIDE_FOLDER_SCOPE'],
      ['folder=/incoming\\..\\secret', 400, 'INVALID_FOLDER'],
    ];
    for (const [query, status, code] of refusals) {
      const r = await list(query);
      expect([r.status, r.body.code], query).toEqual([status, code]);
    }
    expect((await h.call('GET', '/folders?folder=/', as(key, '192.0.2.50'))).body.code).toBe(
      'OUTSIDE_FOLDER_SCOPE',
    );
    expect((await h.call('GET', '/folders?folder=/&recursive=1', as(key, '192.0.2.50'))).body.code).toBe(
      'OUTSIDE_FOLDER_SCOPE',
    );
    expect(String((await list('folder=/&recursive=1')).body.hint)).toContain('refused, not clamped');
  });

  it('refuses details, changes and deletion of assets outside the scope, and library-wide routes', async () => {
    const inside = seeded['/incoming/a.txt']!;
    const outside = seeded['/incomingx/c.txt']!;
    expect((await h.call('GET', `/files/${inside.uuid}`, as(key, '192.0.2.50'))).status).toBe(200);
    expect((await h.call('GET', `/files/${outside.uuid}`, as(key, '192.0.2.50'))).body.code).toBe(
      'OUTSIDE_FOLDER_SCOPE',
    );
    expect(
      (await h.call('GET', `/file/${seeded['/secret/d.txt']!.uuid}`, as(key, '192.0.2.50'))).body.code,
    ).toBe('OUTSIDE_FOLDER_SCOPE');
    const meta = await h.call('PUT', `/file/${outside.uuid}/meta`, {
      ...as(key, '192.0.2.50'),
      body: { meta: { x: 1 } },
    });
    expect([meta.status, meta.body.code]).toEqual([403, 'OUTSIDE_FOLDER_SCOPE']);
    expect((await h.call('DELETE', `/files/${outside.uuid}`, as(key, '192.0.2.50'))).status).toBe(403);
    expect((await h.call('GET', `/files/${outside.uuid}`)).status).toBe(200);
    const bulk = await h.call('DELETE', '/files', {
      ...as(key, '192.0.2.50'),
      body: { files_uuids: [outside.uuid] },
    });
    expect(bulk.body.code).toBe('OUTSIDE_FOLDER_SCOPE');
    expect((await h.call('GET', `/folders/${outside.folder.uuid}`, as(key, '192.0.2.50'))).status).toBe(403);
    for (const path of ['/tags', '/products', '/filters?filter_by=filetype', '/metadata/autocomplete?q=a']) {
      expect((await h.call('GET', path, as(key, '192.0.2.50'))).body.code, path).toBe('OUTSIDE_FOLDER_SCOPE');
    }
    // An unknown uuid is the handler's 404, as for any key.
    expect(
      (await h.call('GET', '/files/6f1c1b1e-0000-4000-8000-00000000dead', as(key, '192.0.2.50'))).status,
    ).toBe(404);
  });

  it('an exact scope (no "/*") admits that folder only', async () => {
    const exact = (await sassKey(h, { list_scope: '/incoming' }, '192.0.2.51')).key;
    const code = async (query: string): Promise<number | string> => {
      const r = await h.call('GET', `/files?${query}`, as(exact, '192.0.2.51'));
      return r.status === 200 ? 200 : (r.body.code as string);
    };
    expect(await code('folder=/incoming')).toBe(200);
    expect(await code('folder=/incoming/sub')).toBe('OUTSIDE_FOLDER_SCOPE');
    expect(await code('folder=/incoming&recursive=1')).toBe('OUTSIDE_FOLDER_SCOPE');
  });
});

describe('upload scope and upload limits', () => {
  const base64 = (name: string, content = `b64 ${Math.random()}`): Record<string, unknown> => ({
    name,
    data: Buffer.from(content).toString('base64'),
    postactions: 'decode_base64',
  });

  it('admits uploads into the scope only, wherever the target folder comes from', async () => {
    const from = '192.0.2.60';
    const { key } = await sassKey(
      h,
      { permissions: ['FILE_UPLOAD', 'FILE_MOVE', 'DIR_CREATE'], dir_scope: '/incoming/*' },
      from,
    );
    expect((await multipart(key, '/incoming', [{ name: 'ok1.txt' }], from)).status).toBe(200);
    expect((await multipart(key, '/incoming/deep/er', [{ name: 'ok2.txt' }], from)).status).toBe(200);
    expect(
      (await multipart(key, '/incoming', [{ name: 'x.txt', info: { name: 'nested/ok3.txt' } }], from)).status,
    ).toBe(200);

    const refusals: Array<[string, () => Promise<{ status: number; body: Record<string, unknown> }>]> = [
      ['root', () => multipart(key, '/', [{ name: 'no.txt' }], from)],
      ['sibling prefix', () => multipart(key, '/incomingx', [{ name: 'no.txt' }], from)],
      [
        'absolute name in the part',
        () => multipart(key, '/incoming', [{ name: 'x.txt', info: { name: '/secret/no.txt' } }], from),
      ],
      [
        'one bad file among good ones',
        () =>
          multipart(
            key,
            '/incoming',
            [{ name: 'good.txt' }, { name: 'x.txt', info: { name: '/secret/no2.txt' } }],
            from,
          ),
      ],
      [
        'base64 absolute name',
        () => h.call('POST', '/files?folder=/incoming', { ...as(key, from), body: base64('/secret/no.txt') }),
      ],
      [
        'base64 batch',
        () =>
          h.call('POST', '/files?folder=/incoming', {
            ...as(key, from),
            body: { files: [base64('fine.txt'), base64('/no.txt')] },
          }),
      ],
      [
        'streamed PUT',
        () =>
          h.call('PUT', `/files?folder=/incoming&filename=${encodeURIComponent('/secret/no.txt')}`, {
            ...as(key, from),
            body: 'bytes',
            headers: { 'X-Forwarded-For': from, 'Content-Type': 'application/octet-stream' },
          }),
      ],
      [
        'move out',
        () =>
          h.call('POST', '/files/move', {
            ...as(key, from),
            body: { files_uuids: [seeded['/incoming/a.txt']!.uuid], new_folder_name: '/secret' },
          }),
      ],
      [
        'folder creation',
        () => h.call('POST', '/folders', { ...as(key, from), body: { name: '/incoming/new' } }),
      ],
    ];
    for (const [label, attempt] of refusals) {
      const r = await attempt();
      expect([r.status, r.body.code], label).toEqual([403, 'OUTSIDE_FOLDER_SCOPE']);
    }
    // ".." in a name is refused as a name, before any scope question.
    expect(
      (await h.call('POST', '/files?folder=/incoming', { ...as(key, from), body: base64('../no.txt') }))
        .status,
    ).toBe(400);
    // Nothing refused left a trace.
    const secret = await h.call('GET', '/files?folder=/secret');
    expect(fileNames(secret.body)).toEqual(['/secret/d.txt']);
    expect((await h.call('GET', '/files?folder=/incoming')).body.files).not.toContainEqual(
      expect.objectContaining({ name: 'good.txt' }),
    );
    expect((await h.call('GET', '/files?folder=/')).body.files).not.toContainEqual(
      expect.objectContaining({ name: 'no.txt' }),
    );
  });

  it('refuses a streamed PUT outside the scope before reading its body', async () => {
    const from = '192.0.2.63';
    const { key } = await sassKey(h, { permissions: ['FILE_UPLOAD'], dir_scope: '/incoming/*' }, from);
    const url = new URL(`${h.api('v4')}/files?folder=/secret&filename=big.bin`);
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, {
        method: 'PUT',
        headers: {
          'X-Filerobot-Key': key,
          'X-Forwarded-For': from,
          'Content-Type': 'application/octet-stream',
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      // One chunk, and the body never ends: only a reply sent before reading it all can arrive.
      req.write(Buffer.alloc(64 * 1024));
    });
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'OUTSIDE_FOLDER_SCOPE' });
  });

  it('checks URL imports where the fetched file would land', async () => {
    const from = '192.0.2.61';
    const { key } = await sassKey(h, { permissions: ['FILE_UPLOAD'], dir_scope: '/incoming/*' }, from);
    const source: Server = createServer((_req, res) => res.end(`remote ${Math.random()}`));
    await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(source.address() as AddressInfo).port}/pic.txt`;
    try {
      const ok = await h.call('POST', '/files?folder=/incoming', {
        ...as(key, from),
        body: { files_urls: [{ url }] },
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const no = await h.call('POST', '/files?folder=/incoming', {
        ...as(key, from),
        body: { files_urls: [{ url, name: '/secret/pic.txt' }] },
      });
      expect([no.status, no.body.code]).toEqual([403, 'OUTSIDE_FOLDER_SCOPE']);
    } finally {
      source.close();
    }
  });

  it('limit_per_min: N uploads a minute per key, the N+1th is 429 with Retry-After until the window slides; refused uploads use none', async () => {
    const from = '192.0.2.62';
    const { key } = await sassKey(
      h,
      { permissions: ['FILE_UPLOAD'], limit_per_min: 3, dir_scope: '/incoming/*' },
      from,
    );
    // Out-of-scope attempts are refused before anything is counted.
    expect((await multipart(key, '/secret', [{ name: 'x.txt' }], from)).status).toBe(403);
    const start = now;
    expect((await multipart(key, '/incoming/limits', [{ name: 'l1.txt' }], from)).status).toBe(200);
    now += 20_000;
    expect(
      (await multipart(key, '/incoming/limits', [{ name: 'l2.txt' }, { name: 'l3.txt' }], from)).status,
    ).toBe(200);
    now += 20_000;
    const over = await multipart(key, '/incoming/limits', [{ name: 'l4.txt' }], from);
    expect([over.status, over.body.code]).toEqual([429, 'TOO_MANY_UPLOADS']);
    expect(over.headers.get('retry-after')).toBe('20');
    now = start + 59_999;
    expect((await multipart(key, '/incoming/limits', [{ name: 'l4.txt' }], from)).status).toBe(429);
    now = start + 60_000;
    // One slot is free (l1 left the window); two files do not fit, and neither is committed.
    const two = await multipart(key, '/incoming/limits', [{ name: 'l5.txt' }, { name: 'l6.txt' }], from);
    expect([two.status, two.body.code]).toEqual([429, 'TOO_MANY_UPLOADS']);
    expect((await multipart(key, '/incoming/limits', [{ name: 'l5.txt' }], from)).status).toBe(200);
    const listed = fileNames((await h.call('GET', '/files?folder=/incoming/limits')).body);
    expect(listed).toEqual([
      '/incoming/limits/l1.txt',
      '/incoming/limits/l2.txt',
      '/incoming/limits/l3.txt',
      '/incoming/limits/l5.txt',
    ]);
    // More files than a whole minute's quota can never pass: a 400, not a wait.
    now += 120_000;
    const many = await multipart(
      key,
      '/incoming/limits',
      [{ name: 'm1.txt' }, { name: 'm2.txt' }, { name: 'm3.txt' }, { name: 'm4.txt' }],
      from,
    );
    expect([many.status, many.body.code]).toEqual([400, 'TOO_MANY_FILES']);
    // Reading is not uploading.
    expect((await h.call('GET', '/files?folder=/incoming', as(key, from))).status).toBe(403);
  });

  it('limit_per_ip_source: counted per source address across all keys of the template', async () => {
    const t = await createTemplate(h, {
      permissions: ['FILE_UPLOAD'],
      limit_per_ip_source: 2,
      limit_per_min: 10,
    });
    const k1 = (await exchange(h, t.id, '192.0.2.70')).body.key as string;
    const k2 = (await exchange(h, t.id, '192.0.2.70')).body.key as string;
    expect((await multipart(k1, '/ip-limits', [{ name: 'a.txt' }], '192.0.2.70')).status).toBe(200);
    expect((await multipart(k2, '/ip-limits', [{ name: 'b.txt' }], '192.0.2.70')).status).toBe(200);
    const third = await multipart(k2, '/ip-limits', [{ name: 'c.txt' }], '192.0.2.70');
    expect([third.status, third.body.code]).toEqual([429, 'TOO_MANY_UPLOADS']);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    // The same key from another address has its own per-address quota.
    expect((await multipart(k2, '/ip-limits', [{ name: 'c.txt' }], '192.0.2.71')).status).toBe(200);
  });
});

describe('route coverage', () => {
  it('every route has a SASS rule, and every rule names a route', () => {
    const keys = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
    for (const spec of ROUTES) expect(sassRuleFor(spec), `${spec.method} ${spec.path}`).toBeDefined();
    for (const key of Object.keys(SASS_RULES)) expect(keys.has(key), key).toBe(true);
  });
});

describe('folder scope properties over HTTP', () => {
  // Segments chosen to hit the traps: dot segments (plain and encoded), near-miss prefixes, encoded
  // and double-encoded slashes, backslashes, empty segments, and Unicode that normalises.
  const segment = fc.constantFrom(
    'a',
    'ab',
    'b',
    '..',
    '.',
    '',
    '%2e%2e',
    '%2F',
    '%252F',
    'a%2F..',
    '..\\',
    'a b',
    'Ａ',
    'é',
    'e\u0301',
    '*',
  );
  const rawPath = fc
    .tuple(fc.boolean(), fc.array(segment, { maxLength: 5 }))
    .map(([absolute, s]) => (absolute ? '/' : '') + s.join('/'));

  let listKey: string;
  let uploadKey: string;
  beforeAll(async () => {
    for (const [folder, name] of [
      ['/a', 'in.txt'],
      ['/a/b', 'deep.txt'],
      ['/ab', 'near.txt'],
      ['/b', 'out.txt'],
    ] as const) {
      expect((await h.upload(folder, name, `${folder}/${name}`)).status).toBe('success');
    }
    listKey = (
      await sassKey(
        h,
        { permissions: ['OBJECTS_LIST'], list_scope: '/a/*', validity_seconds: 86_400 * 365 },
        '192.0.2.80',
      )
    ).key;
    uploadKey = (
      await sassKey(
        h,
        { permissions: ['FILE_UPLOAD'], dir_scope: '/a/*', validity_seconds: 86_400 * 365 },
        '192.0.2.81',
      )
    ).key;
  });

  it('no listing, however the folder is spelt, returns a file outside the scope', async () => {
    await fc.assert(
      fc.asyncProperty(rawPath, fc.boolean(), async (path, recursive) => {
        const r = await h.call(
          'GET',
          `/files?folder=${path}${recursive ? '&recursive=1' : ''}`,
          as(listKey, '192.0.2.80'),
        );
        expect(r.status).toBeLessThan(500);
        if (r.status !== 200) return;
        for (const file of r.body.files as FileObject[])
          expect(file.folder.name === '/a' || file.folder.name.startsWith('/a/')).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('no upload, whatever its folder and name, lands outside the scope', async () => {
    await fc.assert(
      fc.asyncProperty(rawPath, rawPath, async (folder, name) => {
        const body = {
          name: `${name}/f.txt`,
          data: Buffer.from(`${folder}|${name}|${Math.random()}`).toString('base64'),
          postactions: 'decode_base64',
        };
        const r = await h.call('POST', `/files?folder=${encodeURIComponent(folder)}`, {
          ...as(uploadKey, '192.0.2.81'),
          body,
        });
        expect(r.status).toBeLessThan(500);
        if (r.status !== 200) return;
        const landed = (r.body.file as FileObject).folder.name;
        expect(landed === '/a' || landed.startsWith('/a/'), landed).toBe(true);
      }),
      { numRuns: 150 },
    );
    const everything = await h.call('GET', '/files?folder=/&recursive=1&limit=4000');
    for (const file of everything.body.files as FileObject[]) {
      if (file.name === 'f.txt')
        expect(file.folder.name === '/a' || file.folder.name.startsWith('/a/'), file.folder.name).toBe(true);
    }
  });
});
