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
  h = await startHarness({ limits: { maxUploadBytes: 10_000_000 } });
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
    expect(airbox.puid).toMatch(/^[a-z0-9]{10}$/);
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
        upload: { max_file_size: 2_000_000, max_files_per_request: expect.any(Number) },
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
    await new Promise((resolve) => setTimeout(resolve, 1700));
    expect((await open(airbox)).status).toBe(404);
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
