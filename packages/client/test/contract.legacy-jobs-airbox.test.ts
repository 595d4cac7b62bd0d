import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../server/src/auth/permissions.js';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  type Filerobot,
} from '../src/index.js';
import { startFixture, type Fixture } from './server-fixture.js';

/*
 * files.update (legacy PATCH /v4/files/{uuid} {name, meta}), files.regenerate
 * (POST {ask}/regenerate/{job}) and airboxes.upload (POST /{token}/v3/a/{puid}/{title}, no key),
 * each against the local server.
 */

let fx: Fixture;
let client: Filerobot;
const missing = '6f1c1b1e-0000-4000-8000-000000000000';

beforeAll(async () => {
  fx = await startFixture();
  client = fx.client();
});
afterAll(async () => {
  await fx.close();
});

async function without(permission: string): Promise<Filerobot> {
  const key = await client.access.keys.create({ permissions: PERMISSIONS.filter((p) => p !== permission) });
  return fx.client({ apiKey: key.secret! });
}

async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected the call to fail'),
    (error: unknown) => error,
  );
}

describe('files.update (legacy v4)', () => {
  it('renames and merges metadata in one call; the current name is a ConflictError that changes nothing', async () => {
    const { file } = await client.files.upload({ data: Buffer.from('legacy'), name: 'legacy.txt' }, { folder: '/legacy', meta: { a: '1', b: '2' } });
    const result = await client.files.update(file.uuid, { name: 'legacy-2.txt', meta: { b: null, c: '3' } });
    expect(result.file.name).toBe('legacy-2.txt');
    expect(result.meta).toEqual({ a: '1', c: '3' });
    expect((await client.files.get(file.uuid)).meta).toEqual({ a: '1', c: '3' });

    const same = await rejection(client.files.update(file.uuid, { name: 'legacy-2.txt', meta: { a: 'x' } }));
    expect(same).toBeInstanceOf(ConflictError);
    expect(same).toMatchObject({ status: 409, code: 'E801_ALREADY_EXIST' });
    expect((await client.files.get(file.uuid)).meta).toEqual({ a: '1', c: '3' });
  });

  it('needs FILE_RENAME, and FILE_META_CHANGE only when meta is given', async () => {
    const { file } = await client.files.upload({ data: Buffer.from('perm'), name: 'perm.txt' }, { folder: '/legacy' });
    const noMeta = await without('FILE_META_CHANGE');
    const denied = await rejection(noMeta.files.update(file.uuid, { name: 'perm-2.txt', meta: { a: '1' } }));
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as Error).message).toContain('FILE_META_CHANGE');
    expect((await noMeta.files.update(file.uuid, { name: 'perm-2.txt' })).file.name).toBe('perm-2.txt');
    const noRename = await rejection((await without('FILE_RENAME')).files.update(file.uuid, { name: 'perm-3.txt' }));
    expect(noRename).toBeInstanceOf(PermissionDeniedError);
    expect((noRename as Error).message).toContain('FILE_RENAME');
    expect(await rejection(client.files.update(missing, { name: 'x.txt' }))).toBeInstanceOf(NotFoundError);
  });
});

describe('files.regenerate', () => {
  it('dominant-color stores the colour in the file info; jobs needing a model are a BadRequestError', async () => {
    const red = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const { file } = await client.files.upload({ data: red, name: 'red.png' }, { folder: '/jobs' });
    const job = await client.files.regenerate('dominant-color', [file.uuid, missing]);
    expect(job).toMatchObject({ type: 'dominant-color', status: 'partial', files_uuids: [file.uuid, missing] });
    expect(job.results[0]).toEqual({ file_uuid: file.uuid, status: 'done', info: { dominant_color: '#ff0000', main_colors: [{ name: 'red', hex: '#ff0000', share: 1 }] } });
    expect(job.results[1]).toMatchObject({ file_uuid: missing, status: 'error', code: 'FILE_NOT_FOUND' });
    expect((await client.files.get(file.uuid)).info).toMatchObject({ dominant_color: '#ff0000' });

    const model = await rejection(client.files.regenerate('remove-background', [file.uuid]));
    expect(model).toBeInstanceOf(BadRequestError);
    expect(model).toMatchObject({ code: 'JOB_NOT_SUPPORTED' });
    const denied = await rejection((await without('FILE_PROCESS_AUTOTAGGING')).files.regenerate('dominant-color', [file.uuid]));
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as Error).message).toContain('FILE_PROCESS_AUTOTAGGING');
  });
});

describe('airboxes.upload', () => {
  it('uploads with no key into the airbox folder; over max_file_size is a PayloadTooLargeError, a closed airbox a NotFoundError', async () => {
    const airbox = await client.airboxes.create({ title: 'Client drop', folder: '/airbox/client', max_file_size: 100 });
    // A client with no key at all: the puid is the credential.
    const anonymous = fx.client({ apiKey: undefined });
    const result = await anonymous.airboxes.upload(airbox.puid, 'client-drop', { data: Buffer.from('hello airbox'), name: 'hello.txt' }, { meta: { title: { en: 'Hi' } } });
    expect(result).toMatchObject({
      airbox: { puid: airbox.puid, title: 'Client drop' },
      files: [{ name: 'hello.txt', type: 'text/plain', size: { bytes: 12 } }],
      info: { uploaded_files: 1, files_count: 1 },
    });
    const listed = await client.files.list({ folder: '/airbox/client' });
    expect(listed.files.map((f) => [f.name, f.meta])).toEqual([['hello.txt', { title: { en: 'Hi' } }]]);

    const big = await rejection(anonymous.airboxes.upload(airbox.puid, 'client-drop', { data: Buffer.alloc(101, 1), name: 'big.bin' }));
    expect(big).toBeInstanceOf(PayloadTooLargeError);
    await client.airboxes.update(airbox.uuid, { active: false });
    const closed = await rejection(anonymous.airboxes.upload(airbox.puid, 'client-drop', { data: Buffer.from('x'), name: 'x.txt' }));
    expect(closed).toBeInstanceOf(NotFoundError);
    expect(closed).toMatchObject({ code: 'AIRBOX_NOT_FOUND' });
    expect((await client.files.list({ folder: '/airbox/client' })).files.map((f) => f.name)).toEqual(['hello.txt']);
  });
});
