import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../server/src/auth/permissions.js';
import {
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  type Filerobot,
  type FileObject,
  type VisibilityV5,
} from '../src/index.js';
import { startFixture, type Fixture } from './server-fixture.js';

/*
 * The inferred operations (docs/server.md "Inferred"): the reference found no endpoint for them, so the
 * client follows the local server's design. Each is checked for its effect, then for 403 (every
 * permission but the one it needs), 404 (unknown uuid) and 400 (bad input).
 */

let fx: Fixture;
let client: Filerobot;
const missing = '6f1c1b1e-0000-4000-8000-000000000000';
let scene: Buffer;

beforeAll(async () => {
  fx = await startFixture();
  client = fx.client();
  // 300×200: red, with a blue right half.
  scene = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#ff0000' } })
    .composite([{ input: await sharp({ create: { width: 150, height: 200, channels: 3, background: '#0000ff' } }).png().toBuffer(), left: 150, top: 0 }])
    .png()
    .toBuffer();
});

afterAll(async () => {
  await fx.close();
});

/** A client whose key has every permission but `permission`. */
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

async function expectDenied(promise: PromiseLike<unknown>, permission: string): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(PermissionDeniedError);
  expect((error as Error).message).toContain(permission);
}

async function cdnBytes(file: FileObject): Promise<Buffer> {
  const r = await fetch(file.url!.cdn!);
  expect(r.status).toBe(200);
  return Buffer.from(await r.arrayBuffer());
}

const v5 = (file: { visibility?: unknown }): VisibilityV5 => file.visibility as VisibilityV5;

describe('visibility', () => {
  it('files.setVisibility and folders.setVisibility set it; inheriting files follow their folder', async () => {
    const { file } = await client.files.upload(Buffer.from('v'), { name: 'v.txt', folder: '/vis/inner' });
    const folder = await client.folders.ensure('/vis/inner');
    expect(v5(await client.files.setVisibility(file.uuid, 'private')).in_dam).toEqual({ set: 'private', actual: 'private' });
    expect(v5(await client.files.get(file.uuid)).in_cdn).toEqual({ set: 'not_public', actual: 'not_public' });

    const other = (await client.files.upload(Buffer.from('w'), { name: 'w.txt', folder: '/vis/inner' })).file;
    const updated = await client.folders.setVisibility(folder.uuid, 'VISIBILITY_ORGANISATION');
    expect(v5(updated).in_dam?.set).toBe('all_organisation');
    expect(v5(await client.files.get(other.uuid)).in_dam).toEqual({ set: 'inherited', actual: 'all_organisation' });
    expect(v5(await client.files.setVisibility(other.uuid, 'inherited')).in_dam?.actual).toBe('all_organisation');
  });

  it('403 without the permission, 404 for unknown uuids, 400 for unknown values', async () => {
    const { file } = await client.files.upload(Buffer.from('x'), { name: 'x.txt', folder: '/vis/errors' });
    const folder = await client.folders.ensure('/vis/errors');
    await expectDenied((await without('FILE_SET_VISIBILITY')).files.setVisibility(file.uuid, 'public'), 'FILE_SET_VISIBILITY');
    await expectDenied((await without('DIR_SET_VISIBILITY')).folders.setVisibility(folder.uuid, 'public'), 'DIR_SET_VISIBILITY');
    expect(await rejection(client.files.setVisibility(missing, 'public'))).toBeInstanceOf(NotFoundError);
    expect(await rejection(client.folders.setVisibility(missing, 'public'))).toBeInstanceOf(NotFoundError);
    const bad = await rejection(client.files.setVisibility(file.uuid, 'everyone' as 'public'));
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as BadRequestError).code).toBe('INVALID_VISIBILITY');
  });
});

describe('labels on a file', () => {
  it('files.setLabels replaces them; unknown sids change nothing', async () => {
    const { file } = await client.files.upload(Buffer.from('l'), { name: 'l.txt', folder: '/labels' });
    const a = await client.labels.create({ name: 'Checked' });
    const b = await client.labels.create({ name: 'Printed' });
    expect((await client.files.setLabels(file.uuid, [a.sid, b.sid])).labels).toEqual([a.sid, b.sid]);
    expect((await client.files.setLabels(file.uuid, [b.sid])).labels).toEqual([b.sid]);
    const unknown = await rejection(client.files.setLabels(file.uuid, ['#lbnope']));
    expect(unknown).toBeInstanceOf(BadRequestError);
    expect((unknown as BadRequestError).code).toBe('LABEL_NOT_FOUND');
    expect((await client.files.get(file.uuid)).labels).toEqual([b.sid]);
    expect((await client.files.setLabels(file.uuid, [])).labels).toEqual([]);
    await expectDenied((await without('FILE_LABEL_CHANGE')).files.setLabels(file.uuid, [a.sid]), 'FILE_LABEL_CHANGE');
    expect(await rejection(client.files.setLabels(missing, []))).toBeInstanceOf(NotFoundError);
  });
});

describe('collections.update', () => {
  it('changes the fields given; listings follow; bad searches are refused', async () => {
    for (const colour of ['red', 'blue']) {
      await client.files.upload(Buffer.from(colour), { name: `${colour}.txt`, folder: '/col', meta: { colour } });
    }
    const created = await client.collections.create({ title: 'Reds', query: 'colour:red' });
    const updated = await client.collections.update(created.uuid, { title: 'Blues', query: 'colour:blue', visibility: 'public' });
    expect(updated).toMatchObject({ uuid: created.uuid, title: 'Blues', visibility: 'public' });
    const files = await client.files.list({ folder: '/col', collection_uuid: created.uuid }).toArray(10);
    expect(files.map((f) => f.meta?.colour)).toEqual(['blue']);
    expect((await client.collections.list()).find((c) => c.uuid === created.uuid)?.title).toBe('Blues');

    const bad = await rejection(client.collections.update(created.uuid, { query: 'title:"open' }));
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as BadRequestError).code).toBe('INVALID_QUERY');
    expect(await rejection(client.collections.update(missing, { title: 'x' }))).toBeInstanceOf(NotFoundError);
    await expectDenied((await without('COLLECTIONS_MANAGE')).collections.update(created.uuid, { title: 'x' }), 'COLLECTIONS_MANAGE');
  });
});

describe('files.edit (image editor)', () => {
  it('saves a crop as a copy, and a resize over the original keeping its uuid', async () => {
    const { file } = await client.files.upload(scene, { name: 'banner.png', folder: '/edit', meta: { alt: 'banner' } });
    const copy = await client.files.edit(file.uuid, {
      operations: { crop: { x: 150, y: 0, width: 150, height: 100 }, format: 'webp' },
    });
    expect(copy).toMatchObject({ save_as: 'copy', source_file_uuid: file.uuid });
    expect(copy.file).toMatchObject({ name: 'banner-edited.webp', type: 'image/webp', meta: { alt: 'banner' } });
    expect(copy.file.info).toMatchObject({ img_w: 150, img_h: 100 });
    const bytes = await cdnBytes(copy.file);
    expect(createHash('sha1').update(bytes).digest('hex')).toBe(copy.file.hash?.sha1);
    const { data } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    expect(data[2]).toBeGreaterThan(200); // blue: the crop is the right half

    const over = await client.files.edit(file.uuid, { operations: { resize: { width: 30 } }, save_as: 'overwrite' });
    expect(over.file.uuid).toBe(file.uuid);
    expect(over.file.hash?.sha1).not.toBe(file.hash?.sha1);
    const now = await client.files.get(file.uuid);
    expect(now.info).toMatchObject({ img_w: 30, img_h: 20 });
    expect((await sharp(await cdnBytes(now)).metadata()).width).toBe(30);
  });

  it('403 without FILE_IMAGE_EDITOR, 404 for unknown uuids, 400 for bad operations and non-images', async () => {
    const { file } = await client.files.upload(scene, { name: 'guarded.png', folder: '/edit/errors' });
    await expectDenied((await without('FILE_IMAGE_EDITOR')).files.edit(file.uuid, { operations: { rotate: 90 } }), 'FILE_IMAGE_EDITOR');
    expect(await rejection(client.files.edit(missing, { operations: { rotate: 90 } }))).toBeInstanceOf(NotFoundError);
    const outside = await rejection(client.files.edit(file.uuid, { operations: { crop: { x: 0, y: 0, width: 301, height: 10 } } }));
    expect(outside).toBeInstanceOf(BadRequestError);
    expect((outside as BadRequestError).code).toBe('CROP_OUTSIDE_IMAGE');
    expect((outside as Error).message).toContain('operations.crop');
    const format = await rejection(client.files.edit(file.uuid, { operations: { format: 'tiff' as 'png' } }));
    expect((format as BadRequestError).code).toBe('INVALID_FORMAT');
    const text = (await client.files.upload(Buffer.from('words'), { name: 'words.txt', folder: '/edit/errors' })).file;
    const notImage = await rejection(client.files.edit(text.uuid, { operations: { rotate: 90 } }));
    expect((notImage as BadRequestError).code).toBe('NOT_AN_IMAGE');
    // Nothing but the two uploads landed.
    expect((await client.files.list({ folder: '/edit/errors' })).files).toHaveLength(2);
  });
});

describe('files.autotag', () => {
  it('tags from the pixels, in the languages asked, and saves them when told to', async () => {
    const { file } = await client.files.upload(await sharp({ create: { width: 200, height: 100, channels: 3, background: '#ff0000' } }).png().toBuffer(), {
      name: 'red.png',
      folder: '/tagged',
    });
    const result = await client.files.autotag(file.uuid, { languages: ['en', 'de'], confidence: 50 });
    expect(result.saved).toBe(false);
    expect(result.tags.en!.map((t) => t.key).sort()).toEqual(['landscape', 'red', 'small']);
    expect(result.tags.de!.find((t) => t.key === 'red')).toMatchObject({ label: 'rot', confidence: 100, kind: 'color' });
    expect(result.analysis).toMatchObject({ width: 200, height: 100, orientation: 'landscape', dominant_color: '#ff0000' });

    const saved = await client.files.autotag(file.uuid, { save: true, limit: 1 });
    expect(saved.saved).toBe(true);
    expect(Object.values(saved.file!.tags ?? {}).flat().map((t) => t.label)).toEqual(['red']);
    expect((await client.files.list({ folder: '/tagged', q: '#red' })).files.map((f) => f.uuid)).toEqual([file.uuid]);
  });

  it('403 without FILE_PROCESS_AUTOTAGGING, 404 for unknown uuids, 400 for bad options and non-images', async () => {
    const { file } = await client.files.upload(scene, { name: 'scene.png', folder: '/tagged/errors' });
    await expectDenied((await without('FILE_PROCESS_AUTOTAGGING')).files.autotag(file.uuid), 'FILE_PROCESS_AUTOTAGGING');
    expect(await rejection(client.files.autotag(missing))).toBeInstanceOf(NotFoundError);
    const bad = await rejection(client.files.autotag(file.uuid, { confidence: 101 }));
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as Error).message).toContain('confidence');
    const text = (await client.files.upload(Buffer.from('words'), { name: 'words.txt', folder: '/tagged/errors' })).file;
    expect(((await rejection(client.files.autotag(text.uuid))) as BadRequestError).code).toBe('NOT_AN_IMAGE');
  });
});
