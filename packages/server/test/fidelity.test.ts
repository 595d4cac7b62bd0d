import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/**
 * Requests shaped exactly as Scaleflex's public clients send them (docs/api-fidelity.md names each
 * client and file): the PyPI `filerobot` package, scaleflex/filerobot-php-library and
 * caradvice/scaleflex-api-connector.
 */

type FileObject = { uuid: string; name: string; meta: Record<string, unknown>; folder: { name: string }; overwrite?: boolean };

let h: Harness;
let origin: Server;
let originUrl: string;

beforeAll(async () => {
  h = await startHarness({ allowPrivateUrlImports: true });
  origin = createServer((req, res) => {
    if (req.url === '/photo.txt') res.end('remote bytes');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => origin.close(resolve));
  await h.close();
});

async function keyWith(...permissions: string[]): Promise<string> {
  const r = await h.call('POST', '/access/keys', { body: { description: permissions.join('+'), permissions } });
  return (r.body.key as { secret: string }).secret;
}

/** POSTs a multipart body to `{token}/v4/{path}` with only the key header, as `requests` does for `files=`. */
async function postForm(path: string, form: FormData, key = h.server.rootKey): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${h.api('v4')}${path}`, { method: 'POST', headers: { 'X-filerobot-Key': key }, body: form });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function namesIn(folder: string): Promise<string[]> {
  const list = await h.call('GET', `/files?folder=${encodeURIComponent(folder)}`);
  return (list.body.files as FileObject[]).map((f) => f.name).sort();
}

describe('POST /{token}/v4/upload (the PyPI filerobot client)', () => {
  it('takes upload_file_multipart: a part named after the file, meta[<filename>], folder=/<path>; replies 200 with "file"', async () => {
    const form = new FormData();
    // requests' `files={name: fileobj, "meta[name]": (None, json)}` layout.
    form.append('photo.txt', new Blob(['python bytes']), 'photo.txt');
    form.append('meta[photo.txt]', JSON.stringify({ title: { en: 'From Python' } }));
    const r = await postForm('/upload?folder=/py/in', form);
    expect(r.status).toBe(200);
    const file = r.body.file as FileObject;
    expect(file).toMatchObject({ name: 'photo.txt', meta: { title: { en: 'From Python' } }, folder: { name: '/py/in' } });
    // It renames afterwards with the uuid it read from `file`.
    expect((await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', body: { name: 'renamed.txt' } })).status).toBe(200);
    // A folder given with its own leading slash arrives as `folder=//abs`.
    const again = new FormData();
    again.append('b.txt', new Blob(['b']), 'b.txt');
    expect(((await postForm('/upload?folder=//py/abs', again)).body.file as FileObject).folder.name).toBe('/py/abs');
  });

  it('takes upload_url: JSON files_urls with url, name and meta; a URL that cannot be fetched is a 400', async () => {
    const r = await h.call('POST', '/upload?folder=/py/urls', {
      version: 'v4',
      body: { files_urls: [{ url: `${originUrl}/photo.txt`, name: 'named.txt', meta: { title: { en: 'Remote' } } }] },
    });
    expect(r.status).toBe(200);
    expect(r.body.file).toMatchObject({ name: 'named.txt', meta: { title: { en: 'Remote' } }, folder: { name: '/py/urls' } });
    const missing = await h.call('POST', '/upload?folder=/py/urls', { version: 'v4', body: { files_urls: [{ url: `${originUrl}/gone.txt` }] } });
    expect([missing.status, missing.body.status]).toEqual([400, 'error']);
  });

  it('takes the python uploader form too: dir= and generic part names', async () => {
    const form = new FormData();
    form.append('file_0', new Blob(['zero']), 'zero.txt');
    expect(((await postForm('/upload?dir=/py/dir', form)).body.file as FileObject).folder.name).toBe('/py/dir');
  });

  it('needs FILE_UPLOAD like POST /files', async () => {
    const form = new FormData();
    form.append('x.txt', new Blob(['x']), 'x.txt');
    const denied = await postForm('/upload?folder=/py/denied', form, await keyWith('OBJECTS_LIST'));
    expect([denied.status, denied.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(String(denied.body.msg)).toContain('FILE_UPLOAD');
  });
});

describe('GET /folders sort fields (the PHP library)', () => {
  it('accepts list_folder\'s default order=filename,desc with its empty folder and q', async () => {
    for (const name of ['/php/alpha', '/php/gamma', '/php/beta']) await h.call('POST', '/folders', { body: { name } });
    const r = await h.call('GET', '/folders?folder=/php&q=&limit=50&offset=0&order=filename,desc', { version: 'v4' });
    expect(r.status).toBe(200);
    expect((r.body.folders as Array<{ name: string }>).map((f) => f.name)).toEqual(['gamma', 'beta', 'alpha']);
    const root = await h.call('GET', '/folders?folder=&q=&limit=50&offset=0&order=filename,desc', { version: 'v4' });
    expect(root.status).toBe(200);
    expect((await h.call('GET', '/folders?folder=/php&sort=filename:asc')).body.folders).toMatchObject([{ name: 'alpha' }, { name: 'beta' }, { name: 'gamma' }]);
  });
});

describe('obfuscate=KEEP_ORIGINAL_NAME (caradvice, overwrite mode)', () => {
  it('keeps the name on a clash and replaces the existing file, where a plain upload gets a suffix', async () => {
    const first = (await h.upload('/keep', 'same.txt', 'one')).file as FileObject;
    // caradvice's fileUpload(): a `file` part, a plain `meta` part, only obfuscate in the query.
    const form = new FormData();
    form.append('file', new Blob(['two']), 'same.txt');
    form.append('meta', JSON.stringify({ title: { en: 'v2' }, tagging: [] }));
    const kept = await postForm('/files?folder=/keep&obfuscate=KEEP_ORIGINAL_NAME', form);
    expect(kept.status).toBe(200);
    expect(kept.body.file).toMatchObject({ uuid: first.uuid, name: 'same.txt', overwrite: true, meta: { title: { en: 'v2' } } });
    expect(await namesIn('/keep')).toEqual(['same.txt']);
    expect(await (await fetch(`${h.server.url}/${h.server.token}/v4/get/${first.uuid}`)).text()).toBe('two');

    const plain = (await h.upload('/keep', 'same.txt', 'three')).file as FileObject;
    expect(plain.name).toMatch(/^same-[A-Za-z0-9]{8}\.txt$/);
  });

  it('applies to URL imports and base64 uploads, which caradvice sends it with too', async () => {
    await h.upload('/keep-json', 'remote.txt', 'old');
    const url = await h.call('POST', '/files?folder=/keep-json&obfuscate=KEEP_ORIGINAL_NAME', {
      body: { files_urls: [{ url: `${originUrl}/photo.txt`, name: 'remote.txt' }] },
    });
    expect(url.body.file).toMatchObject({ name: 'remote.txt', overwrite: true });
    const b64 = await h.call('POST', '/files?folder=/keep-json&obfuscate=KEEP_ORIGINAL_NAME', {
      body: { name: 'remote.txt', data: Buffer.from('new').toString('base64'), postactions: 'decode_base64' },
    });
    expect(b64.body.file).toMatchObject({ name: 'remote.txt', overwrite: true });
    expect(await namesIn('/keep-json')).toEqual(['remote.txt']);
  });

  it('refuses an unknown obfuscate value, naming the one accepted', async () => {
    const r = await h.call('POST', '/files?folder=/keep&obfuscate=RANDOM', { body: { name: 'x.txt', data: 'eA==', postactions: 'decode_base64' } });
    expect([r.status, r.body.code]).toEqual([400, 'INVALID_PARAMETER']);
    expect(String(r.body.msg)).toContain('KEEP_ORIGINAL_NAME');
  });
});

describe('creating a folder that exists (the PyPI client expects 403)', () => {
  it('is a 403 with the name-clash code E801_ALREADY_EXIST, on v4 and v5; a key without DIR_CREATE gets PERMISSION_DENIED', async () => {
    expect((await h.call('POST', '/folders', { version: 'v4', body: { name: '/exists/here' } })).status).toBe(200);
    for (const version of ['v4', 'v5'] as const) {
      const r = await h.call('POST', '/folders', { version, body: { name: '/exists/here' } });
      expect([r.status, r.body.code]).toEqual([403, 'E801_ALREADY_EXIST']);
      expect(String(r.body.msg)).toContain('/exists/here');
    }
    const denied = await h.call('POST', '/folders', { key: await keyWith('OBJECTS_LIST'), body: { name: '/exists/other' } });
    expect([denied.status, denied.body.code]).toEqual([403, 'PERMISSION_DENIED']);
  });
});

describe('FILE_META_CREATE gates metadata and tags sent with an upload', () => {
  it('a FILE_UPLOAD key uploads bare files, but meta or tags need FILE_META_CREATE (or FILE_META_CHANGE); nothing is stored when refused', async () => {
    const uploader = await keyWith('FILE_UPLOAD');
    const bare = new FormData();
    bare.append('file', new Blob(['bare']), 'bare.txt');
    expect((await postForm('/files?folder=/gate', bare, uploader)).status).toBe(200);

    for (const [part, value] of [['meta[file]', '{"title":{"en":"T"}}'], ['tags[file]', '["summer"]']] as const) {
      const form = new FormData();
      form.append(part, value);
      form.append('file', new Blob(['with meta']), 'with-meta.txt');
      const r = await postForm('/files?folder=/gate', form, uploader);
      expect([r.status, r.body.code], part).toEqual([403, 'PERMISSION_DENIED']);
      expect(String(r.body.msg)).toContain('FILE_META_CREATE');
    }
    const json = await h.call('POST', '/files?folder=/gate', {
      key: uploader,
      body: { name: 'b64.txt', data: 'eA==', postactions: 'decode_base64', meta: { title: { en: 'T' } } },
    });
    expect([json.status, json.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(await namesIn('/gate')).toEqual(['bare.txt']);

    for (const permission of ['FILE_META_CREATE', 'FILE_META_CHANGE']) {
      const form = new FormData();
      form.append('meta[file]', '{"title":{"en":"T"}}');
      form.append('file', new Blob([permission]), `${permission}.txt`);
      const r = await postForm('/files?folder=/gate', form, await keyWith('FILE_UPLOAD', permission));
      expect(r.status, permission).toBe(200);
      expect((r.body.file as FileObject).meta).toEqual({ title: { en: 'T' } });
    }
  });

  it('FILE_META_CREATE does not change the metadata of an existing file', async () => {
    const file = (await h.upload('/gate2', 'f.txt', 'f')).file as FileObject;
    const r = await h.call('PUT', `/file/${file.uuid}/meta`, { key: await keyWith('FILE_META_CREATE'), body: { meta: { a: '1' } } });
    expect([r.status, r.body.code]).toEqual([403, 'PERMISSION_DENIED']);
  });

  it('nor through an upload that replaces it (overwrite=1 or KEEP_ORIGINAL_NAME): that needs FILE_META_CHANGE', async () => {
    const original = (await h.upload('/gate3', 'f.txt', 'f', { meta: '{"title":"kept"}', tags: '["kept"]' })).file as FileObject;
    const creator = await keyWith('FILE_UPLOAD', 'FILE_META_CREATE');
    for (const mode of ['overwrite=1', 'obfuscate=KEEP_ORIGINAL_NAME']) {
      for (const [part, value] of [['meta', '{"title":"replaced"}'], ['tags', '["replaced"]']] as const) {
        const form = new FormData();
        form.append(part, value);
        form.append('file', new Blob([`${mode} ${part}`]), 'f.txt');
        const r = await postForm(`/files?folder=/gate3&${mode}`, form, creator);
        expect([r.status, r.body.code], `${mode} ${part}`).toEqual([403, 'PERMISSION_DENIED']);
        expect(String(r.body.msg)).toContain('FILE_META_CHANGE');
      }
    }
    const after = (await h.call('GET', `/files/${original.uuid}`)).body.file as FileObject & { tags: unknown; size: { bytes: number } };
    expect([after.meta, JSON.stringify(after.tags).includes('"kept"'), after.size.bytes]).toEqual([{ title: 'kept' }, true, 1]);
    expect(await namesIn('/gate3')).toEqual(['f.txt']);

    // Replacing the content alone needs no more than the upload; a new file may still carry meta.
    const bare = new FormData();
    bare.append('file', new Blob(['new content']), 'f.txt');
    expect((await postForm('/files?folder=/gate3&overwrite=1', bare, creator)).status).toBe(200);
    const fresh = new FormData();
    fresh.append('meta', '{"title":"new"}');
    fresh.append('file', new Blob(['other']), 'g.txt');
    expect((await postForm('/files?folder=/gate3&overwrite=1', fresh, creator)).status).toBe(200);
    const changer = await keyWith('FILE_UPLOAD', 'FILE_META_CHANGE');
    const allowed = new FormData();
    allowed.append('meta', '{"title":"replaced"}');
    allowed.append('file', new Blob(['by changer']), 'f.txt');
    const r = await postForm('/files?folder=/gate3&overwrite=1', allowed, changer);
    expect([r.status, (r.body.file as FileObject).meta]).toEqual([200, { title: 'replaced' }]);
  });
});
