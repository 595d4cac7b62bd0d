import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

type FileObject = { uuid: string; name: string; folder: { uuid: string; name: string } };
type Share = {
  uuid: string;
  puid: string;
  share_uri: string;
  auth: Array<{ user: string }>;
  is_protected: boolean;
  items: unknown[];
};

let h: Harness;
const ghost = '6f1c1b1e-0000-4000-8000-000000000abc';
const files: Record<string, FileObject> = {};

async function upload(
  folder: string,
  name: string,
  meta: Record<string, unknown>,
  tags: string[] = [],
): Promise<FileObject> {
  const reply = await h.upload(folder, name, `${folder}/${name}`, {
    'meta[file]': JSON.stringify(meta),
    'tags[file]': JSON.stringify(tags),
  });
  expect(reply.status, JSON.stringify(reply)).toBe('success');
  return reply.file as FileObject;
}

const names = (body: Record<string, unknown>): string[] =>
  (body.files as FileObject[]).map((f) => f.name).sort();

beforeAll(async () => {
  h = await startHarness();
  files.red = await upload('/shop/shoes', 'red.txt', { color: 'red' }, ['Summer']);
  files.blue = await upload('/shop/shoes', 'blue.txt', { color: 'blue' }, ['Summer']);
  files.green = await upload('/shop/hats', 'green.txt', { color: 'green' }, ['Summer']);
  files.winter = await upload('/archive', 'winter.txt', { color: 'red' }, ['Winter']);
});
afterAll(async () => {
  await h.close();
});

describe('collections', () => {
  let uuid: string;

  it('creates a dynamic collection (extension) and lists it with its virtual folders', async () => {
    const r = await h.call('POST', '/collections', {
      body: {
        title: 'Summer',
        type: 'dynamic',
        visibility: 'private',
        query: '#summer',
        folders: [
          { name: 'Red', filters: 'color:red' },
          { name: 'Cool', children: [{ name: 'Blue', filters: 'color:blue' }] },
        ],
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const collection = r.body.collection as { uuid: string; title: string; query: string };
    uuid = collection.uuid;
    expect(collection).toMatchObject({
      title: 'Summer',
      type: 'dynamic',
      visibility: 'private',
      query: '#summer',
    });
    const list = await h.call('GET', '/collections');
    expect((list.body.collections as Array<{ uuid: string }>).map((c) => c.uuid)).toEqual([uuid]);
    const folders = await h.call('GET', `/collections/${uuid}/folders`);
    const tree = folders.body.folders as Array<{
      name: string;
      path: string;
      filters: string;
      children: Array<{ path: string; filters: string }> | null;
    }>;
    expect(tree.map((f) => [f.name, f.path, f.children === null])).toEqual([
      ['Red', '/Red', true],
      ['Cool', '/Cool', false],
    ]);
    expect(Buffer.from(tree[0]!.filters, 'base64url').toString()).toBe('color:red');
    expect(tree[1]!.filters).toBe('');
    expect(tree[1]!.children![0]!.path).toBe('/Cool/Blue');
  });

  it("lists the files of a collection across folders, narrowed by a virtual folder's f64", async () => {
    const all = await h.call('GET', `/files?collection_uuid=${uuid}`);
    expect(all.status).toBe(200);
    expect(names(all.body)).toEqual(['blue.txt', 'green.txt', 'red.txt']);
    const tree = (await h.call('GET', `/collections/${uuid}/folders`)).body.folders as Array<{
      filters: string;
    }>;
    const red = await h.call('GET', `/files?collection_uuid=${uuid}&f64=${tree[0]!.filters}`);
    expect(names(red.body)).toEqual(['red.txt']);
    const withQ = await h.call(
      'GET',
      `/files?collection_uuid=${uuid}&q=${encodeURIComponent('color:green')}`,
    );
    expect(names(withQ.body)).toEqual(['green.txt']);
    const inFolder = await h.call('GET', `/files?collection_uuid=${uuid}&folder=/shop/shoes&recursive=0`);
    expect(names(inFolder.body)).toEqual(['blue.txt', 'red.txt']);
    const stats = await h.call('GET', `/files/stats?collection_uuid=${uuid}`);
    expect((stats.body.stats as { approx_files_count: number }).approx_files_count).toBe(3);
    const unknown = await h.call('GET', `/files?collection_uuid=${ghost}`);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'COLLECTION_NOT_FOUND']);
    const badF64 = await h.call(
      'GET',
      `/files?collection_uuid=${uuid}&f64=${encodeURIComponent('not base64!')}`,
    );
    expect([badF64.status, badF64.body.code]).toEqual([400, 'INVALID_PARAMETER']);
  });

  it('validates titles, saved searches and folders, and 404s unknown collections', async () => {
    const title = await h.call('POST', '/collections', { body: { query: '#x' } });
    expect([title.status, title.body.msg]).toEqual([400, '"title" must be a title of 1-255 characters.']);
    const query = await h.call('POST', '/collections', { body: { title: 'Bad', query: '"":x' } });
    expect([query.status, query.body.code]).toEqual([400, 'INVALID_QUERY']);
    expect(query.body.msg).toContain('"query"');
    const empty = await h.call('POST', '/collections', {
      body: { title: 'Bad', folders: [{ name: 'Nothing' }] },
    });
    expect(empty.body.msg).toContain('"folders[0]" has neither "filters" nor "children"');
    const slash = await h.call('POST', '/collections', {
      body: { title: 'Bad', folders: [{ name: 'a/b', filters: '#x' }] },
    });
    expect(slash.body.msg).toContain('"folders[0].name"');
    const type = await h.call('POST', '/collections', { body: { title: 'Bad', type: 'not a type' } });
    expect(type.body.msg).toContain('"type"');
    expect((await h.call('GET', `/collections/${ghost}/folders`)).status).toBe(404);
    expect((await h.call('GET', '/collections')).body.total).toBe(1);
  });

  it('deletes a collection (extension)', async () => {
    const r = await h.call('DELETE', `/collections/${uuid}`);
    expect(r.body).toEqual({ status: 'success', action: 'collection_deleted', collection_uuid: uuid });
    expect((await h.call('GET', `/collections/${uuid}/folders`)).status).toBe(404);
    expect((await h.call('DELETE', `/collections/${uuid}`)).status).toBe(404);
  });
});

describe('shares', () => {
  let share: Share;

  it('creates a share with hashed passwords and a share_uri on this server', async () => {
    const shoes = files.red!.folder.uuid;
    const archive = files.winter!.folder.uuid;
    const shop = (await h.call('GET', '/folders?folder=/')).body.folders as Array<{
      uuid: string;
      path: string;
    }>;
    const shopUuid = shop.find((f) => f.path === '/shop')!.uuid;
    const r = await h.call('POST', '/shares', {
      body: {
        title: 'Press kit',
        description: 'Q3',
        starts_at: '2020-01-01T00:00:00Z',
        expires_at: '2099-01-01T00:00:00Z',
        starts_tz: 'Europe/Paris',
        expires_tz: 'Europe/Paris',
        items: [
          { type: 'file_uuid', identifiers: [files.winter!.uuid] },
          {
            type: 'folder_uuid',
            identifiers: [shopUuid],
            options: { recursive: true, visibility: 'PUB,ORG' },
          },
          { type: 'folder_uuid', identifiers: [shoes, archive] },
        ],
        auth: [
          { user: '', pass: 'open sesame' },
          { user: 'press', pass: 'kit-2024' },
        ],
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    share = r.body.share as Share;
    expect(share.share_uri).toBe(`${h.server.url}/${h.server.token}/v5/s/${share.puid}/press-kit`);
    expect(share.puid).toMatch(/^[a-z0-9]{26}$/);
    expect(share.auth).toEqual([{ user: '' }, { user: 'press' }]);
    expect(share.is_protected).toBe(true);
    expect(JSON.stringify(r.body)).not.toContain('open sesame');
    expect(JSON.stringify(r.body)).not.toContain('kit-2024');

    const list = await h.call('GET', '/shares');
    expect((list.body.shares as Share[]).map((s) => s.uuid)).toEqual([share.uuid]);
    expect(list.body.info).toEqual({ total: 1, limit: 100, offset: 0 });
    expect(JSON.stringify(list.body)).not.toContain('sesame');
    const one = await h.call('GET', `/shares/${share.uuid}`);
    expect((one.body.share as Share).items).toEqual(share.items);

    const db = new BetterSqlite3(join(h.dir, 'metadata.sqlite'), { readonly: true });
    try {
      const stored = (
        db.prepare('SELECT auth FROM shares WHERE uuid = ?').get(share.uuid) as { auth: string }
      ).auth;
      expect(stored).not.toContain('sesame');
      expect(stored).toMatch(/scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}/);
    } finally {
      db.close();
    }
  });

  it('serves the share link as JSON behind basic auth', async () => {
    const open = await h.call('GET', share.share_uri, { key: null });
    expect([open.status, open.body.code]).toEqual([401, 'SHARE_PASSWORD_REQUIRED']);
    expect(open.headers.get('www-authenticate')).toContain('Basic');
    const basic = (user: string, pass: string): Record<string, string> => ({
      Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
    });
    const wrong = await h.call('GET', share.share_uri, { key: null, headers: basic('x', 'nope') });
    expect([wrong.status, wrong.body.code]).toEqual([401, 'SHARE_PASSWORD_INVALID']);
    // "press" has its own password; the entry with an empty user accepts any name.
    expect(
      (await h.call('GET', share.share_uri, { key: null, headers: basic('someone', 'kit-2024') })).status,
    ).toBe(401);
    const anyone = await h.call('GET', share.share_uri, {
      key: null,
      headers: basic('someone', 'open sesame'),
    });
    expect(anyone.status).toBe(200);
    expect(names(anyone.body)).toEqual(['blue.txt', 'green.txt', 'red.txt', 'winter.txt']);
    expect(anyone.body.total).toBe(4);
    expect(anyone.body.share).toMatchObject({
      title: 'Press kit',
      description: 'Q3',
      expires_at: '2099-01-01T00:00:00Z',
    });
    const press = await h.call('GET', `${share.share_uri}?limit=2&offset=3`, {
      key: null,
      headers: basic('press', 'kit-2024'),
    });
    expect([press.status, (press.body.files as unknown[]).length]).toEqual([200, 1]);
  });

  it('honours starts_at and expires_at, and 404s unknown or deleted links', async () => {
    const folder = files.red!.folder.uuid;
    const later = await h.call('POST', '/shares', {
      body: {
        title: 'Later',
        starts_at: '2098-01-01T00:00:00Z',
        items: [{ type: 'folder_uuid', identifiers: [folder] }],
      },
    });
    const laterShare = later.body.share as Share;
    expect(laterShare.is_protected).toBe(false);
    const early = await h.call('GET', laterShare.share_uri, { key: null });
    expect([early.status, early.body.code]).toEqual([403, 'SHARE_NOT_STARTED']);

    const soon = await h.call('POST', '/shares', {
      body: {
        title: 'Soon',
        expires_at: new Date(Date.now() + 1500).toISOString(),
        items: [{ type: 'file_uuid', identifiers: [files.red!.uuid] }],
      },
    });
    const soonShare = soon.body.share as Share;
    const before = await h.call('GET', soonShare.share_uri, { key: null });
    expect(names(before.body)).toEqual(['red.txt']);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const after = await h.call('GET', soonShare.share_uri, { key: null });
    expect([after.status, after.body.code]).toEqual([410, 'SHARE_EXPIRED']);

    const deleted = await h.call('DELETE', `/shares/${laterShare.uuid}`);
    expect(deleted.body).toMatchObject({ action: 'share_deleted', share_uuid: laterShare.uuid });
    expect((await h.call('GET', laterShare.share_uri, { key: null })).status).toBe(404);
    expect((await h.call('GET', `/shares/${laterShare.uuid}`)).status).toBe(404);
    expect(
      (await h.call('GET', `${h.server.url}/${h.server.token}/v5/s/zzzzzzzzzz/x`, { key: null })).body.code,
    ).toBe('SHARE_NOT_FOUND');
  });

  it('validates item types, identifiers, dates, time zones and passwords', async () => {
    const post = (body: Record<string, unknown>): ReturnType<Harness['call']> =>
      h.call('POST', '/shares', {
        body: { title: 'T', items: [{ type: 'file_uuid', identifiers: [files.red!.uuid] }], ...body },
      });
    const type = await post({ items: [{ type: 'tag', identifiers: [files.red!.uuid] }] });
    expect([type.status, type.body.msg]).toEqual([
      400,
      '"items[0].type" must be "file_uuid" or "folder_uuid"; got "tag".',
    ]);
    const missing = await post({ items: [{ type: 'folder_uuid', identifiers: [ghost] }] });
    expect([missing.status, missing.body.not_found_uuids]).toEqual([404, [ghost]]);
    const order = await post({ starts_at: '2030-01-02T00:00:00Z', expires_at: '2030-01-01T00:00:00Z' });
    expect(order.body.msg).toContain('must be later than "starts_at"');
    const past = await post({ expires_at: '2001-01-01T00:00:00Z' });
    expect(past.body.msg).toContain('already past');
    const date = await post({ starts_at: 'next tuesday' });
    expect(date.body.msg).toContain('"starts_at" is not a date');
    const tz = await post({ starts_tz: 'Mars/Olympus' });
    expect(tz.body.msg).toContain('"starts_tz" must be an IANA time zone');
    const pass = await post({ auth: [{ user: 'a' }] });
    expect(pass.body.msg).toBe('"auth[0].pass" must be a password of 1-200 characters.');
    const recursive = await post({
      items: [{ type: 'folder_uuid', identifiers: [files.red!.folder.uuid], options: { recursive: 'yes' } }],
    });
    expect(recursive.body.msg).toContain('"items[0].options.recursive"');
    expect((await h.call('GET', '/shares')).body.info).toMatchObject({ total: 2 });
  });
});

describe('share passwords under attack', () => {
  // Its own server: a clock to move past the guessing window, and a trusted proxy so that tests
  // can speak from several addresses (X-Forwarded-For).
  let now = Date.parse('2026-03-01T10:00:00Z');
  let s: Harness;
  let fileUuid: string;
  const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const open = (uri: string, pass: string, ip: string) =>
    s.call('GET', uri, { key: null, headers: { Authorization: basic('press', pass), 'X-Forwarded-For': ip } });
  const makeShare = async (title: string, auth: Array<{ user: string; pass: string }>): Promise<Share> => {
    const r = await s.call('POST', '/shares', { body: { title, items: [{ type: 'file_uuid', identifiers: [fileUuid] }], auth } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.share as Share;
  };

  beforeAll(async () => {
    s = await startHarness({ clock: () => now, trustedProxies: ['127.0.0.1/32', '::1/128'] });
    fileUuid = ((await s.upload('/press', 'a.txt', 'hello')).file as FileObject).uuid;
  });
  afterAll(async () => {
    await s.close();
  });

  it('password checks do not block the server: an unrelated request is answered while they hash', async () => {
    // Entries with an empty user take any name, so each wrong guess hashes all eight.
    const heavy = await makeShare('Heavy', Array.from({ length: 8 }, (_, i) => ({ user: '', pass: `secret-${i}` })));
    let firstGuessDone = Number.POSITIVE_INFINITY;
    const guesses = Array.from({ length: 3 }, () =>
      open(heavy.share_uri, 'wrong', '198.51.100.1').then((r) => {
        firstGuessDone = Math.min(firstGuessDone, performance.now());
        return r.status;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    const other = await s.call('GET', '/public/settings', { key: null });
    const otherDone = performance.now();
    expect(other.status).toBe(200);
    // Blocking hashes would answer at least one guess (8 hashes) before the unrelated request.
    expect(otherDone).toBeLessThan(firstGuessDone);
    expect(await Promise.all(guesses)).toEqual([401, 401, 401]);
  });

  it('creating a share with 20 passwords hashes them off the event loop, and each one opens it', async () => {
    const auth = Array.from({ length: 20 }, (_, i) => ({ user: `user-${i}`, pass: `pass-${i}` }));
    let createdAt = Number.POSITIVE_INFINITY;
    const creating = makeShare('Twenty', auth).then((share) => {
      createdAt = performance.now();
      return share;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const other = await s.call('GET', '/public/settings', { key: null });
    const otherDone = performance.now();
    expect(other.status).toBe(200);
    // Twenty blocking hashes would hold every other request until the share was created.
    expect(otherDone).toBeLessThan(createdAt);
    const share = await creating;
    expect(share.auth).toEqual(auth.map(({ user }) => ({ user })));
    // One address each: checks in flight count against an address's guessing quota.
    const statuses = await Promise.all(
      auth.map(({ user, pass }, i) =>
        s.call('GET', share.share_uri, { key: null, headers: { Authorization: basic(user, pass), 'X-Forwarded-For': `192.0.2.${i + 1}` } }),
      ),
    );
    expect(statuses.map((r) => r.status)).toEqual(auth.map(() => 200));
    const swapped = await s.call('GET', share.share_uri, {
      key: null,
      headers: { Authorization: basic('user-0', 'pass-1'), 'X-Forwarded-For': '192.0.2.100' },
    });
    expect([swapped.status, swapped.body.code]).toEqual([401, 'SHARE_PASSWORD_INVALID']);
    const db = new BetterSqlite3(join(s.dir, 'metadata.sqlite'), { readonly: true });
    try {
      const stored = JSON.parse(
        (db.prepare('SELECT auth FROM shares WHERE uuid = ?').get(share.uuid) as { auth: string }).auth,
      ) as Array<{ user: string; hash: string }>;
      expect(stored).toHaveLength(20);
      for (const entry of stored) expect(entry.hash).toMatch(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
      expect(new Set(stored.map((entry) => entry.hash.split('$')[1])).size).toBe(20);
    } finally {
      db.close();
    }
  });

  it('wrong passwords past 10 a minute from one address get 429 with Retry-After, per share and address', async () => {
    const share = await makeShare('Guarded', [{ user: 'press', pass: 'right' }]);
    // Concurrent guesses cannot overshoot the quota.
    const statuses = await Promise.all(Array.from({ length: 14 }, () => open(share.share_uri, 'wrong', '203.0.113.5').then((r) => r.status)));
    expect(statuses.filter((c) => c === 401)).toHaveLength(10);
    expect(statuses.filter((c) => c === 429)).toHaveLength(4);
    const blocked = await open(share.share_uri, 'right', '203.0.113.5');
    expect([blocked.status, blocked.body.code]).toEqual([429, 'TOO_MANY_PASSWORD_ATTEMPTS']);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address, and the same address on another share, are not affected.
    expect((await open(share.share_uri, 'right', '203.0.113.6')).status).toBe(200);
    const other = await makeShare('Other', [{ user: 'press', pass: 'right' }]);
    expect((await open(other.share_uri, 'right', '203.0.113.5')).status).toBe(200);
    // A minute later the address may try again.
    now += 61_000;
    expect((await open(share.share_uri, 'right', '203.0.113.5')).status).toBe(200);
  });

  it('links with the earlier 10-character ids keep working', async () => {
    const share = await makeShare('Old link', []);
    const airbox = await s.call('POST', '/airboxes', { body: { title: 'Old box', folder: '/old-box' } });
    expect(airbox.status, JSON.stringify(airbox.body)).toBe(200);
    const db = new BetterSqlite3(join(s.dir, 'metadata.sqlite'));
    try {
      db.prepare('UPDATE shares SET puid = ? WHERE uuid = ?').run('abcde12345', share.uuid);
      db.prepare('UPDATE airboxes SET puid = ? WHERE uuid = ?').run('fghij67890', (airbox.body.airbox as { uuid: string }).uuid);
    } finally {
      db.close();
    }
    const opened = await s.call('GET', `${s.server.url}/${s.server.token}/v5/s/abcde12345/old-link`, { key: null });
    expect([opened.status, opened.body.total]).toEqual([200, 1]);
    const config = await s.call('GET', `${s.server.url}/${s.server.token}/v3/a/fghij67890/old-box?format=json`, { key: null });
    expect([config.status, (config.body.airbox as { puid: string }).puid]).toEqual([200, 'fghij67890']);
  });
});
