import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/** A parsed JSON document walked without checks: a test asserts on what it finds. */
interface Doc {
  [key: string]: Doc;
}

let h: Harness;
const missing = '6f1c1b1e-0000-4000-8000-000000000000';

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function key(permission: string): Promise<string> {
  const r = await h.call('POST', '/access/keys', { body: { permissions: [permission] } });
  return (r.body.key as { secret: string }).secret;
}

async function file(uuid: string, version: 'v4' | 'v5'): Promise<Doc> {
  return (await h.call('GET', `/files/${uuid}`, { version })).body.file as Doc;
}

async function folder(uuid: string, version: 'v4' | 'v5'): Promise<Doc> {
  return (await h.call('GET', `/folders/${uuid}`, { version })).body.folder as Doc;
}

describe('file visibility (inferred: PUT /{v}/files/{uuid}/visibility)', () => {
  it('sets it with FILE_SET_VISIBILITY and shows it in the v4 and v5 shapes', async () => {
    const uploaded = (await h.upload('/vis', 'a.txt', 'a')).file as { uuid: string };
    expect((await file(uploaded.uuid, 'v4')).visibility).toEqual({
      value: 'VISIBILITY_INHERIT',
      inherited: true,
      set: 'VISIBILITY_INHERIT',
      actual: 'VISIBILITY_PUBLIC',
    });

    const secret = await key('FILE_SET_VISIBILITY');
    const r = await h.call('PUT', `/files/${uploaded.uuid}/visibility`, {
      key: secret,
      body: { visibility: 'private' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ action: 'file_visibility_updated', file_uuid: uploaded.uuid });
    expect((r.body.file as Record<string, unknown>).visibility).toEqual({
      in_dam: { set: 'private', actual: 'private' },
      in_cdn: { set: 'not_public', actual: 'not_public' },
    });
    expect((await file(uploaded.uuid, 'v4')).visibility).toEqual({
      value: 'VISIBILITY_PRIVATE',
      inherited: false,
      set: 'VISIBILITY_PRIVATE',
      actual: 'VISIBILITY_PRIVATE',
    });

    // The v4 constants are accepted as input too.
    const v4 = await h.call('PUT', `/files/${uploaded.uuid}/visibility`, {
      version: 'v4',
      body: { visibility: 'VISIBILITY_ORGANISATION' },
    });
    expect((v4.body.file as Doc).visibility).toMatchObject({
      value: 'VISIBILITY_ORGANISATION',
      actual: 'VISIBILITY_ORGANISATION',
    });
    expect((await file(uploaded.uuid, 'v5')).visibility).toEqual({
      in_dam: { set: 'all_organisation', actual: 'all_organisation' },
      in_cdn: { set: 'not_public', actual: 'not_public' },
    });

    expect(
      (
        await h.call('PUT', `/files/${uploaded.uuid}/visibility`, {
          key: await key('FILE_RENAME'),
          body: { visibility: 'public' },
        })
      ).status,
    ).toBe(403);
  });

  it('refuses unknown values and unknown files', async () => {
    const uploaded = (await h.upload('/vis', 'b.txt', 'b')).file as { uuid: string };
    for (const body of [{}, { visibility: 'secret' }, { visibility: 3 }]) {
      const r = await h.call('PUT', `/files/${uploaded.uuid}/visibility`, { body });
      expect([r.status, r.body.code]).toEqual([400, 'INVALID_VISIBILITY']);
      expect(String(r.body.msg)).toContain('"inherited", "public", "organisation", "private"');
    }
    const gone = await h.call('PUT', `/files/${missing}/visibility`, { body: { visibility: 'public' } });
    expect([gone.status, gone.body.code]).toEqual([404, 'FILE_NOT_FOUND']);
  });
});

describe('folder visibility (inferred: PUT /{v}/folders/{uuid}/visibility)', () => {
  it('sets it with DIR_SET_VISIBILITY; folders and files below that inherit take it as their actual visibility', async () => {
    const top = (await h.call('POST', '/folders', { body: { name: '/inherit/deep' } })).body.folder as {
      uuid: string;
    };
    const parent = (await h.call('GET', '/folders?folder=/&q=inherit')).body.folders as Array<{
      uuid: string;
      path: string;
    }>;
    const inherit = parent.find((f) => f.path === '/inherit')!;
    const inside = (await h.upload('/inherit/deep', 'c.txt', 'c')).file as { uuid: string };

    const r = await h.call('PUT', `/folders/${inherit.uuid}/visibility`, {
      key: await key('DIR_SET_VISIBILITY'),
      body: { visibility: 'organisation' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ action: 'folder_visibility_updated', folder_uuid: inherit.uuid });
    expect((r.body.folder as Record<string, unknown>).visibility).toEqual({
      in_dam: { set: 'all_organisation', actual: 'all_organisation' },
      in_cdn: { set: 'not_public', actual: 'not_public' },
    });
    expect((await folder(top.uuid, 'v4')).visibility).toEqual({
      value: 'VISIBILITY_INHERIT',
      inherited: true,
      set: 'VISIBILITY_INHERIT',
      actual: 'VISIBILITY_ORGANISATION',
    });
    expect((await folder(top.uuid, 'v5')).visibility).toEqual({
      in_dam: { set: 'inherited', actual: 'all_organisation' },
      in_cdn: { set: 'inherited', actual: 'not_public' },
    });
    expect((await file(inside.uuid, 'v4')).visibility).toEqual({
      value: 'VISIBILITY_INHERIT',
      inherited: true,
      set: 'VISIBILITY_INHERIT',
      actual: 'VISIBILITY_ORGANISATION',
    });
    const listed = (await h.call('GET', '/files?folder=/inherit&recursive=1')).body.files as Array<Doc>;
    expect(listed[0]!.visibility!.in_cdn).toEqual({ set: 'inherited', actual: 'not_public' });

    // The nearest setting wins.
    await h.call('PUT', `/folders/${top.uuid}/visibility`, { body: { visibility: 'public' } });
    expect((await file(inside.uuid, 'v5')).visibility).toEqual({
      in_dam: { set: 'inherited', actual: 'all_organisation' },
      in_cdn: { set: 'inherited', actual: 'public' },
    });
    await h.call('PUT', `/folders/${top.uuid}/visibility`, { body: { visibility: 'inherited' } });
    await h.call('PUT', `/folders/${inherit.uuid}/visibility`, {
      body: { visibility: 'VISIBILITY_INHERIT' },
    });
    expect((await file(inside.uuid, 'v4')).visibility).toMatchObject({ actual: 'VISIBILITY_PUBLIC' });

    expect(
      (
        await h.call('PUT', `/folders/${inherit.uuid}/visibility`, {
          key: await key('FILE_SET_VISIBILITY'),
          body: { visibility: 'public' },
        })
      ).status,
    ).toBe(403);
  });

  it('refuses unknown values, unknown folders and the root', async () => {
    const made = (await h.call('POST', '/folders', { body: { name: '/vis-bad' } })).body.folder as {
      uuid: string;
    };
    const bad = await h.call('PUT', `/folders/${made.uuid}/visibility`, { body: { visibility: 'everyone' } });
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_VISIBILITY']);
    const gone = await h.call('PUT', `/folders/${missing}/visibility`, { body: { visibility: 'public' } });
    expect([gone.status, gone.body.code]).toEqual([404, 'FOLDER_NOT_FOUND']);
    const root = (await h.call('GET', '/folders')).body.base as { uuid: string };
    const r = await h.call('PUT', `/folders/${root.uuid}/visibility`, { body: { visibility: 'private' } });
    expect([r.status, r.body.code]).toEqual([400, 'ROOT_FOLDER']);
  });
});

describe('labels on a file (inferred: PUT /v5/file/{uuid}/labels)', () => {
  it('replaces the labels with FILE_LABEL_CHANGE; label counts follow', async () => {
    const make = async (name: string): Promise<string> =>
      (
        (await h.call('POST', '/labels', { body: { label: { name, color: '#abcdef' } } })).body.label as {
          sid: string;
        }
      ).sid;
    const [one, two] = [await make('first'), await make('second')];
    const uploaded = (await h.upload('/labelled', 'd.txt', 'd')).file as { uuid: string };

    const secret = await key('FILE_LABEL_CHANGE');
    const r = await h.call('PUT', `/file/${uploaded.uuid}/labels`, {
      key: secret,
      body: { labels: [one, two, one] },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ action: 'labels_updated', file_uuid: uploaded.uuid, labels: [one, two] });
    expect((await file(uploaded.uuid, 'v5')).labels).toEqual([one, two]);
    const counts = (await h.call('GET', '/labels')).body.labels as Array<{
      sid: string;
      assets_count: number;
    }>;
    expect(counts.find((l) => l.sid === one)!.assets_count).toBe(1);

    await h.call('PUT', `/file/${uploaded.uuid}/labels`, { body: { labels: [two] } });
    expect((await file(uploaded.uuid, 'v4')).labels).toEqual([two]);
    await h.call('PUT', `/file/${uploaded.uuid}/labels`, { body: { labels: [] } });
    expect((await file(uploaded.uuid, 'v5')).labels).toEqual([]);

    expect(
      (
        await h.call('PUT', `/file/${uploaded.uuid}/labels`, {
          key: await key('FILE_META_CHANGE'),
          body: { labels: [one] },
        })
      ).status,
    ).toBe(403);
  });

  it('refuses unknown sids (naming them), a body without an array, and unknown files', async () => {
    const uploaded = (await h.upload('/labelled', 'e.txt', 'e')).file as { uuid: string };
    const r = await h.call('PUT', `/file/${uploaded.uuid}/labels`, {
      body: { labels: ['#lbnothere', '#lbmissing'] },
    });
    expect([r.status, r.body.code]).toEqual([400, 'LABEL_NOT_FOUND']);
    expect(String(r.body.msg)).toContain('#lbnothere, #lbmissing');
    expect(r.body.unknown_labels).toEqual(['#lbnothere', '#lbmissing']);
    for (const body of [{}, { labels: 'x' }, { labels: [1] }]) {
      expect((await h.call('PUT', `/file/${uploaded.uuid}/labels`, { body })).body.code).toBe(
        'INVALID_PARAMETER',
      );
    }
    const gone = await h.call('PUT', `/file/${missing}/labels`, { body: { labels: [] } });
    expect([gone.status, gone.body.code]).toEqual([404, 'FILE_NOT_FOUND']);
  });
});

describe('collection writes (inferred: POST, PATCH, DELETE /v5/collections)', () => {
  interface Col {
    uuid: string;
    title: string;
    visibility: string;
    query: string;
    updated_at: string;
  }
  const colours = async (uuid: string, f64?: string): Promise<string[]> => {
    const query = `/files?folder=/col&collection_uuid=${uuid}${f64 ? `&f64=${encodeURIComponent(f64)}` : ''}`;
    const files = (await h.call('GET', query)).body.files as Array<{ meta: { colour: string } }>;
    return files.map((f) => f.meta.colour).sort();
  };

  it('changes title, visibility, search and folders with COLLECTIONS_MANAGE; listings follow at once', async () => {
    for (const colour of ['red', 'blue', 'black']) {
      await h.upload('/col', `${colour}.txt`, colour, { 'meta[file]': JSON.stringify({ colour }) });
    }
    const created = (
      await h.call('POST', '/collections', {
        body: { title: 'Dark', query: 'colour:black', folders: [{ name: 'Black', filters: 'colour:black' }] },
      })
    ).body.collection as Col;
    expect(await colours(created.uuid)).toEqual(['black']);

    const secret = await key('COLLECTIONS_MANAGE');
    const r = await h.call('PATCH', `/collections/${created.uuid}`, {
      key: secret,
      body: { title: '  Bright  ', visibility: 'public', query: 'colour:red,blue' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      action: 'collection_updated',
      collection_uuid: created.uuid,
      collection: { uuid: created.uuid, title: 'Bright', visibility: 'public', query: 'colour:red,blue', type: 'dynamic' },
    });
    const listed = ((await h.call('GET', '/collections')).body.collections as Col[]).find((c) => c.uuid === created.uuid);
    expect(listed).toMatchObject({ title: 'Bright', visibility: 'public' });
    expect(await colours(created.uuid)).toEqual(['blue', 'red']);

    // Folders are replaced as a whole; fields not sent keep their values.
    await h.call('PATCH', `/collections/${created.uuid}`, { body: { folders: [{ name: 'Red', filters: 'colour:red' }] } });
    const folders = (await h.call('GET', `/collections/${created.uuid}/folders`)).body.folders as Array<{
      name: string;
      filters: string;
    }>;
    expect(folders.map((f) => f.name)).toEqual(['Red']);
    expect(await colours(created.uuid, folders[0]!.filters)).toEqual(['red']);
    expect(((await h.call('GET', '/collections')).body.collections as Col[]).find((c) => c.uuid === created.uuid)?.title).toBe('Bright');

    // `query: null` drops the collection-wide search: every file matches again.
    await h.call('PATCH', `/collections/${created.uuid}`, { body: { query: null } });
    expect(await colours(created.uuid)).toEqual(['black', 'blue', 'red']);

    const denied = await h.call('PATCH', `/collections/${created.uuid}`, {
      key: await key('COLLECTIONS_LIST'),
      body: { title: 'x' },
    });
    expect([denied.status, denied.body.code]).toEqual([403, 'PERMISSION_DENIED']);
  });

  it('validates like creation and names the bad field; unknown collections are a 404', async () => {
    const created = (await h.call('POST', '/collections', { body: { title: 'Checked', query: '#x' } })).body
      .collection as Col;
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, 'INVALID_PARAMETER', /Nothing to change/],
      [{ title: '' }, 'INVALID_PARAMETER', /"title"/],
      [{ query: 'title:"open' }, 'INVALID_QUERY', /"query".*Unclosed quote/],
      [{ visibility: 'not ok!' }, 'INVALID_PARAMETER', /"visibility"/],
      [{ folders: [{ name: 'a/b', filters: '#x' }] }, 'INVALID_PARAMETER', /folders\[0\]\.name/],
      [{ folders: [{ name: 'Empty' }] }, 'INVALID_PARAMETER', /folders\[0\]/],
      [{ titel: 'typo' }, 'INVALID_PARAMETER', /"titel"/],
    ];
    for (const [body, code, msg] of cases) {
      const r = await h.call('PATCH', `/collections/${created.uuid}`, { body });
      expect([r.status, r.body.code], JSON.stringify(body)).toEqual([400, code]);
      expect(String(r.body.msg)).toMatch(msg);
    }
    // Nothing of the refused changes landed.
    const still = ((await h.call('GET', '/collections')).body.collections as Col[]).find((c) => c.uuid === created.uuid);
    expect(still).toMatchObject({ title: 'Checked', query: '#x' });
    const gone = await h.call('PATCH', `/collections/${missing}`, { body: { title: 'x' } });
    expect([gone.status, gone.body.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
  });
});
