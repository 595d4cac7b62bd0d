import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/** Airboxes (inferred: /v5/airboxes and the public config at /{token}/v3/a/{puid}/{title}). */

interface AirboxDoc {
  uuid: string;
  puid: string;
  title: string;
  description: string;
  folder: string;
  folder_uuid: string | null;
  active: boolean;
  expires_at: string | null;
  max_file_size: number | null;
  airbox_uri: string;
  created_at: string;
  updated_at: string;
}

let h: Harness;
let manager: string;
const missing = '6f1c1b1e-0000-4000-8000-000000000000';
const future = '2099-12-31T00:00:00Z';

beforeAll(async () => {
  // Loopback is a trusted proxy, so X-Forwarded-For names the uploader (per-address quotas).
  h = await startHarness({ limits: { maxUploadBytes: 10_000_000 }, trustedProxies: ['127.0.0.0/8', '::1/128'] });
  const r = await h.call('POST', '/access/keys', { body: { permissions: ['OBJECTS_AIRBOX_MANAGE'] } });
  manager = (r.body.key as { secret: string }).secret;
});
afterAll(async () => {
  await h.close();
});

async function create(body: Record<string, unknown>): Promise<AirboxDoc> {
  const r = await h.call('POST', '/airboxes', { key: manager, body });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.airbox as AirboxDoc;
}

/** The public config, without any key. */
async function open(airbox: Pick<AirboxDoc, 'airbox_uri'>, query = '?format=json') {
  const response = await fetch(`${airbox.airbox_uri}${query}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function folderByPath(path: string): Promise<{ uuid: string; path: string } | undefined> {
  const parent = path.slice(0, path.lastIndexOf('/')) || '/';
  const r = await h.call('GET', `/folders?folder=${encodeURIComponent(parent)}`);
  return (r.body.folders as Array<{ uuid: string; path: string }>).find((f) => f.path === path);
}

interface Upload {
  name: string;
  content?: string | Buffer;
}

/** POST {airbox_uri} multipart without any key, as the uploader sends it. */
async function send(
  airbox: Pick<AirboxDoc, 'airbox_uri'>,
  files: Upload[],
  init: { query?: string; headers?: Record<string, string>; fields?: Record<string, string>; from?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(init.fields ?? {})) form.append(k, v);
  files.forEach((f, i) => form.append(files.length === 1 ? 'file' : `file${i}`, new Blob([f.content ?? `${f.name} ${Math.random()}`]), f.name));
  const response = await fetch(`${airbox.airbox_uri}${init.query ?? ''}`, {
    method: 'POST',
    headers: { 'X-Forwarded-For': init.from ?? '198.51.100.1', ...init.headers },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

async function filesIn(folder: string): Promise<Array<{ uuid: string; name: string; meta: Record<string, unknown>; size: { bytes: number } }>> {
  const r = await h.call('GET', `/files?folder=${encodeURIComponent(folder)}&recursive=1&limit=4000`);
  return r.body.files as Array<{ uuid: string; name: string; meta: Record<string, unknown>; size: { bytes: number } }>;
}

describe('managing airboxes', () => {
  it('creates one (creating its folder), reads, lists, updates and deletes it with OBJECTS_AIRBOX_MANAGE', async () => {
    expect(await folderByPath('/inbox/agency')).toBeUndefined();
    const r = await h.call('POST', '/airboxes', {
      key: manager,
      body: { title: 'Agency uploads', folder: '/inbox/agency', description: 'Drop files here', expires_at: future, max_file_size: 5_000_000 },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'success', action: 'airbox_created' });
    const airbox = r.body.airbox as AirboxDoc;
    const folder = await folderByPath('/inbox/agency');
    expect(folder).toBeDefined();
    expect(airbox).toMatchObject({
      title: 'Agency uploads',
      description: 'Drop files here',
      folder: '/inbox/agency',
      folder_uuid: folder!.uuid,
      active: true,
      expires_at: future,
      max_file_size: 5_000_000,
    });
    expect(airbox.puid).toMatch(/^[a-z0-9]{26}$/);
    expect(airbox.airbox_uri).toBe(`${h.server.url}/${h.server.token}/v3/a/${airbox.puid}/agency-uploads`);

    const got = await h.call('GET', `/airboxes/${airbox.uuid}`, { key: manager });
    expect(got.body.airbox).toEqual(airbox);
    const list = await h.call('GET', '/airboxes', { key: manager });
    expect((list.body.airboxes as AirboxDoc[]).map((a) => a.uuid)).toContain(airbox.uuid);
    expect((list.body.info as { total: number }).total).toBeGreaterThanOrEqual(1);

    const patched = await h.call('PATCH', `/airboxes/${airbox.uuid}`, {
      key: manager,
      body: { title: 'Agency drop', folder: '/inbox/agency-2', max_file_size: null, expires_at: null, description: null },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.airbox).toMatchObject({
      uuid: airbox.uuid,
      puid: airbox.puid,
      title: 'Agency drop',
      description: '',
      folder: '/inbox/agency-2',
      max_file_size: null,
      expires_at: null,
    });
    expect((patched.body.airbox as AirboxDoc).folder_uuid).toBe((await folderByPath('/inbox/agency-2'))!.uuid);

    const deleted = await h.call('DELETE', `/airboxes/${airbox.uuid}`, { key: manager });
    expect(deleted.body).toMatchObject({ action: 'airbox_deleted', airbox_uuid: airbox.uuid });
    expect((await h.call('GET', `/airboxes/${airbox.uuid}`, { key: manager })).body.code).toBe('AIRBOX_NOT_FOUND');
    expect((await h.call('DELETE', `/airboxes/${airbox.uuid}`, { key: manager })).status).toBe(404);
    expect((await open(airbox)).status).toBe(404);
    // The folder (and anything uploaded) stays.
    expect(await folderByPath('/inbox/agency-2')).toBeDefined();
  });

  it('refuses keys without OBJECTS_AIRBOX_MANAGE on every management route', async () => {
    const other = (await h.call('POST', '/access/keys', { body: { permissions: ['OBJECTS_LIST', 'OBJECTS_SHARE_MANAGE'] } })).body
      .key as { secret: string };
    const airbox = await create({ title: 'Guarded', folder: '/inbox/guarded' });
    const calls: Array<[string, string, unknown]> = [
      ['GET', '/airboxes', undefined],
      ['POST', '/airboxes', { title: 'x', folder: '/x' }],
      ['GET', `/airboxes/${airbox.uuid}`, undefined],
      ['PATCH', `/airboxes/${airbox.uuid}`, { active: false }],
      ['DELETE', `/airboxes/${airbox.uuid}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const r = await h.call(method, path, { key: other.secret, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(String(r.body.msg)).toContain('OBJECTS_AIRBOX_MANAGE');
    }
    expect(((await h.call('GET', `/airboxes/${airbox.uuid}`, { key: manager })).body.airbox as AirboxDoc).active).toBe(true);
  });

  it('refuses bad input with a 400 naming the field; unknown uuids are 404', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ folder: '/x' }, 'title'],
      [{ title: '  ', folder: '/x' }, 'title'],
      [{ title: 'x' }, 'folder'],
      [{ title: 'x', folder: 42 }, 'folder'],
      [{ title: 'x', folder: '/a/../b' }, 'folder'],
      [{ title: 'x', folder: '/x', active: 'yes' }, 'active'],
      [{ title: 'x', folder: '/x', expires_at: 'soon' }, 'expires_at'],
      [{ title: 'x', folder: '/x', expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
      [{ title: 'x', folder: '/x', max_file_size: 0 }, 'max_file_size'],
      [{ title: 'x', folder: '/x', max_file_size: 20_000_000 }, 'max_file_size'],
      [{ title: 'x', folder: '/x', max_file_size: 1.5 }, 'max_file_size'],
      [{ title: 'x', folder: '/x', description: 7 }, 'description'],
      [{ title: 'x', folder: '/x', puid: 'mine' }, 'puid'],
    ];
    for (const [body, field] of cases) {
      const r = await h.call('POST', '/airboxes', { key: manager, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(String(r.body.msg), JSON.stringify(body)).toContain(field);
    }
    // A refused create made no folder.
    expect(await folderByPath('/x')).toBeUndefined();

    const airbox = await create({ title: 'Patch me', folder: '/inbox/patch' });
    const empty = await h.call('PATCH', `/airboxes/${airbox.uuid}`, { key: manager, body: {} });
    expect(empty.status).toBe(400);
    const badPatch = await h.call('PATCH', `/airboxes/${airbox.uuid}`, { key: manager, body: { active: 1 } });
    expect([badPatch.status, String(badPatch.body.msg)]).toEqual([400, expect.stringContaining('active')]);
    expect((await h.call('PATCH', `/airboxes/${missing}`, { key: manager, body: { active: false } })).status).toBe(404);
    expect((await h.call('GET', `/airboxes/${missing}`, { key: manager })).status).toBe(404);
    expect((await h.call('GET', '/airboxes/nope', { key: manager })).body.code).toBe('INVALID_UUID');
    expect((await h.call('GET', '/airboxes?limit=0', { key: manager })).status).toBe(400);
  });
});

describe('the public config', () => {
  it('answers without a key: title, description and upload limits, never the folder; 404 when closed, expired or unknown', async () => {
    const airbox = await create({ title: 'Press drop', folder: '/inbox/press', description: 'For journalists', max_file_size: 2_000_000 });
    const r = await open(airbox);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      status: 'success',
      airbox: {
        puid: airbox.puid,
        title: 'Press drop',
        description: 'For journalists',
        expires_at: null,
        upload: { max_file_size: 2_000_000, max_files_per_request: expect.any(Number), files_per_minute: 30 },
      },
    });
    expect(JSON.stringify(r.body)).not.toContain('/inbox/press');
    // Without format, and whatever the title segment says: the puid identifies the airbox.
    expect((await open(airbox, '')).status).toBe(200);
    expect((await fetch(`${h.server.url}/${h.server.token}/v3/a/${airbox.puid}/anything?format=json`)).status).toBe(200);
    const html = await open(airbox, '?format=html');
    expect([html.status, String(html.body.msg)]).toEqual([400, expect.stringContaining('format')]);

    // Without a max_file_size the server's own upload limit applies.
    const unlimited = await create({ title: 'Open', folder: '/inbox/open' });
    expect(((await open(unlimited)).body.airbox as { upload: { max_file_size: number } }).upload.max_file_size).toBe(10_000_000);

    await h.call('PATCH', `/airboxes/${airbox.uuid}`, { key: manager, body: { active: false } });
    const closed = await open(airbox);
    expect([closed.status, closed.body.code]).toEqual([404, 'AIRBOX_NOT_FOUND']);
    await h.call('PATCH', `/airboxes/${airbox.uuid}`, { key: manager, body: { active: true } });
    expect((await open(airbox)).status).toBe(200);

    const unknown = await fetch(`${h.server.url}/${h.server.token}/v3/a/zzzzzzzzzz/press-drop?format=json`);
    expect(unknown.status).toBe(404);
    const otherProject = await fetch(`${h.server.url}/other/v3/a/${airbox.puid}/press-drop?format=json`);
    expect(otherProject.status).toBe(404);
  });

  it('an expired airbox is a 404', async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const airbox = await create({ title: 'Short-lived', folder: '/inbox/short', expires_at: soon });
    expect((await open(airbox)).status).toBe(200);
    expect((await send(airbox, [{ name: 'early.txt' }])).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    expect((await open(airbox)).status).toBe(404);
    const late = await send(airbox, [{ name: 'late.txt' }]);
    expect([late.status, late.body.code]).toEqual([404, 'AIRBOX_NOT_FOUND']);
    expect((await filesIn('/inbox/short')).map((f) => f.name)).toEqual(['early.txt']);
    // Still listed for its owner, who can extend it.
    const extended = await h.call('PATCH', `/airboxes/${airbox.uuid}`, { key: manager, body: { expires_at: future } });
    expect(extended.status).toBe(200);
    expect((await open(airbox)).status).toBe(200);
  });
});

describe('the target folder', () => {
  it('follows a renamed folder, and keeps the path (folder_uuid null) once the folder is deleted', async () => {
    const airbox = await create({ title: 'Follow', folder: '/inbox/follow' });
    await h.call('PATCH', `/folders/${airbox.folder_uuid}`, { body: { name: 'followed' } });
    const renamed = (await h.call('GET', `/airboxes/${airbox.uuid}`, { key: manager })).body.airbox as AirboxDoc;
    expect([renamed.folder, renamed.folder_uuid]).toEqual(['/inbox/followed', airbox.folder_uuid]);

    expect((await h.call('DELETE', `/folders/${airbox.folder_uuid}`)).status).toBe(200);
    const orphan = (await h.call('GET', `/airboxes/${airbox.uuid}`, { key: manager })).body.airbox as AirboxDoc;
    expect([orphan.folder, orphan.folder_uuid]).toEqual(['/inbox/followed', null]);
    // Pointing it at a folder again (created when missing) restores it.
    const fixed = await h.call('PATCH', `/airboxes/${airbox.uuid}`, { key: manager, body: { folder: '/inbox/followed' } });
    expect((fixed.body.airbox as AirboxDoc).folder_uuid).toBe((await folderByPath('/inbox/followed'))!.uuid);
  });
});

describe('uploading through an airbox (no key)', () => {
  it("stores the files in the airbox's folder with their meta; the reply names only what was sent", async () => {
    const airbox = await create({ title: 'Drop zone', folder: '/inbox/drop' });
    const r = await send(airbox, [{ name: 'photo.jpg', content: 'jpeg bytes' }], {
      fields: { 'meta[file]': JSON.stringify({ title: { en: 'From the agency' } }) },
      headers: { 'X-Filerobot-Airbox-Puid': airbox.puid },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({
      status: 'success',
      action: 'files_uploaded_to_airbox',
      airbox: { puid: airbox.puid, title: 'Drop zone' },
      files: [{ name: 'photo.jpg', type: 'image/jpeg', size: { bytes: 10, pretty: '10 B' }, sha1: expect.stringMatching(/^[0-9a-f]{40}$/) }],
      info: { uploaded_files: 1, files_count: 1 },
    });
    const stored = await filesIn('/inbox/drop');
    expect(stored.map((f) => [f.name, f.meta, f.size.bytes])).toEqual([['photo.jpg', { title: { en: 'From the agency' } }, 10]]);

    // Several files at once; the header is optional.
    const many = await send(airbox, [{ name: 'a.txt' }, { name: 'b.txt' }]);
    expect(many.status).toBe(200);
    expect((many.body.files as Array<{ name: string }>).map((f) => f.name)).toEqual(['a.txt', 'b.txt']);
    expect((await filesIn('/inbox/drop')).map((f) => f.name).sort()).toEqual(['a.txt', 'b.txt', 'photo.jpg']);
    // The title segment is not checked, like the config read.
    expect((await send({ airbox_uri: `${h.server.url}/${h.server.token}/v3/a/${airbox.puid}/whatever` }, [{ name: 'c.txt' }])).status).toBe(200);
  });

  it('tells the uploader nothing about the folder: same content and a taken name are stored again, the reply unchanged', async () => {
    const airbox = await create({ title: 'Blind', folder: '/inbox/blind' });
    const first = await send(airbox, [{ name: 'same.txt', content: 'same bytes' }]);
    const second = await send(airbox, [{ name: 'same.txt', content: 'same bytes' }]);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const text = JSON.stringify(second.body);
    for (const secret of ['/inbox/blind', 'uuid', 'url', 'existing_file', 'same-']) expect(text).not.toContain(secret);
    const stored = await filesIn('/inbox/blind');
    expect(stored).toHaveLength(2);
    expect(stored.map((f) => f.name).filter((n) => n !== 'same.txt')[0]).toMatch(/^same-[A-Za-z0-9]{8}\.txt$/);
  });

  it('refuses folder, dir and overwrite, a name with a folder path, tags and product parts, and bodies that are not multipart; nothing lands', async () => {
    const airbox = await create({ title: 'Strict', folder: '/inbox/strict' });
    await send(airbox, [{ name: 'original.txt', content: 'original' }]);
    const cases: Array<[string, Parameters<typeof send>[1], Parameters<typeof send>[2], number, string]> = [
      ['folder', [{ name: 'x.txt' }], { query: '?folder=/elsewhere' }, 400, 'PARAMETER_NOT_ALLOWED'],
      ['dir', [{ name: 'x.txt' }], { query: '?dir=/elsewhere' }, 400, 'PARAMETER_NOT_ALLOWED'],
      ['overwrite', [{ name: 'original.txt', content: 'replaced' }], { query: '?overwrite=1' }, 400, 'PARAMETER_NOT_ALLOWED'],
      ['path in info', [{ name: 'x.txt' }], { fields: { 'info[file]': JSON.stringify({ name: '/elsewhere/x.txt' }) } }, 400, 'INVALID_NAME'],
      ['tags', [{ name: 'x.txt' }], { fields: { 'tags[file]': '["spam"]' } }, 400, 'PARAMETER_NOT_ALLOWED'],
      ['product', [{ name: 'x.txt' }], { fields: { 'product[file]': JSON.stringify({ ref: 'SKU-1' }) } }, 400, 'PARAMETER_NOT_ALLOWED'],
      ['other puid in header', [{ name: 'x.txt' }], { headers: { 'X-Filerobot-Airbox-Puid': 'zzzzzzzzzz' } }, 400, 'AIRBOX_PUID_MISMATCH'],
    ];
    for (const [label, files, init, status, code] of cases) {
      const r = await send(airbox, files, init);
      expect([r.status, r.body.code], label).toEqual([status, code]);
    }
    // A part's filename keeps only its base name (busboy drops directories), so it lands here too.
    const stripped = await send(airbox, [{ name: '/elsewhere/y.txt' }]);
    expect((stripped.body.files as Array<{ name: string }>).map((f) => f.name)).toEqual(['y.txt']);
    const json = await fetch(airbox.airbox_uri, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'x.txt', data: 'eA==' }) });
    expect(json.status).toBe(415);
    // An API key sent along grants nothing more: still refused.
    const keyed = await send(airbox, [{ name: 'x.txt' }], { query: '?folder=/elsewhere', headers: { 'X-Filerobot-Key': h.server.rootKey } });
    expect(keyed.status).toBe(400);
    expect((await filesIn('/inbox/strict')).map((f) => f.name).sort()).toEqual(['original.txt', 'y.txt']);
    const original = (await filesIn('/inbox/strict')).find((f) => f.name === 'original.txt')!;
    expect(original.size.bytes).toBe('original'.length);
    expect((await h.call('GET', '/files?folder=/elsewhere&recursive=1')).body.files).toEqual([]);
    expect((await h.call('GET', '/tags')).body.tags).not.toEqual(expect.arrayContaining([expect.objectContaining({ names: { en: 'spam' } })]));
  });

  it("enforces max_file_size with a 413 naming the limit; the server's own limit applies without one", async () => {
    const airbox = await create({ title: 'Small files', folder: '/inbox/small', max_file_size: 1000 });
    expect((await send(airbox, [{ name: 'fits.bin', content: Buffer.alloc(1000, 1) }])).status).toBe(200);
    const big = await send(airbox, [{ name: 'big.bin', content: Buffer.alloc(1001, 2) }]);
    expect([big.status, big.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect(String(big.body.msg)).toContain('1000 bytes');
    // One file too large refuses the whole request.
    const mixed = await send(airbox, [{ name: 'ok.bin', content: Buffer.alloc(10, 3) }, { name: 'big2.bin', content: Buffer.alloc(5000, 4) }]);
    expect(mixed.status).toBe(413);
    expect((await filesIn('/inbox/small')).map((f) => f.name)).toEqual(['fits.bin']);
    // Raising the limit takes effect at once.
    await h.call('PATCH', `/airboxes/${airbox.uuid}`, { key: manager, body: { max_file_size: 5000 } });
    expect((await send(airbox, [{ name: 'big.bin', content: Buffer.alloc(1001, 2) }])).status).toBe(200);
    const unlimited = await create({ title: 'Server limit', folder: '/inbox/server-limit' });
    const huge = await send(unlimited, [{ name: 'huge.bin', content: Buffer.alloc(10_000_001, 5) }]);
    expect(huge.status).toBe(413);
    expect(String(huge.body.msg)).toContain('10000000 bytes');
  });

  it('an inactive, unknown or folderless airbox is a 404 AIRBOX_NOT_FOUND and stores nothing', async () => {
    const airbox = await create({ title: 'Closing', folder: '/inbox/closing' });
    await h.call('PATCH', `/airboxes/${airbox.uuid}`, { key: manager, body: { active: false } });
    const closed = await send(airbox, [{ name: 'x.txt' }]);
    expect([closed.status, closed.body.code]).toEqual([404, 'AIRBOX_NOT_FOUND']);
    expect(await filesIn('/inbox/closing')).toEqual([]);
    await h.call('PATCH', `/airboxes/${airbox.uuid}`, { key: manager, body: { active: true } });
    expect((await send(airbox, [{ name: 'x.txt' }])).status).toBe(200);

    const unknown = await send({ airbox_uri: `${h.server.url}/${h.server.token}/v3/a/zzzzzzzzzz/x` }, [{ name: 'x.txt' }]);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'AIRBOX_NOT_FOUND']);
    const otherProject = await send({ airbox_uri: `${h.server.url}/other/v3/a/${airbox.puid}/x` }, [{ name: 'x.txt' }]);
    expect(otherProject.status).toBe(404);

    // Its folder deleted, the airbox has nowhere to put files (and its config is gone too), until it is pointed somewhere.
    const gone = await create({ title: 'Orphan', folder: '/inbox/orphan' });
    await h.call('DELETE', `/folders/${gone.folder_uuid}`);
    expect((await send(gone, [{ name: 'x.txt' }])).body.code).toBe('AIRBOX_NOT_FOUND');
    expect((await open(gone)).status).toBe(404);
    expect(await folderByPath('/inbox/orphan')).toBeUndefined();
    await h.call('PATCH', `/airboxes/${gone.uuid}`, { key: manager, body: { folder: '/inbox/orphan-2' } });
    expect((await send(gone, [{ name: 'x.txt' }])).status).toBe(200);
    expect((await filesIn('/inbox/orphan-2')).map((f) => f.name)).toEqual(['x.txt']);
  });

  it('counts files per address and per airbox each minute: past the quota a 429 with Retry-After', async () => {
    const airbox = await create({ title: 'Busy', folder: '/inbox/busy' });
    const batch = (n: number, tag: string): Upload[] => Array.from({ length: n }, (_, i) => ({ name: `${tag}-${i}.txt`, content: `${tag} ${i}` }));
    const tooMany = await send(airbox, batch(31, 'many'), { from: '203.0.113.1' });
    expect([tooMany.status, tooMany.body.code]).toEqual([400, 'TOO_MANY_FILES']);
    expect((await send(airbox, batch(30, 'a'), { from: '203.0.113.2' })).status).toBe(200);
    const over = await send(airbox, batch(1, 'a-more'), { from: '203.0.113.2' });
    expect([over.status, over.body.code]).toEqual([429, 'TOO_MANY_UPLOADS']);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address has its own quota, up to the airbox's 300 a minute.
    for (let i = 3; i <= 11; i++) expect((await send(airbox, batch(30, `ip${i}`), { from: `203.0.113.${i}` })).status).toBe(200);
    const full = await send(airbox, batch(1, 'last'), { from: '203.0.113.50' });
    expect([full.status, full.body.code]).toEqual([429, 'TOO_MANY_UPLOADS']);
    expect(await filesIn('/inbox/busy')).toHaveLength(300);
    // Another airbox is not affected.
    const calm = await create({ title: 'Calm', folder: '/inbox/calm' });
    expect((await send(calm, batch(1, 'calm'), { from: '203.0.113.2' })).status).toBe(200);
  });
});
