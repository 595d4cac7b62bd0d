import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from './harness.js';

const sha1 = (data: string | Buffer): string => createHash('sha1').update(data).digest('hex');
type FileObject = { uuid: string; name: string; size: { bytes: number; pretty: string }; hash: { sha1: string }; meta: Record<string, unknown>;
  url: { cdn: string; public: string; permalink: string; path: string }; folder: { uuid: string; name: string }; tags: Record<string, Array<{ label: string }>> };

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('uploads', () => {
  it('multipart upload creates the folder and replies with the full file object', async () => {
    const reply = await h.upload('/up/new', 'hello.txt', 'hello world', { 'meta[file]': '{"title":{"en":"Hello"}}', 'tags[file]': '["Greeting"]' });
    expect(reply.status).toBe('success');
    const file = reply.file as FileObject;
    expect(file.name).toBe('hello.txt');
    expect(file.size).toEqual({ bytes: 11, pretty: '11 B' });
    expect(file.hash.sha1).toBe(sha1('hello world'));
    expect(file.meta).toEqual({ title: { en: 'Hello' } });
    expect(file.tags.en?.map((t) => t.label)).toEqual(['Greeting']);
    expect(file.folder.name).toBe('/up/new');
    expect(file.url.path).toBe('/up/new/hello.txt');
    const cdn = await fetch(file.url.cdn);
    expect(cdn.status).toBe(200);
    expect(await cdn.text()).toBe('hello world');
    const folders = await h.call('GET', '/folders?folder=/up');
    expect((folders.body.folders as Array<{ path: string }>).map((f) => f.path)).toEqual(['/up/new']);
  });

  it('several files in one request reply with "files"', async () => {
    const form = new FormData();
    form.append('meta[a.txt]', '{"k":"A"}');
    form.append('files[]', new Blob(['aaa']), 'a.txt');
    form.append('files[]', new Blob(['bbb']), 'b.txt');
    const response = await fetch(`${h.api()}/files?folder=/multi`, { method: 'POST', headers: { 'X-Filerobot-Key': h.server.rootKey }, body: form });
    const body = (await response.json()) as { files: FileObject[] };
    expect(body.files.map((f) => [f.name, f.meta])).toEqual([['a.txt', { k: 'A' }], ['b.txt', {}]]);
  });

  it('identical content in the same folder answers SAME_ASSET_EXISTS_SKIP_UPLOAD with the existing uuid', async () => {
    const first = (await h.upload('/dup', 'one.txt', 'same bytes')).file as FileObject;
    const second = await h.upload('/dup', 'two.txt', 'same bytes');
    expect(second).toMatchObject({ status: 'error', code: 'SAME_ASSET_EXISTS_SKIP_UPLOAD', existing_file_uuid: first.uuid });
    const list = await h.call('GET', '/files?folder=/dup');
    expect((list.body.files as FileObject[]).length).toBe(1);
  });

  it('a taken name gets a suffix, and overwrite=1 replaces the bytes under the same uuid', async () => {
    const first = (await h.upload('/clash', 'pic.txt', 'v1')).file as FileObject;
    const second = (await h.upload('/clash', 'pic.txt', 'v2')).file as FileObject;
    expect(second.name).toMatch(/^pic-[A-Za-z0-9]{8}\.txt$/);
    const form = new FormData();
    form.append('file', new Blob(['v3']), 'pic.txt');
    const reply = (await (await fetch(`${h.api()}/files?folder=/clash&overwrite=1`, { method: 'POST', headers: { 'X-Filerobot-Key': h.server.rootKey }, body: form })).json()) as { file: FileObject & { overwrite: boolean } };
    expect(reply.file.uuid).toBe(first.uuid);
    expect(reply.file.overwrite).toBe(true);
    expect(await (await fetch(reply.file.url.public)).text()).toBe('v3');
  });

  it('base64 upload with a path in the name', async () => {
    const r = await h.call('POST', '/files?folder=/b64', { body: { name: 'sub/x.txt', data: Buffer.from('decoded').toString('base64'), postactions: 'decode_base64', meta: { a: 1 } } });
    expect(r.status).toBe(200);
    const file = r.body.file as FileObject;
    expect(file.url.path).toBe('/b64/sub/x.txt');
    expect(file.hash.sha1).toBe(sha1('decoded'));
  });

  it('streamed PUT upload', async () => {
    const data = Buffer.alloc(300_000, 7);
    const response = await fetch(`${h.api('v4')}/files?folder=/stream&filename=big.bin`, {
      method: 'PUT', headers: { 'X-Filerobot-Key': h.server.rootKey, 'Content-Type': 'application/octet-stream' }, body: data,
    });
    const body = (await response.json()) as { file: FileObject };
    expect(body.file.size.bytes).toBe(300_000);
    expect(body.file.hash.sha1).toBe(sha1(data));
  });

  it('URL imports: more than 20 URLs are refused; private addresses are refused per item without a crash', async () => {
    const many = await h.call('POST', '/files', { body: { files_urls: Array.from({ length: 21 }, (_, i) => ({ url: `http://example.com/${i}` })) } });
    expect(many.status).toBe(400);
    expect(many.body.code).toBe('TOO_MANY_URLS');
    const local = await h.call('POST', '/files', { body: { files_urls: [{ url: `${h.server.url}/x.jpg` }, { url: 'not a url' }] } });
    expect(local.status).toBe(400);
    const errors = local.body.errors as Array<{ code: string }>;
    expect(errors.map((e) => e.code).sort()).toEqual(['INVALID_URL', 'URL_NOT_ALLOWED']);
  });

  it('bad input is a 4xx that changes nothing', async () => {
    const before = (await h.call('GET', '/files?recursive=1&limit=1')).body.info as { total_files_count: number };
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/files', '{bad json', 400],
      ['POST', '/files?folder=/a/../b', { name: 'x.txt', data: 'eA==', postactions: 'decode_base64' }, 400],
      ['POST', '/files', { name: 'a\u0000b.txt', data: 'eA==', postactions: 'decode_base64' }, 400],
      ['POST', '/files', { name: 'x.txt', data: '***', postactions: 'decode_base64' }, 400],
      ['GET', '/files/not-a-uuid', undefined, 400],
      ['GET', '/files/6f1c1b1e-0000-4000-8000-000000000000', undefined, 404],
      ['GET', '/files?limit=0', undefined, 400],
      ['GET', '/files?limit=4001', undefined, 400],
      ['GET', '/files?q=%22unclosed', undefined, 400],
      ['GET', '/files?sort=bogus:asc', undefined, 400],
      ['POST', '/folders', { name: '/x/\u0007bell' }, 400],
      ['POST', '/folders', { name: '/x/..' }, 400],
    ];
    for (const [method, path, body, status] of cases) {
      const r = await h.call(method, path, { body });
      expect({ path, status: r.status, envelope: r.body.status }).toEqual({ path, status, envelope: 'error' });
      expect(typeof r.body.code).toBe('string');
      expect(String(r.body.msg).length).toBeGreaterThan(5);
    }
    const big = await h.call('PATCH', `/files/6f1c1b1e-0000-4000-8000-000000000000`, { body: { name: 'x'.repeat(2 * 1024 * 1024) } });
    expect(big.status).toBe(413);
    const after = (await h.call('GET', '/files?recursive=1&limit=1')).body.info as { total_files_count: number };
    expect(after.total_files_count).toBe(before.total_files_count);
  });
});

describe('file operations', () => {
  it('rename, 409 on a clash (also onto its own name), move, meta, tags, delete', async () => {
    const a = (await h.upload('/ops', 'a.txt', 'A')).file as FileObject;
    const b = (await h.upload('/ops', 'b.txt', 'B')).file as FileObject;
    const renamed = await h.call('PATCH', `/files/${a.uuid}`, { body: { name: 'c.txt' } });
    expect(renamed.body).toMatchObject({ action: 'file_renamed', file: { name: 'c.txt' } });
    expect((await h.call('PATCH', `/files/${a.uuid}`, { body: { name: 'b.txt' } })).body.code).toBe('E801_ALREADY_EXIST');
    expect((await h.call('PATCH', `/files/${a.uuid}`, { body: { name: 'c.txt' } })).status).toBe(409);

    const moved = await h.call('POST', '/files/move', { body: { files_uuids: [a.uuid, b.uuid], new_folder_name: '/ops/archive' } });
    expect(moved.body.action).toBe('files_moved');
    const listed = await h.call('GET', '/files?folder=/ops/archive&sort=name:asc');
    expect((listed.body.files as FileObject[]).map((f) => f.name)).toEqual(['b.txt', 'c.txt']);

    await h.call('PATCH', `/file/${a.uuid}/meta`, { body: { meta: { title: { en: 'T' }, color: 'red' } } });
    const meta = await h.call('PUT', `/file/${a.uuid}/meta`, { body: { meta: { color: null, fit: 'L' } }, version: 'v4' });
    expect(meta.body.meta).toEqual({ title: { en: 'T' }, fit: 'L' });

    const tagged = await h.call('PUT', `/file/${a.uuid}/tags`, { body: { lang: 'en', existing_tags: [], new_tags: ['Summer', 'Beach'] } });
    const tags = (tagged.body.file as FileObject).tags.en!;
    expect(tags.map((t) => t.label)).toEqual(['Summer', 'Beach']);
    const dictionary = await h.call('GET', '/tags');
    expect((dictionary.body.tags as Array<{ slug: string }>).map((t) => t.slug)).toEqual(expect.arrayContaining(['summer', 'beach']));
    const search = await h.call('GET', '/files?recursive=1&q=%23summer');
    expect((search.body.files as FileObject[]).map((f) => f.uuid)).toEqual([a.uuid]);
    const byMeta = await h.call('GET', '/files?recursive=1&q=fit:L');
    expect((byMeta.body.files as FileObject[]).map((f) => f.uuid)).toEqual([a.uuid]);

    expect((await h.call('DELETE', `/files/${b.uuid}`)).body.action).toBe('file_deleted');
    expect((await h.call('GET', `/files/${b.uuid}`)).status).toBe(404);
    expect((await fetch(`${h.server.url}/${h.server.token}/cdn/ops/archive/b.txt`)).status).toBe(404);
    const many = await h.call('DELETE', '/files', { body: { files_uuids: [a.uuid, b.uuid] } });
    expect(many.body).toMatchObject({ action: 'files_deleted', files_uuids: [a.uuid], not_found_uuids: [b.uuid] });
  });

  it('paginates with limit and offset over every file exactly once', async () => {
    for (let i = 0; i < 7; i++) await h.upload('/page', `f${i}.txt`, `content ${i}`);
    const seen: string[] = [];
    for (let offset = 0; ; offset += 3) {
      const page = (await h.call('GET', `/files?folder=/page&limit=3&offset=${offset}&order=name,asc`)).body.files as FileObject[];
      seen.push(...page.map((f) => f.name));
      if (page.length < 3) break;
    }
    expect(seen).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', 'f5.txt', 'f6.txt']);
    const stats = await h.call('GET', '/files/stats?folder=/page');
    expect(stats.body.stats).toMatchObject({ approx_files_count: 7 });
  });

  it('v4 and v5 differ in visibility shape and permalink', async () => {
    const file = (await h.upload('/ver', 'v.txt', 'ver')).file as FileObject;
    const v4 = (await h.call('GET', `/files/${file.uuid}`, { version: 'v4' })).body.file as Record<string, unknown> & FileObject;
    const v5 = (await h.call('GET', `/files/${file.uuid}`)).body.file as Record<string, unknown> & FileObject;
    expect(v4.visibility).toHaveProperty('value');
    expect(v5.visibility).toHaveProperty('in_dam');
    expect(v4.url.permalink).toContain('/v4/get/');
    const redirect = await fetch(v5.url.permalink, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(v5.url.cdn);
  });
});

describe('folders', () => {
  it('create, 403 E801_ALREADY_EXIST on existing (as the real API), rename and move carry descendants, delete is recursive', async () => {
    const created = await h.call('POST', '/folders', { body: { name: '/tree/a/b' } });
    expect(created.body.action).toBe('folder_created');
    const again = await h.call('POST', '/folders', { body: { name: '/tree/a/b' } });
    expect([again.status, again.body.code]).toEqual([403, 'E801_ALREADY_EXIST']);
    await h.upload('/tree/a/b', 'leaf.txt', 'leaf');
    const a = (await h.call('GET', '/folders?folder=/tree')).body.folders as Array<{ uuid: string; path: string; count: { files_recursive: number } }>;
    expect(a[0]).toMatchObject({ path: '/tree/a', count: { files_recursive: 1 } });
    await h.call('PATCH', `/folders/${a[0]!.uuid}`, { body: { name: 'z' } });
    const leaf = await h.call('GET', '/files?folder=/tree/z/b');
    expect((leaf.body.files as FileObject[]).map((f) => f.url.path)).toEqual(['/tree/z/b/leaf.txt']);
    const dest = (await h.call('POST', '/folders', { body: { name: '/other' } })).body.folder_uuid as string;
    expect((await h.call('PUT', `/folders/${a[0]!.uuid}/folders/${a[0]!.uuid}`)).status).toBe(400);
    await h.call('PUT', `/folders/${a[0]!.uuid}/folders/${dest}`);
    expect((await h.call('GET', '/files?folder=/other/z/b')).body.files).toHaveLength(1);
    expect((await h.call('PUT', `/folder/${dest}/meta`, { body: { meta: { owner: 'me' } } })).body.meta).toEqual({ owner: 'me' });
    const deleted = await h.call('DELETE', `/folders/${dest}`);
    expect(deleted.body).toMatchObject({ action: 'folder_deleted', deleted: { files: 1, folders: 3 } });
    expect((await h.call('GET', '/files?folder=/other&recursive=1')).body.files).toHaveLength(0);
  });
});

describe('CDN delivery', () => {
  it('serves ETag, Range and conditional requests, and image transforms', async () => {
    const file = (await h.upload('/cdn', 'digits.txt', '0123456789')).file as FileObject;
    const full = await fetch(file.url.cdn);
    const etag = full.headers.get('etag')!;
    expect(etag).toBe(`"${sha1('0123456789')}"`);
    expect(full.headers.get('cache-control')).toContain('immutable');
    const part = await fetch(file.url.cdn, { headers: { Range: 'bytes=2-4' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(await part.text()).toBe('234');
    expect((await fetch(file.url.cdn, { headers: { Range: 'bytes=-3' } }).then((r) => r.text()))).toBe('789');
    expect((await fetch(file.url.cdn, { headers: { Range: 'bytes=50-' } })).status).toBe(416);
    expect((await fetch(file.url.cdn, { headers: { 'If-None-Match': etag } })).status).toBe(304);

    const sharp = (await import('sharp')).default;
    const png = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const image = (await h.upload('/cdn', 'red.png', png)).file as FileObject & { info: { img_w: number; img_h: number } };
    expect(image.info).toMatchObject({ img_w: 400, img_h: 200 });
    const thumb = await fetch(`${image.url.cdn}&w=100&force_format=webp`, { headers: { Accept: 'image/webp' } });
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([100, 50, 'webp']);
    const bad = await fetch(`${image.url.cdn}&w=-5`);
    expect(bad.status).toBe(400);
  });
});

describe('CDN transform render slots', () => {
  it('answers 503 TRANSFORM_BUSY past the running and queued renders, never for originals or cached ones', async () => {
    let entered = 0;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    let holding = false;
    const busy = await startHarness({
      limits: { maxConcurrentTransforms: 1, maxQueuedTransforms: 1 },
      beforeTransformRender: () => {
        if (!holding) return Promise.resolve();
        entered++;
        return opened;
      },
    });
    try {
      const sharp = (await import('sharp')).default;
      const png = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#00ff00' } }).png().toBuffer();
      const image = (await busy.upload('/slots', 'green.png', png)).file as FileObject;
      expect((await fetch(`${image.url.cdn}&w=10`)).status).toBe(200);

      holding = true;
      const first = fetch(`${image.url.cdn}&w=11`);
      await vi.waitFor(() => expect(entered).toBe(1));
      // The slot is taken; of two more distinct renders one waits in the queue and the other, whichever
      // arrives last, is refused at once: the first of the two to answer is the refusal.
      const pending = [fetch(`${image.url.cdn}&w=12`), fetch(`${image.url.cdn}&w=13`)];
      const refused = await Promise.race(pending);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await refused.json()).toMatchObject({ status: 'error', code: 'TRANSFORM_BUSY' });
      expect(entered).toBe(1);
      // Originals and cached transforms are served meanwhile.
      expect((await fetch(image.url.cdn)).status).toBe(200);
      expect((await fetch(image.url.public)).status).toBe(200);
      expect((await fetch(`${image.url.cdn}&w=10`)).status).toBe(200);

      open();
      const statuses = [(await first).status, ...(await Promise.all(pending)).map((r) => r.status)];
      expect(statuses.sort()).toEqual([200, 200, 503]);
      expect(entered).toBe(2);
      // With the slot free again the refused render goes through.
      expect((await fetch(`${image.url.cdn}&w=12`)).status).toBe(200);
      expect((await fetch(`${image.url.cdn}&w=13`)).status).toBe(200);
    } finally {
      open();
      await busy.close();
    }
  });
});
