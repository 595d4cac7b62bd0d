import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../server/src/auth/permissions.js';
import { PermissionDeniedError, type Filerobot } from '../src/index.js';
import { startFixture, type Fixture } from './server-fixture.js';

let fx: Fixture;
let root: Filerobot;
let fileUuid: string;
let folderUuid: string;
let otherFolderUuid: string;

beforeAll(async () => {
  fx = await startFixture();
  root = fx.client();
  fileUuid = (await root.files.upload(Buffer.from('guarded'), { name: 'guarded.txt', folder: '/guarded' })).file.uuid;
  folderUuid = (await root.folders.ensure('/guarded')).uuid;
  otherFolderUuid = (await root.folders.ensure('/elsewhere')).uuid;
});

afterAll(async () => {
  await fx.close();
});

// One call per permission the client's methods need; each must be refused with a 403 naming the
// permission when the key has every permission but that one, and not be refused with it alone.
const CALLS: Array<[string, (c: Filerobot) => PromiseLike<unknown>]> = [
  ['OBJECTS_LIST', (c) => c.files.list({ folder: '/guarded' })],
  ['OBJECTS_FETCH', (c) => c.files.get(fileUuid)],
  ['FILE_UPLOAD', (c) => c.files.upload(Buffer.from(`new ${Math.random()}`), { name: 'n.txt', folder: '/guarded' })],
  ['FILE_RENAME', (c) => c.files.rename(fileUuid, `renamed-${Math.random()}.txt`)],
  ['FILE_MOVE', (c) => c.files.move(fileUuid, otherFolderUuid)],
  ['FILE_META_CHANGE', (c) => c.meta.update(fileUuid, { k: 'v' })],
  ['FILE_PRODUCT_CHANGE', (c) => c.products.attach(fileUuid, { ref: 'SKU-P' })],
  ['DIR_CREATE', (c) => c.folders.create(`/made-${Math.random().toString(36).slice(2)}`)],
  ['DIR_RENAME', (c) => c.folders.rename(otherFolderUuid, `elsewhere-${Math.random().toString(36).slice(2)}`)],
  ['DIR_META_CHANGE', (c) => c.folders.replaceMeta(folderUuid, { k: 'v' })],
  ['LABELS_LIST', (c) => c.labels.list()],
  ['LABEL_MANAGE', (c) => c.labels.create({ name: `label-${Math.random()}` })],
  ['COLLECTIONS_LIST', (c) => c.collections.list()],
  ['COLLECTIONS_MANAGE', (c) => c.collections.create({ title: 'c', query: '#x' })],
  ['OBJECTS_SHARE_MANAGE', (c) => c.shares.list()],
  ['CONFIG_LIST', (c) => c.settings.fields()],
  ['CONFIG_CHANGE', (c) => c.settings.setFieldTranslations({ lang: 'de', fields: {} })],
  ['ACCESS_READ', (c) => c.access.keys.list()],
  // A key grants only permissions it holds: with ACCESS_MANAGE alone, a key with none.
  ['ACCESS_MANAGE', (c) => c.access.keys.create({ permissions: [] })],
  ['FILE_DELETE', (c) => c.files.delete(fileUuid)],
];

describe('403 per permission, through the client', () => {
  it.each(CALLS)('%s: refused without it, allowed with it alone', async (permission, call) => {
    const without = await root.access.keys.create({ description: `all but ${permission}`, permissions: PERMISSIONS.filter((p) => p !== permission) });
    const error = await call(fx.client({ apiKey: without.secret! })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as PermissionDeniedError).status).toBe(403);
    expect((error as Error).message).toContain(permission);

    const only = await root.access.keys.create({ description: permission, permissions: [permission] });
    const outcome = await call(fx.client({ apiKey: only.secret! })).then(
      () => 'ok',
      (e: unknown) => e,
    );
    expect(outcome).toBe('ok');
  });
});
