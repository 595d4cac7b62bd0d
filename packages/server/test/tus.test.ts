/**
 * Resumable uploads (tus 1.0) on the connector mirror, over HTTP: core protocol, creation,
 * termination, expiration, auth (key + X-Filerobot-Token, FILE_UPLOAD, SASS upload scope), the
 * commit into an asset, and crash safety with SIGKILL against the real CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/index.js';
import { startHarness, type Harness } from './harness.js';

const sha1 = (data: Buffer): string => createHash('sha1').update(data).digest('hex');
const b64 = (value: string): string => Buffer.from(value).toString('base64');
const metadata = (pairs: Record<string, string>): string =>
  Object.entries(pairs)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

let now = Date.parse('2026-03-01T10:00:00Z');
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ clock: () => now, trustedProxies: ['127.0.0.1/32', '::1/128'] });
});
afterAll(async () => {
  await h.close();
});

function tusCall(
  method: string,
  url: string,
  init: { key?: string | null; token?: string | null; headers?: Record<string, string>; body?: Buffer; server?: Harness } = {},
): Promise<Reply> {
  const server = init.server ?? h;
  const headers: Record<string, string> = { 'Tus-Resumable': '1.0.0', ...init.headers };
  if (init.key !== null) headers['X-Filerobot-Key'] = init.key ?? server.server.rootKey;
  if (init.token !== null) headers['X-Filerobot-Token'] = init.token ?? server.server.token;
  const target = url.startsWith('http') ? url : `${server.server.connectorUrl}${url}`;
  return fetch(target, { method, headers, body: init.body }).then(async (response) => {
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { raw: text };
    }
    return { status: response.status, headers: response.headers, body };
  });
}

async function create(
  length: number,
  meta: Record<string, string>,
  init: Parameters<typeof tusCall>[2] = {},
): Promise<Reply & { location: string }> {
  const r = await tusCall('POST', '/files', {
    ...init,
    headers: { 'Upload-Length': String(length), 'Upload-Metadata': metadata(meta), ...init.headers },
  });
  return { ...r, location: r.headers.get('location') ?? '' };
}

function patch(location: string, offset: number, body: Buffer, init: Parameters<typeof tusCall>[2] = {}): Promise<Reply> {
  return tusCall('PATCH', location, {
    ...init,
    body,
    headers: { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...init.headers },
  });
}

async function uploadAll(location: string, content: Buffer, chunk: number): Promise<void> {
  for (let offset = 0; offset < content.length; offset += chunk) {
    const r = await patch(location, offset, content.subarray(offset, offset + chunk));
    expect(r.status, JSON.stringify(r.body)).toBe(204);
    expect(Number(r.headers.get('upload-offset'))).toBe(Math.min(content.length, offset + chunk));
  }
}

const idOf = (location: string): string => location.split('/').pop()!;

async function newKey(permissions: string[]): Promise<string> {
  const r = await h.call('POST', '/access/keys', { body: { permissions } });
  return (r.body.key as { secret: string }).secret;
}

describe('tus protocol', () => {
  it('OPTIONS advertises version, extensions and max size, without auth', async () => {
    const r = await tusCall('OPTIONS', '/files', { key: null, token: null, headers: {} });
    expect(r.status).toBe(204);
    expect(r.headers.get('tus-version')).toBe('1.0.0');
    expect(r.headers.get('tus-resumable')).toBe('1.0.0');
    expect(r.headers.get('tus-extension')!.split(',')).toEqual(expect.arrayContaining(['creation', 'termination', 'expiration']));
    expect(Number(r.headers.get('tus-max-size'))).toBe(5 * 1024 ** 3);
  });

  it('creates, reports offsets, appends in chunks and commits one asset with sha1, folder and product', async () => {
    const content = randomBytes(300_000 + 17);
    const c = await create(content.length, { name: 'movie.bin', type: 'video/mp4', 'filerobot-folder': '/tus/new', product: JSON.stringify({ ref: 'SKU-TUS', position: 2 }) });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect(c.location).toMatch(new RegExp(`^${h.server.connectorUrl}/files/[a-f0-9]{32}$`));
    expect(c.headers.get('tus-resumable')).toBe('1.0.0');
    expect(Date.parse(c.headers.get('upload-expires')!)).toBe(now + 24 * 3600_000 - (now % 1000));

    const head0 = await tusCall('HEAD', c.location);
    expect(head0.status).toBe(200);
    expect([head0.headers.get('upload-offset'), head0.headers.get('upload-length')]).toEqual(['0', String(content.length)]);
    expect(head0.headers.get('upload-metadata')).toContain(`name ${b64('movie.bin')}`);
    expect(head0.headers.get('cache-control')).toBe('no-store');

    // Not finished: the JSON lookup says so, and nothing is visible in the folder yet.
    await patch(c.location, 0, content.subarray(0, 100_000));
    const early = await tusCall('GET', `/json/${idOf(c.location)}`, { key: null, token: null });
    expect([early.status, early.body.code]).toEqual([409, 'UPLOAD_INCOMPLETE']);
    expect((await h.call('GET', '/files?folder=/tus/new')).body.files).toEqual([]);

    const rest = content.subarray(100_000);
    for (let offset = 0; offset < rest.length; offset += 64_000) {
      const r = await patch(c.location, 100_000 + offset, rest.subarray(offset, offset + 64_000));
      expect(r.status, JSON.stringify(r.body)).toBe(204);
    }
    const head1 = await tusCall('HEAD', c.location);
    expect(head1.headers.get('upload-offset')).toBe(String(content.length));

    const done = await tusCall('GET', `/json/${idOf(c.location)}`, { key: null, token: null });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.status).toBe('success');
    const file = done.body.file as { uuid: string; name: string; type: string; size: { bytes: number }; hash: { sha1: string }; folder: { name: string } };
    expect(file).toMatchObject({ name: 'movie.bin', type: 'video/mp4', size: { bytes: content.length }, hash: { sha1: sha1(content) } });
    const listed = await h.call('GET', '/files?folder=/tus/new');
    expect((listed.body.files as Array<{ uuid: string }>).map((f) => f.uuid)).toEqual([file.uuid]);
    const download = await fetch(`${h.api()}/get/${file.uuid}/download`, { headers: { 'X-Filerobot-Key': h.server.rootKey } });
    expect(sha1(Buffer.from(await download.arrayBuffer()))).toBe(sha1(content));
    expect(done.body.file).toMatchObject({ product: { ref: 'SKU-TUS', position: 2 } });
    const products = await h.call('GET', '/product/SKU-TUS/assets', { version: 'v4' });
    expect(JSON.stringify(products.body)).toContain(file.uuid);
    // The staging file went into the blob store: nothing of it is left beside the record.
    expect((await readdir(join(h.dir, 'resumable'))).filter((n) => n.endsWith('.data'))).toEqual([]);
  });

  it('409 with the server offset on a mismatch; 412 for a wrong or missing version; 415 for a wrong type', async () => {
    const c = await create(10, { name: 'a.txt' });
    expect((await patch(c.location, 0, Buffer.from('hello'))).status).toBe(204);
    const mismatch = await patch(c.location, 2, Buffer.from('xx'));
    expect([mismatch.status, mismatch.body.code, mismatch.headers.get('upload-offset')]).toEqual([409, 'OFFSET_MISMATCH', '5']);
    const wrong = await tusCall('HEAD', c.location, { headers: { 'Tus-Resumable': '0.2.2' } });
    expect([wrong.status, wrong.headers.get('tus-version')]).toEqual([412, '1.0.0']);
    const missing = await fetch(c.location, { method: 'PATCH', headers: { 'X-Filerobot-Key': h.server.rootKey, 'X-Filerobot-Token': h.server.token, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '5' }, body: 'world' });
    expect(missing.status).toBe(412);
    const type = await patch(c.location, 5, Buffer.from('world'), { headers: { 'Content-Type': 'application/octet-stream' } });
    expect(type.status).toBe(415);
    // None of the refused requests moved the offset.
    expect((await tusCall('HEAD', c.location)).headers.get('upload-offset')).toBe('5');
    expect((await patch(c.location, 5, Buffer.from('world'))).status).toBe(204);
  });

  it('404 for unknown and malformed ids; 413 over the max size; 400 for bad metadata and for bodies past Upload-Length', async () => {
    for (const id of ['0123456789abcdef0123456789abcdef', 'not-an-id', '..%2f..%2fmetadata.sqlite']) {
      expect((await tusCall('HEAD', `/files/${id}`)).status, id).toBe(404);
      expect((await patch(`/files/${id}`, 0, Buffer.from('x'))).status, id).toBe(404);
      expect((await tusCall('DELETE', `/files/${id}`)).status, id).toBe(404);
      expect((await tusCall('GET', `/json/${id}`, { key: null, token: null })).status, id).toBe(404);
    }
    const big = await create(6 * 1024 ** 3, { name: 'huge.bin' });
    expect([big.status, big.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect((await create(10, {})).body.code).toBe('INVALID_UPLOAD_METADATA');
    expect((await tusCall('POST', '/files', { headers: { 'Upload-Length': '10', 'Upload-Metadata': 'name ***' } })).body.code).toBe('INVALID_UPLOAD_METADATA');
    expect((await tusCall('POST', '/files', { headers: { 'Upload-Metadata': metadata({ name: 'x' }) } })).body.code).toBe('INVALID_HEADER');
    expect((await create(10, { name: 'x', 'filerobot-folder': '/a/../..' })).status).toBe(400);
    const c = await create(4, { name: 'four.txt' });
    const over = await patch(c.location, 0, Buffer.from('12345'));
    expect([over.status, over.body.code]).toEqual([400, 'UPLOAD_LENGTH_EXCEEDED']);
    expect((await tusCall('HEAD', c.location)).headers.get('upload-offset')).toBe('0');
  });

  it('auth: the key needs FILE_UPLOAD, and X-Filerobot-Token must name the project', async () => {
    const reader = await newKey(['OBJECTS_LIST']);
    const refused = await create(3, { name: 'r.txt' }, { key: reader });
    expect([refused.status, refused.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(String(refused.body.msg)).toContain('FILE_UPLOAD');
    expect((await create(3, { name: 'r.txt' }, { key: null })).status).toBe(401);
    expect((await create(3, { name: 'r.txt' }, { key: 'nope' })).status).toBe(401);
    const noToken = await create(3, { name: 'r.txt' }, { token: null });
    expect([noToken.status, noToken.body.code]).toEqual([400, 'TOKEN_REQUIRED']);
    const otherToken = await create(3, { name: 'r.txt' }, { token: 'other' });
    expect([otherToken.status, otherToken.body.code]).toEqual([404, 'PROJECT_NOT_FOUND']);

    const uploader = await newKey(['FILE_UPLOAD']);
    const c = await create(3, { name: 'u.txt', 'filerobot-folder': '/tus/auth' }, { key: uploader });
    expect(c.status).toBe(201);
    expect((await patch(c.location, 0, Buffer.from('abc'), { key: reader })).status).toBe(403);
    expect((await tusCall('HEAD', c.location, { key: reader })).status).toBe(403);
    expect((await tusCall('DELETE', c.location, { key: reader })).status).toBe(403);
    expect((await patch(c.location, 0, Buffer.from('abc'), { key: uploader })).status).toBe(204);
  });

  it('SASS keys: creation outside the upload scope is refused; an upload outside it cannot be continued', async () => {
    const template = await h.call('POST', '/access/templates', { body: { name: 'tus-widget', permissions: ['FILE_UPLOAD'], dir_scope: '/inbox/*' } });
    const exchanged = await h.call('GET', `${h.server.url}/${h.server.token}/key/${(template.body.template as { id: string }).id}`, { key: null });
    const sass = exchanged.body.key as string;
    const outside = await create(3, { name: 'o.txt', 'filerobot-folder': '/elsewhere' }, { key: sass });
    expect([outside.status, outside.body.code]).toEqual([403, 'OUTSIDE_FOLDER_SCOPE']);
    // A name that carries a path counts too.
    const sneaky = await create(3, { name: '/elsewhere/o.txt', 'filerobot-folder': '/inbox' }, { key: sass });
    expect([sneaky.status, sneaky.body.code]).toEqual([403, 'OUTSIDE_FOLDER_SCOPE']);
    const inside = await create(3, { name: 'i.txt', 'filerobot-folder': '/inbox/a' }, { key: sass });
    expect(inside.status).toBe(201);
    expect((await patch(inside.location, 0, Buffer.from('abc'), { key: sass })).status).toBe(204);
    const landed = await tusCall('GET', `/json/${idOf(inside.location)}`, { key: null, token: null });
    expect((landed.body.file as { folder: { name: string } }).folder.name).toMatch(/^\/inbox\/a\/?$/);

    // The scope is checked again on every request: narrowed since creation, the upload stops.
    const started = await create(3, { name: 's.txt', 'filerobot-folder': '/inbox/b' }, { key: sass });
    const templateId = (template.body.template as { id: string }).id;
    expect((await h.call('PATCH', `/access/templates/${templateId}`, { body: { dir_scope: '/inbox/a/*' } })).status).toBe(200);
    const cont = await patch(started.location, 0, Buffer.from('abc'), { key: sass });
    expect([cont.status, cont.body.code]).toEqual([403, 'OUTSIDE_FOLDER_SCOPE']);
    expect((await tusCall('HEAD', started.location, { key: sass })).status).toBe(403);
    const record = JSON.parse(await readFile(join(h.dir, 'resumable', `${idOf(started.location)}.json`), 'utf8')) as { offset: number };
    expect(record.offset).toBe(0);
  });

  it("an upload is its creator's: another key gets 404 for HEAD, PATCH and DELETE, as for an unknown id", async () => {
    const owner = await newKey(['FILE_UPLOAD']);
    const other = await newKey(['FILE_UPLOAD']);
    const c = await create(6, { name: 'mine.txt', 'filerobot-folder': '/tus/owned' }, { key: owner });
    expect(c.status).toBe(201);
    expect((await patch(c.location, 0, Buffer.from('abc'), { key: owner })).status).toBe(204);
    for (const key of [other, h.server.rootKey]) {
      // HEAD replies carry no body: the status says it.
      expect((await tusCall('HEAD', c.location, { key })).status).toBe(404);
      for (const r of [await patch(c.location, 3, Buffer.from('XYZ'), { key }), await tusCall('DELETE', c.location, { key })]) {
        expect([r.status, r.body.code]).toEqual([404, 'UPLOAD_NOT_FOUND']);
      }
    }
    // Nothing the others sent landed, and the upload is still there for its owner.
    const head = await tusCall('HEAD', c.location, { key: owner });
    expect([head.status, head.headers.get('upload-offset')]).toEqual([200, '3']);
    expect((await patch(c.location, 3, Buffer.from('def'), { key: owner })).status).toBe(204);
    const listed = await h.call('GET', '/files?folder=/tus/owned');
    expect((listed.body.files as Array<{ name: string; size: { bytes: number } }>).map((f) => [f.name, f.size.bytes])).toEqual([['mine.txt', 6]]);

    // An expired upload of someone else's is a 404 too, not the owner's 410.
    const stale = await create(3, { name: 'stale.txt', 'filerobot-folder': '/tus/owned' }, { key: owner });
    now += 25 * 3600_000;
    try {
      expect((await tusCall('HEAD', stale.location, { key: other })).status).toBe(404);
      expect((await tusCall('HEAD', stale.location, { key: owner })).status).toBe(410);
    } finally {
      now -= 25 * 3600_000;
    }
  });

  it('a SASS upload belongs to its template: a renewed key of it carries on, other templates and keys get 404', async () => {
    const makeTemplate = async (name: string): Promise<string> =>
      ((await h.call('POST', '/access/templates', { body: { name, permissions: ['FILE_UPLOAD'], dir_scope: '/drop/*' } })).body.template as { id: string }).id;
    const exchange = async (id: string): Promise<string> =>
      (await h.call('GET', `${h.server.url}/${h.server.token}/key/${id}`, { key: null })).body.key as string;
    const mine = await makeTemplate('tus-owner');
    const theirs = await makeTemplate('tus-other');
    const first = await exchange(mine);
    const renewed = await exchange(mine);
    const stranger = await exchange(theirs);
    const c = await create(6, { name: 'sass.txt', 'filerobot-folder': '/drop/x' }, { key: first });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect((await patch(c.location, 0, Buffer.from('abc'), { key: first })).status).toBe(204);
    for (const key of [stranger, h.server.rootKey]) {
      expect((await tusCall('HEAD', c.location, { key })).status).toBe(404);
      expect((await patch(c.location, 3, Buffer.from('XYZ'), { key })).status).toBe(404);
    }
    expect((await tusCall('HEAD', c.location, { key: renewed })).headers.get('upload-offset')).toBe('3');
    expect((await patch(c.location, 3, Buffer.from('def'), { key: renewed })).status).toBe(204);
    // The record holds no template id (a credential).
    const record = await readFile(join(h.dir, 'resumable', `${idOf(c.location)}.json`), 'utf8');
    expect(record).not.toContain(mine);
    // An API key's upload is out of reach of a SASS key, whatever its template grants.
    const api = await create(3, { name: 'api.txt', 'filerobot-folder': '/drop/x' });
    expect((await tusCall('DELETE', api.location, { key: first })).status).toBe(404);
    expect((await tusCall('HEAD', api.location)).status).toBe(200);
  });

  it('a record from before uploads were bound stays with the key that created it', async () => {
    const owner = await newKey(['FILE_UPLOAD']);
    const other = await newKey(['FILE_UPLOAD']);
    const c = await create(3, { name: 'old.txt', 'filerobot-folder': '/tus/legacy' }, { key: owner });
    const path = join(h.dir, 'resumable', `${idOf(c.location)}.json`);
    const record = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(record.owner).toBeDefined();
    delete record.owner;
    await writeFile(path, JSON.stringify(record));
    expect((await tusCall('HEAD', c.location, { key: other })).status).toBe(404);
    expect((await patch(c.location, 0, Buffer.from('abc'), { key: owner })).status).toBe(204);
  });

  it('DELETE terminates: the record and the bytes go, later requests get 404', async () => {
    const c = await create(10, { name: 'gone.txt' });
    await patch(c.location, 0, Buffer.from('12345'));
    const d = await tusCall('DELETE', c.location);
    expect(d.status).toBe(204);
    expect((await tusCall('HEAD', c.location)).status).toBe(404);
    expect((await patch(c.location, 5, Buffer.from('67890'))).status).toBe(404);
    expect((await readdir(join(h.dir, 'resumable'))).some((n) => n.startsWith(idOf(c.location)))).toBe(false);
  });

  it('the duplicate policy applies: the same content into the same folder yields the existing asset', async () => {
    const content = randomBytes(5000);
    const first = await create(content.length, { name: 'same.bin', 'filerobot-folder': '/tus/dup' });
    await uploadAll(first.location, content, 2048);
    const a = await tusCall('GET', `/json/${idOf(first.location)}`, { key: null, token: null });
    const second = await create(content.length, { name: 'same-again.bin', 'filerobot-folder': '/tus/dup' });
    await uploadAll(second.location, content, 5000);
    const b = await tusCall('GET', `/json/${idOf(second.location)}`, { key: null, token: null });
    expect((b.body.file as { uuid: string }).uuid).toBe((a.body.file as { uuid: string }).uuid);
    expect(b.body.upload).toMatchObject({ duplicate: true });
    expect(((await h.call('GET', '/files?folder=/tus/dup')).body.files as unknown[]).length).toBe(1);
  });

  it('an empty file completes at creation', async () => {
    const c = await create(0, { name: 'empty.txt', 'filerobot-folder': '/tus/empty' });
    expect(c.status).toBe(201);
    expect((await tusCall('HEAD', c.location)).headers.get('upload-offset')).toBe('0');
    const r = await tusCall('GET', `/json/${idOf(c.location)}`, { key: null, token: null });
    expect(r.body.file).toMatchObject({ name: 'empty.txt', size: { bytes: 0 }, hash: { sha1: sha1(Buffer.alloc(0)) } });
  });

  it('a body cut short keeps what arrived; the client resumes from HEAD', async () => {
    const content = randomBytes(3 * 1024 * 1024);
    const c = await create(content.length, { name: 'cut.bin', 'filerobot-folder': '/tus/cut' });
    const url = new URL(c.location);
    await new Promise<void>((ok) => {
      const req = httpRequest(url, {
        method: 'PATCH',
        headers: {
          'Tus-Resumable': '1.0.0',
          'X-Filerobot-Key': h.server.rootKey,
          'X-Filerobot-Token': h.server.token,
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Offset': '0',
          'Content-Length': content.length,
        },
        agent: false,
      });
      req.on('error', () => ok());
      req.write(content.subarray(0, 2 * 1024 * 1024), () => setTimeout(() => {
        req.destroy();
        ok();
      }, 300));
    });
    let offset = 0;
    for (let i = 0; i < 50 && offset === 0; i++) {
      offset = Number((await tusCall('HEAD', c.location)).headers.get('upload-offset'));
      if (offset === 0) await new Promise((ok) => setTimeout(ok, 50));
    }
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect((await patch(c.location, offset, content.subarray(offset))).status).toBe(204);
    const r = await tusCall('GET', `/json/${idOf(c.location)}`, { key: null, token: null });
    expect((r.body.file as { hash: { sha1: string } }).hash.sha1).toBe(sha1(content));
  });
});

describe('expiration and restarts', () => {
  it('Upload-Expires slides with each PATCH; expired uploads answer 410 and the periodic collection removes them', async () => {
    const c = await create(10, { name: 'late.txt' });
    const created = Date.parse(c.headers.get('upload-expires')!);
    now += 60_000;
    const p = await patch(c.location, 0, Buffer.from('123'));
    expect(Date.parse(p.headers.get('upload-expires')!)).toBeGreaterThan(created);
    const finished = await create(1, { name: 'fin.txt', 'filerobot-folder': '/tus/exp' });
    await patch(finished.location, 0, Buffer.from('x'));
    now += 25 * 3600_000;
    expect((await tusCall('HEAD', c.location)).status).toBe(410);
    const before = await readdir(join(h.dir, 'resumable'));
    expect(before.some((n) => n.startsWith(idOf(c.location)))).toBe(true);
    const gc = await h.server.collectGarbage();
    expect(gc.expiredUploads).toBeGreaterThanOrEqual(2);
    const after = await readdir(join(h.dir, 'resumable'));
    expect(after.some((n) => n.startsWith(idOf(c.location)) || n.startsWith(idOf(finished.location)))).toBe(false);
    expect((await tusCall('HEAD', c.location)).status).toBe(404);
    // The asset a finished upload became stays.
    expect(((await h.call('GET', '/files?folder=/tus/exp')).body.files as unknown[]).length).toBe(1);
  });

  it('an upload survives a restart (offset and metadata); the start-up sweep removes expired ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfx-tus-'));
    let clock = Date.parse('2026-03-01T10:00:00Z');
    const base = { port: 0, data: dir, rootKey: 'root', durability: 'full' as const, logLevel: 'silent' as const, clock: () => clock };
    try {
      let server = await startServer(base);
      const local = { server, dir, close: () => server.close() } as unknown as Harness;
      const content = randomBytes(70_000);
      const keep = await create(content.length, { name: 'kept.bin', 'filerobot-folder': '/restart' }, { server: local });
      const drop = await create(10, { name: 'dropped.bin' }, { server: local });
      expect((await patch(keep.location, 0, content.subarray(0, 30_000), { server: local })).status).toBe(204);
      await server.close();

      server = await startServer(base);
      (local as { server: unknown }).server = server;
      const relocated = keep.location.replace(/^http:\/\/[^/]+\/connector/, server.connectorUrl);
      const head = await tusCall('HEAD', relocated, { server: local });
      expect([head.status, head.headers.get('upload-offset'), head.headers.get('upload-length')]).toEqual([200, '30000', String(content.length)]);
      expect(head.headers.get('upload-metadata')).toContain(b64('kept.bin'));
      expect((await patch(relocated, 30_000, content.subarray(30_000), { server: local })).status).toBe(204);
      const json = await tusCall('GET', `${server.connectorUrl}/json/${idOf(keep.location)}`, { server: local, key: null, token: null });
      expect((json.body.file as { hash: { sha1: string } }).hash.sha1).toBe(sha1(content));
      await server.close();

      clock += 2 * 24 * 3600_000;
      server = await startServer(base);
      expect(server.recovered.expiredUploads).toBe(2);
      expect(existsSync(join(dir, 'resumable', `${idOf(drop.location)}.data`))).toBe(false);
      expect(await readdir(join(dir, 'resumable'))).toEqual([]);
      await server.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an empty PATCH does not push Upload-Expires back: unfinished uploads cannot be kept alive without bytes', async () => {
    const c = await create(10, { name: 'idle.txt' });
    const created = c.headers.get('upload-expires')!;
    now += 60_000;
    const idle = await patch(c.location, 0, Buffer.alloc(0));
    expect(idle.status).toBe(204);
    expect(idle.headers.get('upload-expires')).toBe(created);
    expect((await tusCall('HEAD', c.location)).headers.get('upload-expires')).toBe(created);
    // Empty PATCHes right up to the expiry do not save it.
    now = Date.parse(created) - 1000;
    expect((await patch(c.location, 0, Buffer.alloc(0))).status).toBe(204);
    now += 2000;
    expect((await patch(c.location, 0, Buffer.alloc(0))).status).toBe(410);
    // Stored bytes do push it back.
    const d = await create(10, { name: 'busy.txt' });
    now += 60_000;
    const busy = await patch(d.location, 0, Buffer.from('123'));
    expect(Date.parse(busy.headers.get('upload-expires')!)).toBe(now + 24 * 3600_000);
  });

  it('caps unfinished uploads per key and in all (429 TOO_MANY_PENDING_UPLOADS); finished, terminated or expired ones make room', async () => {
    let clock = Date.parse('2026-03-01T10:00:00Z');
    const local = await startHarness({ clock: () => clock, limits: { maxPendingResumablePerKey: 2, maxPendingResumable: 3 } });
    try {
      const keyOf = async (): Promise<string> =>
        ((await local.call('POST', '/access/keys', { body: { permissions: ['FILE_UPLOAD'] } })).body.key as { secret: string }).secret;
      const [alice, bob] = [await keyOf(), await keyOf()];
      const make = (key: string, name: string, length = 5) => create(length, { name, 'filerobot-folder': '/caps' }, { server: local, key });
      const a1 = await make(alice, 'a1.txt');
      const a2 = await make(alice, 'a2.txt');
      expect([a1.status, a2.status]).toEqual([201, 201]);
      const a3 = await make(alice, 'a3.txt');
      expect([a3.status, a3.body.code]).toEqual([429, 'TOO_MANY_PENDING_UPLOADS']);
      expect(String(a3.body.msg)).toContain('this key');
      expect(Number(a3.headers.get('retry-after'))).toBe(24 * 3600);
      // Another key still has room, up to the server's cap.
      expect((await make(bob, 'b1.txt')).status).toBe(201);
      const b2 = await make(bob, 'b2.txt');
      expect([b2.status, b2.body.code]).toEqual([429, 'TOO_MANY_PENDING_UPLOADS']);
      expect(String(b2.body.msg)).toContain('the server');
      // A finished upload no longer counts, nor a terminated one.
      expect((await patch(a1.location, 0, Buffer.from('12345'), { server: local, key: alice })).status).toBe(204);
      expect((await make(bob, 'b2.txt')).status).toBe(201);
      expect((await make(alice, 'a3.txt')).status).toBe(429);
      expect((await tusCall('DELETE', a2.location, { server: local, key: alice })).status).toBe(204);
      expect((await make(alice, 'a3.txt')).status).toBe(201);
      // Nor an expired one.
      clock += 25 * 3600_000;
      expect((await make(alice, 'a4.txt')).status).toBe(201);
      expect((await make(bob, 'b3.txt')).status).toBe(201);
    } finally {
      await local.close();
    }
  });

  it("counts a SASS key's unfinished uploads against its template: a renewed key brings no fresh allowance", async () => {
    const local = await startHarness({ limits: { maxPendingResumablePerKey: 2, maxPendingResumable: 100 } });
    try {
      const made = await local.call('POST', '/access/templates', { body: { name: 'browser', permissions: ['FILE_UPLOAD'] } });
      const id = (made.body.template as { id: string }).id;
      const exchange = async (): Promise<string> => (await local.call('GET', `${local.server.url}/${local.server.token}/key/${id}`, { key: null })).body.key as string;
      const make = (key: string, name: string) => create(5, { name, 'filerobot-folder': '/caps' }, { server: local, key });
      const first = await exchange();
      expect([(await make(first, 's1.txt')).status, (await make(first, 's2.txt')).status]).toEqual([201, 201]);
      const renewed = await make(await exchange(), 's3.txt');
      expect([renewed.status, renewed.body.code]).toEqual([429, 'TOO_MANY_PENDING_UPLOADS']);
      expect(String(renewed.body.msg)).toContain('security template');
    } finally {
      await local.close();
    }
  });

  it('a crash after the bytes moved into blobs/ but before the row committed: the blob is kept and the upload completes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfx-tus-window-'));
    const base = { port: 0, data: dir, rootKey: 'root', durability: 'relaxed' as const, logLevel: 'silent' as const };
    try {
      let server = await startServer(base);
      const local = { server, dir, close: () => server.close() } as unknown as Harness;
      const c = await create(6, { name: 'c.bin', 'filerobot-folder': '/crash' }, { server: local });
      expect((await patch(c.location, 0, Buffer.from('abcde'), { server: local })).status).toBe(204);
      await server.close();
      // The state a kill leaves between the rename into blobs/ and the row's transaction.
      const id = idOf(c.location);
      const records = join(dir, 'resumable');
      const record = JSON.parse(await readFile(join(records, `${id}.json`), 'utf8')) as { blobId: string } & Record<string, unknown>;
      await writeFile(join(records, `${id}.data`), 'abcdef');
      Object.assign(record, { offset: 6, committing: true, sha1: sha1(Buffer.from('abcdef')) });
      await writeFile(join(records, `${id}.json`), JSON.stringify(record));
      await mkdir(join(dir, 'blobs', record.blobId.slice(0, 2)), { recursive: true });
      await rename(join(records, `${id}.data`), join(dir, 'blobs', record.blobId.slice(0, 2), record.blobId));

      server = await startServer(base);
      (local as { server: unknown }).server = server;
      expect(server.recovered.orphans).toBe(0);
      const relocated = c.location.replace(/^http:\/\/[^/]+\/connector/, server.connectorUrl);
      const head = await tusCall('HEAD', relocated, { server: local });
      expect([head.status, head.headers.get('upload-offset')]).toEqual([200, '6']);
      const json = await tusCall('GET', `${server.connectorUrl}/json/${id}`, { server: local, key: null, token: null });
      expect(json.status, JSON.stringify(json.body)).toBe(200);
      const file = json.body.file as { uuid: string; hash: { sha1: string } };
      expect(file.hash.sha1).toBe(sha1(Buffer.from('abcdef')));
      const download = await fetch(`${server.url}/${server.token}/v5/get/${file.uuid}/download`, { headers: { 'X-Filerobot-Key': 'root' } });
      expect(Buffer.from(await download.arrayBuffer()).toString()).toBe('abcdef');
      await server.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('HEAD reports an upload whose commit failed for good (400 with its code), every time', async () => {
    const c = await create(3, { name: 'gone.bin', 'filerobot-folder': '/tus/failed' });
    expect((await patch(c.location, 0, Buffer.from('ab'))).status).toBe(204);
    // Its bytes are lost (neither in resumable/ nor in blobs/): the commit cannot succeed.
    const id = idOf(c.location);
    const path = join(h.dir, 'resumable', `${id}.json`);
    const record = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    Object.assign(record, { offset: 3, committing: true, sha1: sha1(Buffer.from('abc')) });
    await writeFile(path, JSON.stringify(record));
    await rm(join(h.dir, 'resumable', `${id}.data`));
    for (let i = 0; i < 2; i++) {
      const head = await tusCall('HEAD', c.location);
      expect([head.status, head.headers.get('upload-offset')]).toEqual([400, '3']);
    }
    const json = await tusCall('GET', `${h.server.connectorUrl}/json/${id}`, { key: null, token: null });
    expect([json.status, json.body.code]).toEqual([400, 'COMMIT_FAILED']);
  });
});

// ---- SIGKILL ------------------------------------------------------------------------------

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../cli/bin/sfx.js');
const KEY = 'tus-crash-root-key';
const children = new Set<ChildProcess>();
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children) {
    child.kill('SIGKILL');
    await new Promise((ok) => (child.exitCode !== null || child.signalCode !== null ? ok(null) : child.once('exit', ok)));
  }
  children.clear();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function spawnServer(data: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [BIN, 'server', '--port', '0', '--data', data, '--root-key', KEY, '--durability', 'full', '--log', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no start within 15 s: ${err}`)), 15_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const match = /sfx server listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        ok({ proc, url: match[1]! });
      }
    });
    proc.once('exit', (code) => fail(new Error(`exited with ${code}: ${err}`)));
  });
}

async function killHard(proc: ChildProcess): Promise<void> {
  proc.kill('SIGKILL');
  if (proc.exitCode === null && proc.signalCode === null) await new Promise((ok) => proc.once('exit', ok));
  children.delete(proc);
}

describe('crash safety (SIGKILL)', () => {
  it('acknowledged offsets survive kill -9 mid-PATCH; the upload resumes and becomes exactly one asset', async () => {
    const data = await mkdtemp(join(tmpdir(), 'sfx-tus-crash-'));
    dirs.push(data);
    const MB = 1024 * 1024;
    const content = randomBytes(8 * MB);
    const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
      'Tus-Resumable': '1.0.0',
      'X-Filerobot-Key': KEY,
      'X-Filerobot-Token': 'demo',
      ...extra,
    });
    let child = await spawnServer(data);
    const created = await fetch(`${child.url}/connector/files`, {
      method: 'POST',
      headers: headers({ 'Upload-Length': String(content.length), 'Upload-Metadata': metadata({ name: 'crash.bin', 'filerobot-folder': '/crash' }) }),
    });
    expect(created.status).toBe(201);
    const id = idOf(created.headers.get('location')!);
    let acknowledged = 0;
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${child.url}/connector/files/${id}`, {
        method: 'PATCH',
        headers: headers({ 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(acknowledged) }),
        body: content.subarray(acknowledged, acknowledged + MB),
      });
      expect(r.status).toBe(204);
      acknowledged = Number(r.headers.get('upload-offset'));
    }
    expect(acknowledged).toBe(3 * MB);

    // A fourth PATCH is half sent when the server dies.
    const req = httpRequest(`${child.url}/connector/files/${id}`, {
      method: 'PATCH',
      headers: headers({ 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(acknowledged), 'Content-Length': String(2 * MB) }),
      agent: false,
    });
    req.on('error', () => undefined);
    await new Promise<void>((ok) => req.write(content.subarray(acknowledged, acknowledged + MB), () => ok()));
    await new Promise((ok) => setTimeout(ok, 200));
    await killHard(child.proc);
    req.destroy();

    child = await spawnServer(data);
    const head = await fetch(`${child.url}/connector/files/${id}`, { method: 'HEAD', headers: headers() });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThanOrEqual(acknowledged);
    expect(offset).toBeLessThanOrEqual(4 * MB);
    const rest = await fetch(`${child.url}/connector/files/${id}`, {
      method: 'PATCH',
      headers: headers({ 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset) }),
      body: content.subarray(offset),
    });
    expect(rest.status).toBe(204);
    expect(rest.headers.get('upload-offset')).toBe(String(content.length));
    const json = (await (await fetch(`${child.url}/connector/json/${id}`)).json()) as { status: string; file: { uuid: string; hash: { sha1: string } } };
    expect(json.status).toBe('success');
    expect(json.file.hash.sha1).toBe(sha1(content));
    const listed = (await (await fetch(`${child.url}/demo/v5/files?folder=/crash`, { headers: { 'X-Filerobot-Key': KEY } })).json()) as { files: Array<{ uuid: string }> };
    expect(listed.files.map((f) => f.uuid)).toEqual([json.file.uuid]);
    const download = await fetch(`${child.url}/demo/v5/get/${json.file.uuid}/download`, { headers: { 'X-Filerobot-Key': KEY } });
    expect(sha1(Buffer.from(await download.arrayBuffer()))).toBe(sha1(content));
  });
});
