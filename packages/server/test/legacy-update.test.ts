import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/*
 * The legacy v4 update (reference §1 row 17, §3.9 form 3): PATCH /v4/files/{uuid} {name, meta}.
 * caradvice found `name` required and always checked for uniqueness (409 E801_ALREADY_EXIST even
 * for the current name); PATCH /v5/files/{uuid} stays rename-only.
 */

type FileObject = { uuid: string; name: string; meta: Record<string, unknown>; modified_at: string };

let h: Harness;
const missing = '6f1c1b1e-0000-4000-8000-000000000000';

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function upload(name: string, meta?: Record<string, unknown>): Promise<FileObject> {
  const r = await h.upload('/legacy', name, `${name} ${Math.random()}`, meta ? { 'meta[file]': JSON.stringify(meta) } : {});
  expect(r.status, JSON.stringify(r)).toBe('success');
  return r.file as FileObject;
}

const get = async (uuid: string): Promise<FileObject> => (await h.call('GET', `/files/${uuid}`)).body.file as FileObject;

async function keyWith(...permissions: string[]): Promise<string> {
  const r = await h.call('POST', '/access/keys', { body: { permissions } });
  return (r.body.key as { secret: string }).secret;
}

describe('PATCH /v4/files/{uuid} {name, meta}', () => {
  it('renames and merges metadata in one call (a null value removes the key)', async () => {
    const file = await upload('legacy-a.txt', { title: { en: 'Old' }, keep: 'yes', drop: 'me' });
    const r = await h.call('PATCH', `/files/${file.uuid}`, {
      version: 'v4',
      body: { name: 'legacy-b.txt', meta: { title: { en: 'New' }, drop: null } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ status: 'success', action: 'file_renamed', file_uuid: file.uuid });
    expect(r.body.meta).toEqual({ title: { en: 'New' }, keep: 'yes' });
    const after = await get(file.uuid);
    expect(after.name).toBe('legacy-b.txt');
    expect(after.meta).toEqual({ title: { en: 'New' }, keep: 'yes' });
    // Without meta it is a plain rename, with the same reply.
    const plain = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', body: { name: 'legacy-c.txt' } });
    expect(plain.body).toMatchObject({ action: 'file_renamed' });
    expect(plain.body.meta).toBeUndefined();
    expect((await get(file.uuid)).name).toBe('legacy-c.txt');
  });

  it('the current name is a 409 E801_ALREADY_EXIST, as caradvice saw: metadata is not changed either', async () => {
    const file = await upload('same-name.txt', { title: { en: 'Kept' } });
    const r = await h.call('PATCH', `/files/${file.uuid}`, {
      version: 'v4',
      body: { name: 'same-name.txt', meta: { title: { en: 'Lost' } } },
    });
    expect([r.status, r.body.code]).toEqual([409, 'E801_ALREADY_EXIST']);
    expect((await get(file.uuid)).meta).toEqual({ title: { en: 'Kept' } });
    // A name taken by another file in the folder is the same 409.
    await upload('taken.txt');
    const taken = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', body: { name: 'taken.txt', meta: { a: 1 } } });
    expect([taken.status, taken.body.code]).toEqual([409, 'E801_ALREADY_EXIST']);
    expect((await get(file.uuid)).meta).toEqual({ title: { en: 'Kept' } });
  });

  it('"name" is required, also for a metadata change; bad input changes nothing', async () => {
    const file = await upload('needs-name.txt', { a: 1 });
    const noName = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', body: { meta: { a: 2 } } });
    expect([noName.status, noName.body.code]).toEqual([400, 'INVALID_PARAMETER']);
    expect(String(noName.body.msg)).toContain('"name" is required');
    expect(String(noName.body.hint)).toContain('/file/{uuid}/meta');
    // Invalid meta after a valid name: the rename does not happen on its own.
    const badMeta = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', body: { name: 'renamed.txt', meta: 'nope' } });
    expect(badMeta.status).toBe(400);
    expect(await get(file.uuid)).toMatchObject({ name: 'needs-name.txt', meta: { a: 1 } });
    const badName = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', body: { name: 'a/b.txt', meta: { a: 3 } } });
    expect(badName.status).toBe(400);
    expect((await get(file.uuid)).meta).toEqual({ a: 1 });
    expect((await h.call('PATCH', `/files/${missing}`, { version: 'v4', body: { name: 'x.txt' } })).status).toBe(404);
  });

  it('needs FILE_RENAME always and FILE_META_CHANGE when "meta" is sent, each refused with a 403 naming it', async () => {
    const file = await upload('perm.txt', { a: 1 });
    const renameOnly = await keyWith('FILE_RENAME');
    const metaOnly = await keyWith('FILE_META_CHANGE');
    const both = await keyWith('FILE_RENAME', 'FILE_META_CHANGE');

    const noMetaPerm = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', key: renameOnly, body: { name: 'perm-2.txt', meta: { a: 2 } } });
    expect([noMetaPerm.status, noMetaPerm.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(String(noMetaPerm.body.msg)).toContain('FILE_META_CHANGE');
    const noRenamePerm = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', key: metaOnly, body: { name: 'perm-2.txt', meta: { a: 2 } } });
    expect([noRenamePerm.status, noRenamePerm.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(String(noRenamePerm.body.msg)).toContain('FILE_RENAME');
    expect(await get(file.uuid)).toMatchObject({ name: 'perm.txt', meta: { a: 1 } });

    // FILE_RENAME alone is enough without meta.
    expect((await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', key: renameOnly, body: { name: 'perm-3.txt' } })).status).toBe(200);
    const ok = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v4', key: both, body: { name: 'perm-4.txt', meta: { a: 4 } } });
    expect(ok.status).toBe(200);
    expect(await get(file.uuid)).toMatchObject({ name: 'perm-4.txt', meta: { a: 4 } });
  });
});

describe('PATCH /v5/files/{uuid} stays rename-only', () => {
  it('renames with {name}; "meta" is a 400 pointing at the meta endpoint, and nothing changes', async () => {
    const file = await upload('v5.txt', { a: 1 });
    const r = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v5', body: { name: 'v5-renamed.txt', meta: { a: 2 } } });
    expect([r.status, r.body.code]).toEqual([400, 'INVALID_PARAMETER']);
    expect(String(r.body.hint)).toContain('PATCH /v5/file/{uuid}/meta');
    expect(await get(file.uuid)).toMatchObject({ name: 'v5.txt', meta: { a: 1 } });
    const renamed = await h.call('PATCH', `/files/${file.uuid}`, { version: 'v5', body: { name: 'v5-renamed.txt' } });
    expect(renamed.body).toMatchObject({ action: 'file_renamed', file: { name: 'v5-renamed.txt' } });
  });
});
