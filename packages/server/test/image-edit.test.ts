import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/index.js';
import { startHarness, type Harness } from './harness.js';

interface FileDoc {
  uuid: string;
  name: string;
  type: string;
  extension: string;
  size: { bytes: number };
  hash: { sha1: string };
  info: { img_w?: number; img_h?: number; img_type?: string; source?: string };
  meta: Record<string, unknown>;
  tags: Record<string, Array<{ sid: string; label: string }>>;
  labels: string[];
  folder: { uuid: string; name: string };
  url: { cdn: string; download: string; path: string };
}

let h: Harness;
const missing = '6f1c1b1e-0000-4000-8000-000000000000';
/** 300×200 PNG: red left half, blue right half, a 10×10 green square in the top-left corner. */
let scene: Buffer;

beforeAll(async () => {
  h = await startHarness();
  const block = (width: number, height: number, colour: string): Promise<Buffer> =>
    sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer();
  scene = await sharp(await block(300, 200, '#ff0000'))
    .composite([
      { input: await block(150, 200, '#0000ff'), left: 150, top: 0 },
      { input: await block(10, 10, '#00ff00'), left: 0, top: 0 },
    ])
    .png()
    .toBuffer();
});
afterAll(async () => {
  await h.close();
});

async function key(permission: string): Promise<string> {
  const r = await h.call('POST', '/access/keys', { body: { permissions: [permission] } });
  return (r.body.key as { secret: string }).secret;
}

async function upload(folder: string, name: string, content: Buffer, extra: Record<string, string> = {}): Promise<FileDoc> {
  const r = await h.upload(folder, name, content, extra);
  expect(r.status, JSON.stringify(r)).toBe('success');
  return r.file as FileDoc;
}

async function get(uuid: string): Promise<FileDoc> {
  return (await h.call('GET', `/files/${uuid}`)).body.file as FileDoc;
}

async function bytes(url: string): Promise<Buffer> {
  const r = await fetch(url);
  expect(r.status, url).toBe(200);
  return Buffer.from(await r.arrayBuffer());
}

/** Width, height and the RGBA of one pixel. */
async function pixel(image: Buffer, x: number, y: number): Promise<[number, number, number[]]> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [info.width, info.height, [...data.subarray(i, i + info.channels)]];
}

const sha1 = (data: Buffer): string => createHash('sha1').update(data).digest('hex');

/** A small valid PNG whose header claims `width`×`height` pixels (a decompression bomb's shape). */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const out = await sharp({ create: { width: 10, height: 10, channels: 4, background: '#00ff0000' } }).png().toBuffer();
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

describe('image editor (inferred: POST /{v}/files/{uuid}/edit)', () => {
  it('saves a cropped and rotated copy as a new asset, with the source meta, tags and labels; the source is untouched', async () => {
    const label = (await h.call('POST', '/labels', { body: { label: { name: 'Hero' } } })).body.label as { sid: string };
    const source = await upload('/edit', 'hero.png', scene, {
      'meta[file]': JSON.stringify({ title: { en: 'Hero' } }),
      'tags[file]': JSON.stringify(['summer']),
    });
    await h.call('PUT', `/file/${source.uuid}/labels`, { body: { labels: [label.sid] } });
    const secret = await key('FILE_IMAGE_EDITOR');
    const r = await h.call('POST', `/files/${source.uuid}/edit`, {
      key: secret,
      body: { operations: { crop: { x: 0, y: 0, width: 200, height: 100 }, rotate: 90 }, save_as: 'copy' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ action: 'file_edited_copy', save_as: 'copy', source_file_uuid: source.uuid });
    const copy = r.body.file as FileDoc;
    expect(copy.uuid).not.toBe(source.uuid);
    expect(r.body.file_uuid).toBe(copy.uuid);
    expect(copy).toMatchObject({ name: 'hero-edited.png', type: 'image/png', folder: { uuid: source.folder.uuid } });
    expect(copy.info).toMatchObject({ img_w: 100, img_h: 200, img_type: 'png' });
    expect(copy.meta).toEqual({ title: { en: 'Hero' } });
    expect(copy.tags.en!.map((t) => t.label)).toEqual(['summer']);
    expect(copy.labels).toEqual([label.sid]);
    expect(copy.hash.sha1).not.toBe(source.hash.sha1);

    // Durable and served: the CDN URL and the download give the new bytes, whose sha1 the row holds.
    const served = await bytes(copy.url.cdn);
    expect(sha1(served)).toBe(copy.hash.sha1);
    expect(served.length).toBe(copy.size.bytes);
    // Rotated clockwise: the green top-left corner of the crop is now top-right; blue (x >= 150) at the bottom.
    expect(await pixel(served, 95, 5)).toEqual([100, 200, [0, 255, 0, 255]]);
    expect((await pixel(served, 50, 180))[2]).toEqual([0, 0, 255, 255]);
    expect((await pixel(served, 50, 20))[2]).toEqual([255, 0, 0, 255]);
    expect(sha1(await bytes(copy.url.download))).toBe(copy.hash.sha1);

    const after = await get(source.uuid);
    expect(after.hash.sha1).toBe(source.hash.sha1);
    expect(sha1(await bytes(after.url.cdn))).toBe(source.hash.sha1);
    const listing = (await h.call('GET', '/files?folder=/edit')).body.files as FileDoc[];
    expect(listing.map((f) => f.name).sort()).toEqual(['hero-edited.png', 'hero.png']);
  });

  it('applies crop, rotate, flip, flop, resize and format in that order', async () => {
    const source = await upload('/edit/order', 'scene.png', scene);
    const r = await h.call('POST', `/files/${source.uuid}/edit`, {
      body: {
        operations: { crop: { x: 0, y: 0, width: 200, height: 100 }, rotate: 90, flip: true, resize: { width: 50 }, format: 'webp', quality: 100 },
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const copy = r.body.file as FileDoc;
    expect(copy).toMatchObject({ name: 'scene-edited.webp', type: 'image/webp', extension: 'webp' });
    expect(copy.info).toMatchObject({ img_w: 50, img_h: 100, img_type: 'webp' });
    const served = await bytes(copy.url.cdn);
    expect((await sharp(served).metadata()).format).toBe('webp');
    // After the rotation the green corner is top-right; flipping (top-bottom) takes it to the bottom-right, and blue to the top.
    const [w, hgt, corner] = await pixel(served, 47, 97);
    expect([w, hgt]).toEqual([50, 100]);
    expect(corner[1]).toBeGreaterThan(200);
    expect(corner[0]).toBeLessThan(60);
    expect((await pixel(served, 25, 10))[2][2]).toBeGreaterThan(200);

    const flopped = await h.call('POST', `/files/${source.uuid}/edit`, {
      body: { operations: { crop: { x: 0, y: 0, width: 200, height: 100 }, flop: true }, name: 'mirror.png' },
    });
    const mirror = await bytes((flopped.body.file as FileDoc).url.cdn);
    expect(await pixel(mirror, 195, 5)).toEqual([200, 100, [0, 255, 0, 255]]);
    expect((flopped.body.file as FileDoc).name).toBe('mirror.png');
  });

  it('rotates by any angle on a larger, transparent canvas', async () => {
    const source = await upload('/edit/angle', 'tilt.png', scene);
    const r = await h.call('POST', `/files/${source.uuid}/edit`, {
      body: { operations: { crop: { x: 0, y: 0, width: 200, height: 100 }, rotate: -315 } },
    });
    const copy = r.body.file as FileDoc;
    // -315 is 45 clockwise: the 200×100 crop needs a (200+100)·cos 45 ≈ 212 pixel square.
    expect(Math.abs(copy.info.img_w! - 212)).toBeLessThanOrEqual(1);
    expect(Math.abs(copy.info.img_h! - 212)).toBeLessThanOrEqual(1);
    const corner = await pixel(await bytes(copy.url.cdn), 0, 0);
    expect(corner[2][3]).toBe(0);
    // The middle is the image.
    expect((await pixel(await bytes(copy.url.cdn), 106, 106))[2][3]).toBe(255);
  });

  it('overwrites the content under the same uuid: size, sha1 and info change, nothing is added', async () => {
    const photo = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#336699' } }).jpeg().toBuffer();
    const source = await upload('/edit/over', 'photo.jpg', photo, { 'meta[file]': JSON.stringify({ alt: 'sky' }) });
    const r = await h.call('POST', `/files/${source.uuid}/edit`, {
      body: { operations: { resize: { width: 100 } }, save_as: 'overwrite' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ action: 'file_edited_overwrite', save_as: 'overwrite', file_uuid: source.uuid });
    const file = await get(source.uuid);
    expect(file).toMatchObject({ uuid: source.uuid, name: 'photo.jpg', type: 'image/jpeg', meta: { alt: 'sky' } });
    expect(file.info).toMatchObject({ img_w: 100, img_h: 75 });
    expect(file.hash.sha1).not.toBe(source.hash.sha1);
    const served = await bytes(file.url.cdn);
    expect(sha1(served)).toBe(file.hash.sha1);
    expect((await sharp(served).metadata()).width).toBe(100);
    expect(sha1(await bytes(file.url.download))).toBe(file.hash.sha1);
    expect(((await h.call('GET', '/files?folder=/edit/over')).body.files as FileDoc[]).map((f) => f.uuid)).toEqual([source.uuid]);

    // A format change renames the asset to match its new content.
    const converted = await h.call('POST', `/files/${source.uuid}/edit`, {
      version: 'v4',
      body: { operations: { format: 'png' }, save_as: 'overwrite' },
    });
    expect(converted.status, JSON.stringify(converted.body)).toBe(200);
    expect(converted.body.file).toMatchObject({ uuid: source.uuid, name: 'photo.png', type: 'image/png' });
    expect((await sharp(await bytes((await get(source.uuid)).url.cdn)).metadata()).format).toBe('png');
  });

  it('places a copy in another folder (created when missing) and suffixes a taken name', async () => {
    const source = await upload('/edit/src', 'logo.png', scene);
    const once = await h.call('POST', `/files/${source.uuid}/edit`, {
      body: { operations: { resize: { width: 30, height: 30, fit: 'fill' } }, folder: '/edit/derived', name: 'logo-small.png' },
    });
    expect(once.body.file).toMatchObject({ name: 'logo-small.png', folder: { name: '/edit/derived' }, info: { img_w: 30, img_h: 30 } });
    const twice = await h.call('POST', `/files/${source.uuid}/edit`, {
      body: { operations: { resize: { width: 30, height: 30, fit: 'fill' } }, folder: '/edit/derived', name: 'logo-small.png' },
    });
    expect((twice.body.file as FileDoc).name).toMatch(/^logo-small-[A-Za-z0-9]{8}\.png$/);
    const noExtension = await h.call('POST', `/files/${source.uuid}/edit`, {
      body: { operations: { format: 'jpg' }, name: 'plain' },
    });
    expect(noExtension.body.file).toMatchObject({ name: 'plain.jpg', type: 'image/jpeg' });
  });

  it('refuses bad operations with a 400 naming the field, and never answers 5xx', async () => {
    const source = await upload('/edit/bad', 'small.png', scene);
    const cases: Array<[unknown, string, RegExp]> = [
      [{ operations: { crop: { x: 250, y: 0, width: 100, height: 100 } } }, 'CROP_OUTSIDE_IMAGE', /operations\.crop.*300×200/],
      [{ operations: { crop: { x: 0, y: 0, width: 0, height: 10 } } }, 'INVALID_OPERATION', /operations\.crop\.width/],
      [{ operations: { crop: { x: -1, y: 0, width: 10, height: 10 } } }, 'INVALID_OPERATION', /operations\.crop\.x/],
      [{ operations: { format: 'bmp' } }, 'INVALID_FORMAT', /operations\.format/],
      [{ operations: { resize: {} } }, 'INVALID_OPERATION', /operations\.resize/],
      [{ operations: { resize: { width: 20000 } } }, 'INVALID_OPERATION', /operations\.resize\.width/],
      [{ operations: { resize: { width: 10, fit: 'stretch' } } }, 'INVALID_OPERATION', /operations\.resize\.fit/],
      [{ operations: { rotate: 'left' } }, 'INVALID_OPERATION', /operations\.rotate/],
      [{ operations: { flip: 'yes' } }, 'INVALID_OPERATION', /operations\.flip/],
      [{ operations: { quality: 0, format: 'jpeg' } }, 'INVALID_OPERATION', /operations\.quality/],
      [{ operations: { blur: 3 } }, 'INVALID_OPERATION', /operations\.blur/],
      [{ operations: {} }, 'NO_OPERATION', /operations/],
      [{ operations: { rotate: 360 } }, 'NO_OPERATION', /operations/],
      [{}, 'INVALID_OPERATION', /"operations" is required/],
      [{ operations: { flop: true }, save_as: 'replace' }, 'INVALID_PARAMETER', /save_as/],
      [{ operations: { flop: true }, save_as: 'overwrite', name: 'x.png' }, 'INVALID_PARAMETER', /"name"/],
      [{ operations: { flop: true }, name: 'x.png', format: 'jpeg' }, 'INVALID_PARAMETER', /"format"/],
      [{ operations: { format: 'jpeg' }, name: 'x.png' }, 'INVALID_PARAMETER', /"name".*image\/png/],
      [{ operations: { flop: true }, folder: '/a/../x' }, 'INVALID_FOLDER', /folder/],
    ];
    for (const [body, code, msg] of cases) {
      const r = await h.call('POST', `/files/${source.uuid}/edit`, { body });
      expect([r.status, r.body.code], JSON.stringify(body)).toEqual([400, code]);
      expect(String(r.body.msg), JSON.stringify(body)).toMatch(msg);
    }
    // Nothing was written by the refused edits.
    expect(((await h.call('GET', '/files?folder=/edit/bad')).body.files as FileDoc[]).map((f) => f.name)).toEqual(['small.png']);
  });

  it('refuses files that are not images (400), unknown uuids (404) and keys without FILE_IMAGE_EDITOR (403)', async () => {
    const text = await upload('/edit/bad', 'notes.txt', Buffer.from('not an image'));
    const r = await h.call('POST', `/files/${text.uuid}/edit`, { body: { operations: { rotate: 90 } } });
    expect([r.status, r.body.code]).toEqual([400, 'NOT_AN_IMAGE']);
    // Named like an image, but the bytes are not one.
    const fake = await upload('/edit/bad', 'fake.png', Buffer.from('definitely not a png'));
    const f = await h.call('POST', `/files/${fake.uuid}/edit`, { body: { operations: { rotate: 90 } } });
    expect([f.status, f.body.code]).toEqual([400, 'NOT_AN_IMAGE']);
    const gone = await h.call('POST', `/files/${missing}/edit`, { body: { operations: { rotate: 90 } } });
    expect([gone.status, gone.body.code]).toEqual([404, 'FILE_NOT_FOUND']);
    const image = await upload('/edit/perm', 'ok.png', scene);
    const denied = await h.call('POST', `/files/${image.uuid}/edit`, {
      key: await key('FILE_UPLOAD'),
      body: { operations: { rotate: 90 } },
    });
    expect([denied.status, denied.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(String(denied.body.msg)).toContain('FILE_IMAGE_EDITOR');
  });

  it('refuses sources past the pixel limit with a 413 before decoding them', async () => {
    const bomb = await upload('/edit/bad', 'bomb.png', await pngClaiming(30_000, 30_000));
    const r = await h.call('POST', `/files/${bomb.uuid}/edit`, { body: { operations: { rotate: 90 } } });
    expect([r.status, r.body.code]).toEqual([413, 'IMAGE_TOO_LARGE']);
  });
});

describe('image editor and SASS keys', () => {
  it('keeps copies inside the upload scope and reads only files inside the listing scope', async () => {
    const inside = await upload('/scoped/in', 'in.png', scene);
    const outside = await upload('/unscoped', 'out.png', scene);
    const template = (
      await h.call('POST', '/access/templates', {
        body: { name: 'editor', permissions: ['FILE_IMAGE_EDITOR'], dir_scope: '/scoped/*', list_scope: '/scoped/*' },
      })
    ).body.template as { id: string };
    const exchanged = await h.call('GET', `${h.server.url}/${h.server.token}/key/${template.id}`, { key: null });
    const sass = exchanged.body.key as string;
    const edit = (uuid: string, extra: Record<string, unknown> = {}) =>
      h.call('POST', `/files/${uuid}/edit`, { key: sass, body: { operations: { flop: true }, ...extra } });

    const ok = await edit(inside.uuid);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((ok.body.file as FileDoc).folder.name).toBe('/scoped/in');
    const away = await edit(inside.uuid, { folder: '/elsewhere' });
    expect([away.status, away.body.code]).toEqual([403, 'OUTSIDE_FOLDER_SCOPE']);
    const foreign = await edit(outside.uuid);
    expect([foreign.status, foreign.body.code]).toEqual([403, 'OUTSIDE_FOLDER_SCOPE']);
    // The refused edits stored nothing.
    expect((await h.call('GET', '/files?folder=/elsewhere')).body.files).toEqual([]);
  });
});

describe('image editor durability', () => {
  it('an edited copy and an overwrite are still there, bytes and rows, after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfx-edit-'));
    const options = { port: 0, data: dir, rootKey: 'edit-restart-key', logLevel: 'silent' as const };
    try {
      let server = await startServer(options);
      const api = (): string => `${server.url}/${server.token}/v5`;
      const headers = { 'X-Filerobot-Key': 'edit-restart-key' };
      const form = new FormData();
      form.append('file', new Blob([scene]), 'keep.png');
      const uploaded = (await (await fetch(`${api()}/files?folder=/keep`, { method: 'POST', headers, body: form })).json()) as {
        file: FileDoc;
      };
      const edit = async (body: unknown): Promise<FileDoc> => {
        const r = await fetch(`${api()}/files/${uploaded.file.uuid}/edit`, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        return ((await r.json()) as { file: FileDoc }).file;
      };
      const copy = await edit({ operations: { crop: { x: 150, y: 0, width: 150, height: 200 } } });
      const over = await edit({ operations: { resize: { width: 60 } }, save_as: 'overwrite' });
      await server.close();

      server = await startServer(options);
      for (const expected of [copy, over]) {
        const r = await fetch(`${api()}/files/${expected.uuid}`, { headers });
        const file = ((await r.json()) as { file: FileDoc }).file;
        expect(file.hash.sha1).toBe(expected.hash.sha1);
        expect(sha1(await bytes(file.url.cdn))).toBe(expected.hash.sha1);
      }
      expect(await pixel(await bytes(copy.url.cdn.replace(/^http:\/\/[^/]+/, server.url)), 10, 10)).toEqual([150, 200, [0, 0, 255, 255]]);
      await server.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
