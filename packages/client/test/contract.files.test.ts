import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  type Filerobot,
  type FileObject,
} from '../src/index.js';
import { startFixture, type Fixture } from './server-fixture.js';

const sha1 = (data: Buffer | string): string => createHash('sha1').update(data).digest('hex');

let fx: Fixture;
let client: Filerobot;
let origin: Server;
let originUrl: string;

beforeAll(async () => {
  fx = await startFixture({ allowPrivateUrlImports: true, limits: { maxUploadBytes: 2 * 1024 * 1024 } });
  client = fx.client();
  // A small origin for URL imports: /ok/<name> serves bytes derived from the name, anything else 404s.
  origin = createServer((req, res) => {
    if (req.url?.startsWith('/ok/')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`remote ${req.url}`);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await fx.close();
  await new Promise((resolve) => origin.close(resolve));
});

describe('files: uploads', () => {
  it('uploads from a path with meta, tags and a product link', async () => {
    const path = join(fx.dir, 'hero.txt');
    await writeFile(path, 'hero bytes');
    const { file, duplicate } = await client.files.upload(path, {
      folder: '/site',
      meta: { title: { en: 'Hero' } },
      tags: ['Summer'],
      product: { ref: 'SKU-1', position: 2 },
    });
    expect(duplicate).toBe(false);
    expect(file).toMatchObject({
      name: 'hero.txt',
      folder: { name: expect.stringMatching(/^\/site\/?$/) },
      meta: { title: { en: 'Hero' } },
      product: { ref: 'SKU-1', position: 2 },
    });
    expect(file.hash?.sha1).toBe(sha1('hero bytes'));
    const fetched = await client.files.get(file.uuid);
    expect(
      Object.values(fetched.tags ?? {})
        .flat()
        .map((t) => t.label),
    ).toEqual(['Summer']);
  });

  it('uploads bytes and streams, and reports progress', async () => {
    const progress: number[] = [];
    const fromBytes = await client.files.upload(Buffer.from('buffer content'), {
      name: 'b.txt',
      folder: '/sources',
      onProgress: (p) => progress.push(p.loaded),
    });
    expect(progress.at(-1)).toBe('buffer content'.length);
    const fromStream = await client.files.upload(
      Readable.from([Buffer.from('stream '), Buffer.from('content')]),
      { name: 's.txt', folder: '/sources' },
    );
    expect(fromBytes.file.hash?.sha1).toBe(sha1('buffer content'));
    expect(fromStream.file.hash?.sha1).toBe(sha1('stream content'));
  });

  it('uses the streamed PUT above the threshold and still applies meta and tags', async () => {
    const content = Buffer.alloc(300_000, 7);
    const { file } = await client.files.upload(content, {
      name: 'big.bin',
      folder: '/big',
      streamThreshold: 100_000,
      meta: { source: 'stream' },
      tags: ['Large'],
    });
    expect(file.hash?.sha1).toBe(sha1(content));
    expect(file.meta).toMatchObject({ source: 'stream' });
    expect(
      Object.values(file.tags ?? {})
        .flat()
        .map((t) => t.label),
    ).toContain('Large');
  });

  it('resolves a duplicate upload to the existing asset, and overwrite keeps the uuid', async () => {
    const first = await client.files.upload(Buffer.from('same'), { name: 'dup.txt', folder: '/dups' });
    const again = await client.files.upload(Buffer.from('same'), { name: 'other-name.txt', folder: '/dups' });
    expect(again).toEqual({ file: expect.objectContaining({ uuid: first.file.uuid }), duplicate: true });
    const replaced = await client.files.upload(Buffer.from('new content'), {
      name: 'dup.txt',
      folder: '/dups',
      overwrite: true,
    });
    expect(replaced.file.uuid).toBe(first.file.uuid);
    expect(replaced.file.hash?.sha1).toBe(sha1('new content'));
  });

  it('uploads base64', async () => {
    const { file } = await client.files.uploadBase64(Buffer.from('b64 data'), {
      name: 'x.txt',
      folder: '/b64',
      meta: { k: 'v' },
    });
    expect(file.hash?.sha1).toBe(sha1('b64 data'));
    expect(file.meta).toMatchObject({ k: 'v' });
  });

  it('imports URLs in batches of 20 and reports the ones that failed', async () => {
    const urls = Array.from({ length: 23 }, (_, i) => ({
      url: `${originUrl}/ok/img-${i}.txt`,
      meta: { n: String(i) },
    }));
    const result = await client.files.importUrls([...urls, `${originUrl}/missing.txt`], {
      folder: '/imports',
    });
    expect(result.files).toHaveLength(23);
    expect(result.errors).toEqual([expect.objectContaining({ source: `${originUrl}/missing.txt` })]);
    const listed = await client.files.list({ folder: '/imports' }).toArray(100);
    expect(listed).toHaveLength(23);
    expect(result.duplicates).toEqual([]);
    const again = await client.files.importUrls([urls[0]!], { folder: '/imports' });
    expect(again.duplicates).toEqual([again.files[0]!.uuid]);
    expect(again.files[0]!.uuid).toBe(listed.find((f) => f.meta?.n === '0')?.uuid);
  });

  it('reports a batch in which no URL was imported item by item (duplicates and fetch failures) instead of throwing', async () => {
    const urls = [`${originUrl}/ok/again-one.txt`, `${originUrl}/ok/again-two.txt`];
    const first = await client.files.importUrls(urls, { folder: '/imports-again' });
    expect(first.files).toHaveLength(2);
    const again = await client.files.importUrls(urls, { folder: '/imports-again' });
    expect(again.errors).toEqual([]);
    expect(new Set(again.duplicates)).toEqual(new Set(first.files.map((f) => f.uuid)));
    expect(again.files.map((f) => f.uuid).sort()).toEqual(first.files.map((f) => f.uuid).sort());
    const missing = [`${originUrl}/missing-a.txt`, `${originUrl}/missing-b.txt`];
    const failed = await client.files.importUrls(missing, { folder: '/imports-again' });
    expect(failed.files).toEqual([]);
    expect(failed.errors.map((e) => e.source)).toEqual(missing);
  });

  it('refuses an upload over the size limit with a PayloadTooLargeError', async () => {
    await expect(
      client.files.upload(Buffer.alloc(3 * 1024 * 1024), { name: 'huge.bin', folder: '/limits' }),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await client.files.list({ folder: '/limits' })).toMatchObject({ files: [] });
  });

  it('bulk-uploads with bounded concurrency, progress and per-item results', async () => {
    const items = Array.from({ length: 12 }, (_, i) => ({
      source: Buffer.from(`bulk ${i}`),
      name: `bulk-${i}.txt`,
    }));
    items.push({ source: Buffer.from('bulk 0'), name: 'bulk-again.txt' });
    const seen: number[] = [];
    const report = await client.files.uploadMany([...items, join(fx.dir, 'does-not-exist.jpg')], {
      folder: '/bulk',
      concurrency: 3,
      onProgress: (p) => seen.push(p.done),
    });
    expect(report).toMatchObject({ total: 14, done: 14, failed: 1, duplicates: 1 });
    expect(seen).toHaveLength(14);
    expect(report.results[12]).toMatchObject({ ok: true, duplicate: true });
    expect(report.results[13]).toMatchObject({
      ok: false,
      source: expect.stringContaining('does-not-exist.jpg'),
    });
    expect((await client.files.stats({ folder: '/bulk' })).approx_files_count).toBe(12);
  });
});

describe('files: reading and changing', () => {
  let files: FileObject[];
  beforeAll(async () => {
    const report = await client.files.uploadMany(
      Array.from({ length: 9 }, (_, i) => ({
        source: Buffer.from(`page ${i}`),
        name: `p-${i}.txt`,
        meta: { idx: i },
      })),
      { folder: '/paging/deep', concurrency: 2 },
    );
    files = report.results.flatMap((r) => (r.ok ? [r.file] : []));
  });

  it('awaits one page and iterates all pages', async () => {
    const page = await client.files.list({ folder: '/paging', recursive: true, limit: 4 });
    expect(page.files).toHaveLength(4);
    const all = await client.files.list({ folder: '/paging', recursive: true, pageSize: 2 }).toArray(100);
    expect(new Set(all.map((f) => f.uuid))).toEqual(new Set(files.map((f) => f.uuid)));
    expect(
      await client.files.list({ folder: '/paging', recursive: true, q: 'idx:3' }).toArray(10),
    ).toHaveLength(1);
  });

  it('counts with stats', async () => {
    expect(await client.files.stats({ folder: '/paging', recursive: true })).toMatchObject({
      approx_files_count: 9,
    });
  });

  it('renames, and a taken name is a ConflictError', async () => {
    const renamed = await client.files.rename(files[0]!.uuid, 'renamed.txt');
    expect(renamed.name).toBe('renamed.txt');
    const error = await client.files.rename(files[1]!.uuid, 'renamed.txt').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ status: 409, code: 'E801_ALREADY_EXIST' });
  });

  it('moves one and many', async () => {
    const target = await client.folders.ensure('/paging/moved');
    const moved = await client.files.move(files[2]!.uuid, target.uuid);
    expect(moved[0]).toMatchObject({ uuid: files[2]!.uuid, folder: { uuid: target.uuid } });
    const many = await client.files.moveMany([files[3]!.uuid, files[4]!.uuid], '/paging/moved-many');
    expect(many.map((f) => f.folder?.name.replace(/\/$/, ''))).toEqual([
      '/paging/moved-many',
      '/paging/moved-many',
    ]);
  });

  it('updates metadata with each method', async () => {
    const uuid = files[5]!.uuid;
    await client.meta.update(uuid, { colour: 'red' });
    await client.meta.update(uuid, { size: 'L' }, { method: 'put' });
    await client.meta.update(uuid, { colour: null }, { method: 'v4' });
    expect((await client.files.get(uuid)).meta).toEqual({ idx: 5, size: 'L' });
  });

  it('sets tags and lists the dictionary', async () => {
    const uuid = files[6]!.uuid;
    const tagged = await client.tags.set(uuid, { add: ['Red', 'Blue'] });
    const kept = Object.values(tagged.tags ?? {})
      .flat()
      .filter((t) => t.label === 'Red')
      .map((t) => t.sid);
    const after = await client.tags.set(uuid, { existing: kept, add: ['Green'] });
    expect(
      Object.values(after.tags ?? {})
        .flat()
        .map((t) => t.label)
        .sort(),
    ).toEqual(['Green', 'Red']);
    const added = await client.tags.add(after, ['Yellow']);
    expect(Object.values(added.tags ?? {}).flat()).toHaveLength(3);
    const created = await client.tags.create({ names: { en: 'Autumn' } });
    expect((await client.tags.list()).map((t) => t.sid)).toContain(created.sid);
  });

  it('downloads to a path and to a stream, checking the sha1', async () => {
    const file = await client.files.get(files[7]!.uuid);
    const path = join(fx.dir, 'download.txt');
    expect(await client.files.download(file, path)).toEqual({ bytes: 6, sha1: sha1('page 7') });
    expect(await readFile(path, 'utf8')).toBe('page 7');
    const chunks: Buffer[] = [];
    await client.files.download(
      file.uuid,
      new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }),
    );
    expect(Buffer.concat(chunks).toString()).toBe('page 7');
    const wrong = { ...file, hash: { sha1: '0'.repeat(40) } };
    await expect(client.files.download(wrong, join(fx.dir, 'bad.txt'))).rejects.toThrow(/corrupt/);
    await expect(readFile(join(fx.dir, 'bad.txt'))).rejects.toThrow();
    await expect(readFile(join(fx.dir, 'bad.txt.part'))).rejects.toThrow();
  });

  it('gives a permalink that redirects to the CDN', async () => {
    const response = await fetch(client.files.permalink(files[8]!.uuid), { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(await (await fetch(response.headers.get('location')!)).text()).toBe('page 8');
  });

  it('deletes one and many; then the file is a NotFoundError', async () => {
    await client.files.delete(files[0]!.uuid);
    await client.files.deleteMany([files[1]!.uuid, files[2]!.uuid]);
    for (const file of files.slice(0, 3))
      await expect(client.files.get(file.uuid)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('works the same over v4 paths', async () => {
    const v4 = fx.client({ apiVersion: 'v4' });
    const page = await v4.files.list({ folder: '/paging', recursive: true });
    expect(page.files.length).toBeGreaterThan(0);
    expect((await v4.files.get(page.files[0]!.uuid)).uuid).toBe(page.files[0]!.uuid);
  });
});

describe('folders', () => {
  it('creates, ensures, reads, lists, walks, renames, moves and deletes', async () => {
    const a = await client.folders.create('/tree/a');
    expect(a).toMatchObject({ path: expect.stringMatching(/^\/tree\/a\/?$/) });
    const clash = await client.folders.create('/tree/a').catch((e: unknown) => e);
    expect(clash).toBeInstanceOf(ConflictError);
    expect(clash).toMatchObject({ status: 403, code: 'E801_ALREADY_EXIST' });
    expect((await client.folders.ensure('/tree/a')).uuid).toBe(a.uuid);
    const b = await client.folders.ensure('tree/b/');
    await client.folders.create('/tree/a/x');
    expect((await client.folders.get(a.uuid)).uuid).toBe(a.uuid);
    expect((await client.folders.list({ folder: '/tree' }).toArray(10)).map((f) => f.name).sort()).toEqual([
      'a',
      'b',
    ]);
    const walked = [];
    for await (const folder of client.folders.walk('/tree')) walked.push(folder.path.replace(/\/$/, ''));
    expect(walked).toEqual(['/tree/a', '/tree/a/x', '/tree/b']);
    const renamed = await client.folders.rename(b.uuid, 'bee');
    expect(renamed.path.replace(/\/$/, '')).toBe('/tree/bee');
    await client.folders.move(renamed.uuid, a.uuid);
    expect((await client.folders.get(b.uuid)).path.replace(/\/$/, '')).toBe('/tree/a/bee');
    const c = await client.folders.create('/tree/c');
    await client.folders.moveMany([c.uuid], '/tree/a');
    expect((await client.folders.get(c.uuid)).path.replace(/\/$/, '')).toBe('/tree/a/c');
    await client.folders.delete(a.uuid);
    await expect(client.folders.get(c.uuid)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('replaces, sets and deletes folder metadata', async () => {
    const folder = await client.folders.ensure('/meta-folder');
    expect(await client.folders.replaceMeta(folder.uuid, { a: '1', b: '2' })).toEqual({ a: '1', b: '2' });
    expect(await client.folders.setMetaValue(folder.uuid, 'c', 'three')).toMatchObject({ c: 'three' });
    await client.folders.deleteMeta(folder.uuid);
    expect((await client.folders.get(folder.uuid)).meta ?? {}).toEqual({});
  });
});

describe('access and auth errors', () => {
  it('manages keys; a narrow key gets PermissionDeniedError, a deactivated one AuthenticationError', async () => {
    const key = await client.access.keys.create({ description: 'reader', permissions: ['OBJECTS_LIST'] });
    expect(key.secret).toEqual(expect.any(String));
    expect((await client.access.keys.list()).map((k) => k.uuid)).toContain(key.uuid);
    expect((await client.access.keys.get(key.uuid)).secret).toBeUndefined();
    const reader = fx.client({ apiKey: key.secret! });
    await expect(reader.files.list()).resolves.toBeDefined();
    const denied = await reader.folders.create('/nope').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(String((denied as Error).message)).toContain('DIR_CREATE');
    await client.access.keys.update(key.uuid, { active: false });
    await expect(reader.files.list()).rejects.toBeInstanceOf(AuthenticationError);
    expect(await reader.check()).toMatchObject({ ok: false, status: 401 });
    await client.access.keys.delete(key.uuid);
    await expect(client.access.keys.get(key.uuid)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('manages security templates and exchanges one for a SASS key', async () => {
    const template = await client.access.templates.create({ name: 'widget', permissions: ['OBJECTS_LIST'], validity_seconds: 60 });
    expect(template.id).toMatch(/^SECU_/);
    expect((await client.access.templates.list()).map((t) => t.id)).toContain(template.id);
    expect((await client.access.templates.get(template.id)).name).toBe('widget');
    expect((await client.access.templates.update(template.id, { name: 'widget-2' })).name).toBe('widget-2');
    const sass = await client.access.exchange(template.id);
    expect(sass).toMatch(/^SASS__/);
    await expect(fx.client({ apiKey: sass }).files.list()).resolves.toBeDefined();
    await client.access.templates.delete(template.id);
    await expect(client.access.exchange(template.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a wrong key is an AuthenticationError that does not echo the key', async () => {
    const wrong = fx.client({ apiKey: 'definitely-wrong-secret' });
    const error = await wrong.files.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(JSON.stringify(error) + String(error)).not.toContain('definitely-wrong-secret');
    expect(await client.check()).toEqual({ ok: true });
  });
});
