import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';
import { rawRequest } from './raw-http.js';

/**
 * Authentication and file details are remembered until the database changes (store/data-memo.ts).
 * Each test warms that memory with repeated requests, changes something, and expects the very next
 * request to see the change: through the API, and through another connection to the database file.
 */

type FileObject = {
  uuid: string;
  name: string;
  url: { public: string; cdn: string };
  folder: { uuid: string; name: string };
  visibility: { in_dam: { set: string; actual: string } };
};

let h: Harness;
let now = Date.parse('2031-03-01T12:00:00Z');

beforeAll(async () => {
  h = await startHarness({ clock: () => now, trustedProxies: ['127.0.0.1/32', '::1/128'] });
});
afterAll(async () => {
  await h.close();
});

async function newKey(permissions: string[]): Promise<{ uuid: string; secret: string }> {
  const r = await h.call('POST', '/access/keys', { body: { description: 'hot reads', permissions } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.key as { uuid: string; secret: string };
}

async function warm(path: string, key?: string): Promise<void> {
  for (let i = 0; i < 3; i++) expect((await h.call('GET', path, { key })).status).toBe(200);
}

/** Writes to the server's database file from a connection of its own, as a maintenance script would. */
function externally(sql: string, ...params: unknown[]): void {
  const db = new BetterSqlite3(join(h.dir, 'metadata.sqlite'));
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

describe('an accepted API key', () => {
  it('is refused on the very next request once deactivated, stripped of the permission, or deleted', async () => {
    const uploaded = (await h.upload('/hot', 'key.txt', 'key')).file as FileObject;
    const path = `/files/${uploaded.uuid}`;
    const key = await newKey(['OBJECTS_FETCH', 'OBJECTS_LIST']);
    await warm(path, key.secret);

    await h.call('PATCH', `/access/keys/${key.uuid}`, { body: { active: false } });
    const deactivated = await h.call('GET', path, { key: key.secret });
    expect([deactivated.status, deactivated.body.code]).toEqual([401, 'KEY_DEACTIVATED']);

    await h.call('PATCH', `/access/keys/${key.uuid}`, { body: { active: true } });
    await warm(path, key.secret);
    await h.call('PATCH', `/access/keys/${key.uuid}`, { body: { permissions: ['OBJECTS_LIST'] } });
    const narrowed = await h.call('GET', path, { key: key.secret });
    expect([narrowed.status, narrowed.body.code]).toEqual([403, 'PERMISSION_DENIED']);

    await h.call('DELETE', `/access/keys/${key.uuid}`);
    const deleted = await h.call('GET', '/files', { key: key.secret });
    expect([deleted.status, deleted.body.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('is refused on the very next request when another connection deactivates it', async () => {
    const key = await newKey(['OBJECTS_LIST']);
    await warm('/files?folder=/', key.secret);
    externally('UPDATE api_keys SET active = 0 WHERE uuid = ?', key.uuid);
    const r = await h.call('GET', '/files?folder=/', { key: key.secret });
    expect([r.status, r.body.code]).toEqual([401, 'KEY_DEACTIVATED']);
  });

  it('a wrong, missing or weaker key is refused however often the right one was accepted', async () => {
    const key = await newKey(['OBJECTS_LIST', 'OBJECTS_FETCH']);
    const weaker = await newKey(['OBJECTS_LIST']);
    const uploaded = (await h.upload('/hot', 'wrong.txt', 'wrong')).file as FileObject;
    const wrong = `${key.secret.slice(0, -1)}${key.secret.endsWith('0') ? '1' : '0'}`;
    for (const path of ['/files?folder=/', `/files/${uploaded.uuid}`]) {
      await warm(path, key.secret);
      expect((await h.call('GET', path, { key: wrong })).status).toBe(401);
      expect((await h.call('GET', path, { key: null })).status).toBe(401);
    }
    expect((await h.call('GET', `/files/${uploaded.uuid}`, { key: weaker.secret })).status).toBe(403);
  });
});

describe('a SASS key', () => {
  async function sassKey(permissions: string[]): Promise<{ key: string; template: string }> {
    const created = await h.call('POST', '/access/templates', { body: { name: `hot ${Math.random()}`, permissions } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = (created.body.template as { id: string }).id;
    const exchanged = await h.call('GET', `${h.server.url}/${h.server.token}/key/${id}`, { key: null });
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
    return { key: exchanged.body.key as string, template: id };
  }

  it('loses a permission its template loses on the very next request, and expires while in use', async () => {
    const { key, template } = await sassKey(['OBJECTS_LIST']);
    await warm('/files?folder=/', key);
    await h.call('PATCH', `/access/templates/${template}`, { body: { permissions: ['OBJECTS_FETCH'] } });
    const narrowed = await h.call('GET', '/files?folder=/', { key });
    expect([narrowed.status, narrowed.body.code]).toEqual([403, 'PERMISSION_DENIED']);

    const fresh = await sassKey(['OBJECTS_LIST', 'OBJECTS_FETCH']);
    const uploaded = (await h.upload('/hot', 'sass.txt', 'sass')).file as FileObject;
    await warm('/files?folder=/', fresh.key);
    await warm(`/files/${uploaded.uuid}`, fresh.key);
    now += 3_600_000;
    for (const path of ['/files?folder=/', `/files/${uploaded.uuid}`]) {
      const expired = await h.call('GET', path, { key: fresh.key });
      expect([expired.status, expired.body.code]).toEqual([401, 'KEY_EXPIRED']);
    }
  });
});

describe('file details', () => {
  it('follow a rename, a folder visibility change above the file and a delete on the very next request', async () => {
    const parent = (await h.upload('/outer', 'sibling.txt', 'sibling')).file as FileObject;
    const uploaded = (await h.upload('/outer/inner', 'details.txt', 'details')).file as FileObject;
    const path = `/files/${uploaded.uuid}`;
    await warm(path);

    expect((await h.call('PATCH', path, { body: { name: 'renamed.txt' } })).status).toBe(200);
    expect(((await h.call('GET', path)).body.file as FileObject).name).toBe('renamed.txt');

    await warm(path);
    const hidden = await h.call('PUT', `/folders/${parent.folder.uuid}/visibility`, { body: { visibility: 'private' } });
    expect(hidden.status, JSON.stringify(hidden.body)).toBe(200);
    expect(((await h.call('GET', path)).body.file as FileObject).visibility.in_dam).toEqual({ set: 'inherited', actual: 'private' });

    await warm(path);
    expect((await h.call('DELETE', path)).status).toBe(200);
    const gone = await h.call('GET', path);
    expect([gone.status, gone.body.code]).toEqual([404, 'FILE_NOT_FOUND']);
  });

  it('follow a change another connection makes to the file row', async () => {
    const uploaded = (await h.upload('/hot', 'outside.txt', 'outside')).file as FileObject;
    const path = `/files/${uploaded.uuid}`;
    await warm(path);
    externally('UPDATE files SET name = ? WHERE uuid = ?', 'changed-outside.txt', uploaded.uuid);
    expect(((await h.call('GET', path)).body.file as FileObject).name).toBe('changed-outside.txt');
  });

  it('carry the URLs of the host and API version each request used', async () => {
    const uploaded = (await h.upload('/hot', 'host.txt', 'host')).file as FileObject;
    await warm(`/files/${uploaded.uuid}`);
    const other = await rawRequest({
      method: 'GET',
      url: `${h.api()}/files/${uploaded.uuid}`,
      headers: { host: 'cdn.example.test', 'x-filerobot-key': h.server.rootKey },
    });
    if (other === 'closed') throw new Error('the server closed the connection');
    expect((other.body.file as FileObject).url.public).toBe('http://cdn.example.test/demo/store/hot/host.txt');
    const own = (await h.call('GET', `/files/${uploaded.uuid}`)).body.file as FileObject;
    expect(own.url.public).toBe(`${h.server.url}/demo/store/hot/host.txt`);
    const v4 = (await h.call('GET', `/files/${uploaded.uuid}`, { version: 'v4' })).body.file as { visibility: unknown };
    expect(v4.visibility).toHaveProperty('value');
  });
});

describe('a rate-limited key', () => {
  it('is counted on every file details request, however often the same one was answered', async () => {
    const limited = await startHarness({ limits: { requestsPerMinutePerKey: 5 } });
    try {
      const uploaded = (await limited.upload('/hot', 'limited.txt', 'limited')).file as FileObject;
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await limited.call('GET', `/files/${uploaded.uuid}`)).status);
      // The upload took one of the five.
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});
