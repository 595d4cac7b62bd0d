import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/*
 * Output-size bounds of the CDN transforms and the image editor's resize: with one side given the
 * other follows the aspect ratio, and must not run past 10000 (a 4x40 strip at w=10000 used to
 * render 10000x100000). Sources are tiny strips, so even a regression renders a few megapixels only.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const strip = (width: number, height: number): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: '#336699' } }).png().toBuffer();

/** A 10×10 PNG whose header claims width×height: refused from the header, never decoded. */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const out = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#336699' } }).png().toBuffer();
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

async function upload(folder: string, name: string, content: Buffer): Promise<{ uuid: string; url: { cdn: string } }> {
  const r = await h.upload(folder, name, content);
  expect(r.status, JSON.stringify(r)).toBe('success');
  return r.file as { uuid: string; url: { cdn: string } };
}

async function cdnSize(url: string, query: string): Promise<{ status: number; size?: [number, number]; body?: string }> {
  const r = await fetch(`${url}&${query}`);
  const bytes = Buffer.from(await r.arrayBuffer());
  if (!r.ok) return { status: r.status, body: bytes.toString('utf8') };
  const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  return { status: r.status, size: [meta.width as number, meta.height as number] };
}

describe('CDN transform output bounds', () => {
  it('keeps the side that follows the aspect ratio within 10000, for every func and with dpr', async () => {
    const tall = await upload('/bounds/cdn', 'tall.png', await strip(1, 100));
    const wide = await upload('/bounds/cdn', 'wide.png', await strip(100, 1));
    const cases: Array<[string, string, [number, number]]> = [
      [tall.url.cdn, 'w=200', [100, 10_000]],
      [tall.url.cdn, 'w=200&func=crop', [100, 10_000]],
      [tall.url.cdn, 'w=200&func=cover&gravity=north', [100, 10_000]],
      [tall.url.cdn, 'w=200&func=fit', [100, 10_000]],
      [tall.url.cdn, 'w=50&dpr=4', [100, 10_000]],
      [wide.url.cdn, 'h=200&force_format=webp', [10_000, 100]],
      // bound never enlarges.
      [tall.url.cdn, 'w=200&func=bound', [1, 100]],
      // Within bounds nothing changes: the other side still follows the aspect ratio.
      [tall.url.cdn, 'w=20', [20, 2000]],
      [wide.url.cdn, 'w=50', [50, 1]],
    ];
    for (const [url, query, size] of cases) {
      expect(await cdnSize(url, query), query).toEqual({ status: 200, size });
    }
  });

  it('refuses a side over 10000 with a 400 naming it', async () => {
    const tall = await upload('/bounds/cdn', 'tall2.png', await strip(4, 40));
    const r = await cdnSize(tall.url.cdn, 'h=10001');
    expect(r.status).toBe(400);
    const body = JSON.parse(r.body as string) as { code: string; msg: string };
    expect(body.code).toBe('INVALID_TRANSFORM');
    expect(body.msg).toContain('"h"');
  });
});

describe('image editor output bounds', () => {
  const edit = (uuid: string, operations: Record<string, unknown>) =>
    h.call('POST', `/files/${uuid}/edit`, { body: { operations } });

  it('refuses a resize whose result has a side over 10000 or more than 40 million pixels (413)', async () => {
    const tall = await upload('/bounds/edit', 'tall.png', await strip(1, 100));
    const wide = await upload('/bounds/edit', 'wide.png', await strip(100, 1));
    const small = await upload('/bounds/edit', 'small.png', await strip(4, 4));
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [tall.uuid, { resize: { width: 200 } }, /200×20000/],
      [tall.uuid, { resize: { width: 200, height: 1, fit: 'outside' } }, /200×20000/],
      [wide.uuid, { resize: { height: 200 } }, /20000×200/],
      // A quarter turn makes the wide strip tall before the resize.
      [wide.uuid, { rotate: 90, resize: { width: 200 } }, /200×20000/],
      [small.uuid, { resize: { width: 10_000, height: 4_001, fit: 'fill' } }, /10000×4001/],
    ];
    for (const [uuid, operations, msg] of cases) {
      const r = await edit(uuid, operations);
      expect([r.status, r.body.code], JSON.stringify(operations)).toEqual([413, 'IMAGE_TOO_LARGE']);
      expect(String(r.body.msg), JSON.stringify(operations)).toMatch(msg);
      expect(String(r.body.msg)).toContain('operations.resize');
    }
    // Nothing was written by the refused edits.
    const listed = (await h.call('GET', '/files?folder=/bounds/edit')).body.files as Array<{ name: string }>;
    expect(listed.map((f) => f.name).sort()).toEqual(['small.png', 'tall.png', 'wide.png']);
  });

  it('still resizes within the bounds', async () => {
    const tall = await upload('/bounds/edit-ok', 'tall.png', await strip(4, 40));
    const inside = await edit(tall.uuid, { resize: { width: 100, height: 10_000 } });
    expect(inside.status, JSON.stringify(inside.body)).toBe(200);
    expect((inside.body.file as { info: { img_w: number; img_h: number } }).info).toMatchObject({ img_w: 100, img_h: 1000 });
    const oneSide = await edit(tall.uuid, { resize: { height: 400 } });
    expect(oneSide.status, JSON.stringify(oneSide.body)).toBe(200);
    expect((oneSide.body.file as { info: { img_w: number; img_h: number } }).info).toMatchObject({ img_w: 40, img_h: 400 });
  });

  it('refuses a source over 40 million pixels even when the crop is small (413)', async () => {
    const big = await upload('/bounds/edit', 'big.png', await pngClaiming(8000, 6000));
    const r = await edit(big.uuid, { crop: { x: 0, y: 0, width: 10, height: 10 } });
    expect([r.status, r.body.code]).toEqual([413, 'IMAGE_TOO_LARGE']);
    expect(String(r.body.msg)).toContain('40000000');
  });
});
