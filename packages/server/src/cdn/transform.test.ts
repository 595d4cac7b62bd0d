import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../errors.js';
import { bytesInMemory, parseTransformParams, plannedOutputSize, TransformCache, type TransformParams } from './transform.js';

let root: string;
let blocks: string; // 400×300 PNG: left half red, right half blue
let noise: string; // 200×200 PNG of random pixels, so quality visibly changes the size
let alpha: string; // 100×100 PNG, half transparent
let text: string;
let truncated: string;
let bomb: string; // a valid PNG header claiming 30000×30000 pixels
let dirCount = 0;

const newCache = (
  options: {
    maxBytes?: number;
    maxEntries?: number;
    dir?: string;
    maxConcurrent?: number;
    maxQueued?: number;
    beforeRender?: () => Promise<void>;
    maxHotBytes?: number;
  } = {},
) =>
  new TransformCache({
    dir: options.dir ?? join(root, `cache-${dirCount++}`),
    maxBytes: options.maxBytes ?? 10_000_000,
    maxEntries: options.maxEntries,
    maxConcurrent: options.maxConcurrent,
    maxQueued: options.maxQueued,
    beforeRender: options.beforeRender,
    maxHotBytes: options.maxHotBytes,
  });

/** A gate renders wait at: `entered` counts the renders that reached it, `open()` lets them all through. */
function gate(): { hook: () => Promise<void>; entered: () => number; open: () => void } {
  let count = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    hook: () => {
      count++;
      return opened;
    },
    entered: () => count,
    open,
  };
}

const params = (query: Record<string, unknown>): TransformParams => {
  const parsed = parseTransformParams(query);
  if (!parsed) throw new Error('expected a transform');
  return parsed;
};

async function render(query: Record<string, unknown>, source = blocks, accept?: string) {
  const result = await newCache().get(source, source, 'image/png', params(query), accept);
  const meta = await sharp(result.path).metadata();
  return { ...result, meta };
}

async function pixel(file: string, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * info.channels;
  return [...data.subarray(offset, offset + 3)];
}

async function thrown(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

function pngClaiming(width: number, height: number, png: Buffer): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sfx-transform-'));
  blocks = join(root, 'blocks.png');
  const half = { width: 200, height: 300, channels: 3 as const };
  const blue = await sharp({ create: { ...half, background: '#0000ff' } })
    .png()
    .toBuffer();
  await sharp({ create: { width: 400, height: 300, channels: 3, background: '#ff0000' } })
    .composite([{ input: blue, left: 200, top: 0 }])
    .png()
    .toFile(blocks);
  noise = join(root, 'noise.png');
  const random = Buffer.alloc(200 * 200 * 3);
  for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + (i >> 3) * 104729) % 251;
  await sharp(random, { raw: { width: 200, height: 200, channels: 3 } })
    .png()
    .toFile(noise);
  alpha = join(root, 'alpha.png');
  await sharp({
    create: { width: 100, height: 100, channels: 4, background: { r: 0, g: 255, b: 0, alpha: 0 } },
  })
    .png()
    .toFile(alpha);
  text = join(root, 'notes.txt');
  writeFileSync(text, 'not an image at all\n'.repeat(50));
  truncated = join(root, 'truncated.png');
  writeFileSync(truncated, readFileSync(noise).subarray(0, 300));
  bomb = join(root, 'bomb.png');
  writeFileSync(bomb, pngClaiming(30_000, 30_000, readFileSync(alpha)));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('parseTransformParams', () => {
  it('returns undefined when nothing would change the original', () => {
    expect(parseTransformParams({})).toBeUndefined();
    expect(parseTransformParams({ vh: 'abc123', utm_source: 'x' })).toBeUndefined();
    expect(parseTransformParams({ func: 'proxy', w: '100' })).toBeUndefined();
  });

  it('reads values, aliases, repeated keys and bare flags', () => {
    expect(
      parseTransformParams({
        width: ['120', '999'],
        height: 80,
        func: 'CROP',
        q: '55',
        force_format: 'awebp,jpg',
        gravity: 'auto',
        dpr: '1.5',
        org_if_sml: '1',
        r: '-90',
        bg_color: 'FF0000',
        greyscale: '',
        vh: 'ignored',
      }),
    ).toEqual({
      w: 120,
      h: 80,
      func: 'crop',
      q: 55,
      formats: ['awebp', 'jpeg'],
      format: 'webp',
      gravity: 'auto',
      dpr: 1.5,
      org_if_sml: true,
      r: -90,
      bg_colour: '#ff0000',
      greyscale: true,
    });
    expect(parseTransformParams({ bg_colour: 'navy' })).toEqual({ bg_colour: 'navy' });
  });

  it.each([
    ['w', '0', '1..10000'],
    ['w', 'abc', '1..10000'],
    ['width', '10001', '1..10000'],
    ['h', '12.5', '1..10000'],
    ['q', '101', '1..100'],
    ['dpr', '6', '1..5'],
    ['r', '400', '-360..360'],
    ['func', 'zoom', 'crop, cover, fit, bound, proxy'],
    ['force_format', 'webp,bmp', 'awebp'],
    ['gravity', 'up', 'north'],
    ['bg_colour', 'notacolour', 'hex colour'],
    ['org_if_sml', 'maybe', '1 or 0'],
  ])('rejects %s=%s naming the parameter and range', (name, value, expected) => {
    let error: unknown;
    try {
      parseTransformParams({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.httpStatus).toBe(400);
    expect(apiError.code).toBe('INVALID_TRANSFORM');
    expect(apiError.message).toContain(`"${name}"`);
    expect(apiError.message).toContain(expected);
  });
});

describe('TransformCache rendering', () => {
  it('resizes by width only or height only keeping the aspect ratio', async () => {
    const byWidth = await render({ w: '200' });
    expect([byWidth.meta.width, byWidth.meta.height, byWidth.meta.format]).toEqual([200, 150, 'png']);
    expect(byWidth.type).toBe('image/png');
    const byHeight = await render({ h: '150' });
    expect([byHeight.meta.width, byHeight.meta.height]).toEqual([200, 150]);
  });

  it('upscales by default but not with org_if_sml', async () => {
    const big = await render({ w: '800' });
    expect([big.meta.width, big.meta.height]).toEqual([800, 600]);
    const kept = await render({ w: '800', org_if_sml: '1' });
    expect([kept.meta.width, kept.meta.height]).toEqual([400, 300]);
  });

  it('multiplies by dpr', async () => {
    const { meta } = await render({ w: '100', dpr: '2' });
    expect([meta.width, meta.height]).toEqual([200, 150]);
  });

  it('crop and cover give exactly w×h, crop honouring gravity', async () => {
    const crop = await render({ w: '100', h: '100', func: 'crop' });
    expect([crop.meta.width, crop.meta.height]).toEqual([100, 100]);
    const west = await render({ w: '100', h: '300', func: 'crop', gravity: 'west' });
    expect(await pixel(west.path, 50, 150)).toEqual([255, 0, 0]);
    const east = await render({ w: '100', h: '300', func: 'crop', gravity: 'east' });
    expect(await pixel(east.path, 50, 150)).toEqual([0, 0, 255]);
    const auto = await render({ w: '50', h: '50', func: 'crop', gravity: 'face' });
    expect([auto.meta.width, auto.meta.height]).toEqual([50, 50]);
    const cover = await render({ w: '200', h: '100', func: 'cover' });
    expect([cover.meta.width, cover.meta.height]).toEqual([200, 100]);
  });

  it('fit pads to exactly w×h with the background colour', async () => {
    const white = await render({ w: '200', h: '200', func: 'fit' });
    expect([white.meta.width, white.meta.height]).toEqual([200, 200]);
    expect(await pixel(white.path, 100, 5)).toEqual([255, 255, 255]);
    expect(await pixel(white.path, 50, 100)).toEqual([255, 0, 0]);
    const green = await render({ w: '200', h: '200', func: 'fit', bg_colour: '0f0' });
    expect(await pixel(green.path, 100, 5)).toEqual([0, 255, 0]);
  });

  it('bound fits inside without enlarging', async () => {
    const small = await render({ w: '200', h: '200', func: 'bound' });
    expect([small.meta.width, small.meta.height]).toEqual([200, 150]);
    const large = await render({ w: '800', h: '800', func: 'bound' });
    expect([large.meta.width, large.meta.height]).toEqual([400, 300]);
  });

  it('force_format: one format always wins; a list takes the first the requester accepts', async () => {
    expect((await render({ w: '50', force_format: 'webp' })).meta.format).toBe('webp');
    const webp = await render({ w: '50', force_format: 'avif,webp' }, blocks, 'image/webp,*/*');
    expect([webp.meta.format, webp.type]).toEqual(['webp', 'image/webp']);
    const jpeg = await render({ w: '50', force_format: 'webp,jpeg' }, blocks, 'image/png,*/*');
    expect([jpeg.meta.format, jpeg.type, jpeg.path.endsWith('.jpg')]).toEqual(['jpeg', 'image/jpeg', true]);
    const avif = await render({ w: '50', force_format: 'avif' }, blocks, 'image/avif');
    expect([avif.meta.format, avif.meta.compression, avif.type]).toEqual(['heif', 'av1', 'image/avif']);
    expect((await render({ w: '50', force_format: 'awebp,png' })).meta.format).toBe('webp');
    // A single format is an order, whatever the Accept header says.
    expect((await render({ w: '50', force_format: 'webp' }, blocks, 'image/jpeg')).meta.format).toBe('webp');
    expect((await render({ w: '50', force_format: 'webp' }, blocks, '*/*')).meta.format).toBe('webp');
    // In a list nothing acceptable falls back to the last entry, never outside the list.
    expect((await render({ w: '50', force_format: 'avif,webp' }, blocks, '*/*')).meta.format).toBe('webp');
  });

  it('flattens transparency onto the background for jpeg', async () => {
    const { path, meta } = await render({ w: '50', force_format: 'jpeg' }, alpha);
    expect(meta.format).toBe('jpeg');
    expect(await pixel(path, 25, 25)).toEqual([255, 255, 255]);
  });

  it('lower q gives a smaller file', async () => {
    const low = await render({ q: '10', force_format: 'jpeg' }, noise);
    const high = await render({ q: '95', force_format: 'jpeg' }, noise);
    expect(low.size).toBeLessThan(high.size);
    const lowWebp = await render({ q: '10', force_format: 'webp' }, noise);
    const highWebp = await render({ q: '95', force_format: 'webp' }, noise);
    expect(lowWebp.size).toBeLessThan(highWebp.size);
  });

  it('rotates, swapping width and height for quarter turns', async () => {
    const quarter = await render({ r: '90' });
    expect([quarter.meta.width, quarter.meta.height]).toEqual([300, 400]);
    const resized = await render({ r: '-90', w: '150' });
    expect([resized.meta.width, resized.meta.height]).toEqual([150, 200]);
    const tilted = await render({ r: '45' });
    expect(tilted.meta.width).toBeGreaterThan(400);
  });

  it('greyscale makes the colour channels equal', async () => {
    const { path } = await render({ greyscale: '1' });
    const { data, info } = await sharp(path)
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info.channels).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < data.length; i += info.channels * 97) {
      expect(data[i]).toBe(data[i + 1]);
      expect(data[i + 1]).toBe(data[i + 2]);
    }
    expect(await pixel(path, 10, 10)).not.toEqual([255, 0, 0]);
  });

  it('refuses non-images and undecodable images with 415', async () => {
    const cache = newCache();
    for (const source of [text, truncated]) {
      const error = await thrown(cache.get(source, source, 'text/plain', params({ w: '10' })));
      expect([error.httpStatus, error.code]).toEqual([415, 'NOT_AN_IMAGE']);
    }
    expect(cache.entryCount).toBe(0);
  });

  it('refuses decompression bombs with 413', async () => {
    const error = await thrown(newCache().get('bomb', bomb, 'image/png', params({ w: '10' })));
    expect([error.httpStatus, error.code]).toEqual([413, 'IMAGE_TOO_LARGE']);
  });

  it('proxy returns the source untouched', async () => {
    const result = await newCache().get('k', blocks, 'image/png', { func: 'proxy', w: 10 });
    expect(result).toEqual({ path: blocks, type: 'image/png', size: statSync(blocks).size });
  });
});

describe('plannedOutputSize', () => {
  // The pixel cap and the render budget are both worked out from this estimate before rendering:
  // a render that writes more than it says slips past both.
  it('never says less than a render writes, for every func, org_if_sml, rotation and dpr', async () => {
    const cache = new TransformCache({ dir: join(root, `cache-${dirCount++}`), maxBytes: 1e9, maxOutputPixels: 1e12 });
    const under: string[] = [];
    for (const [width, height] of [[10, 10], [10, 300], [200, 150]] as const) {
      const source = join(root, `plan-${width}x${height}.png`);
      writeFileSync(source, await sharp({ create: { width, height, channels: 3, background: '#369' } }).png().toBuffer());
      const meta = await sharp(source).metadata();
      for (const func of [undefined, 'crop', 'cover', 'fit', 'bound'])
        for (const org of [undefined, '1'])
          for (const [w, h] of [[100, undefined], [100, 50], [20, 500], [500, 500]])
            for (const [r, dpr] of [[undefined, undefined], [45, 2]]) {
              const query = { func, org_if_sml: org, w, h, r, dpr };
              const planned = plannedOutputSize(meta, params(query));
              const written = await sharp((await cache.get(source, source, 'image/png', params(query))).path).metadata();
              if (written.width! * written.height! > planned.width * planned.height)
                under.push(`${width}×${height} ${JSON.stringify(query)}: planned ${planned.width}×${planned.height}, wrote ${written.width}×${written.height}`);
            }
    }
    expect(under).toEqual([]);
  });
});

describe('TransformCache caching', () => {
  it('computes once and reuses the file afterwards', async () => {
    const cache = newCache();
    const first = await cache.get('a', blocks, 'image/png', params({ w: '100' }));
    const inode = statSync(first.path).ino;
    const second = await cache.get('a', blocks, 'image/png', params({ width: '100', vh: 'v2' }));
    expect(second).toEqual(first);
    expect(statSync(second.path).ino).toBe(inode);
    expect(cache.stats).toMatchObject({ renders: 1, hits: 1 });
    // Same chosen format through a different candidate list shares the entry.
    await cache.get('a', blocks, 'image/png', params({ w: '100', force_format: 'webp' }));
    await cache.get('a', blocks, 'image/png', params({ w: '100', force_format: 'avif,webp' }), 'image/webp');
    expect(cache.stats).toMatchObject({ renders: 2, hits: 2 });
    // A different source key is a different entry.
    await cache.get('b', blocks, 'image/png', params({ w: '100' }));
    expect(cache.stats.renders).toBe(3);
  });

  it('serves repeated hits on a small render from memory, bounded by maxHotBytes', async () => {
    const cache = newCache();
    const miss = await cache.get('h', blocks, 'image/png', params({ w: '90' }));
    const onDisk = readFileSync(miss.path);
    expect(bytesInMemory(miss)).toBeUndefined();
    const firstHit = await cache.get('h', blocks, 'image/png', params({ w: '90' }));
    expect(bytesInMemory(firstHit)).toEqual(onDisk);
    expect(cache.memoryBytes).toBe(onDisk.length);
    // Later hits need no file: the bytes come from memory, equal to what was rendered.
    unlinkSync(miss.path);
    const hot = await cache.get('h', blocks, 'image/png', params({ w: '90' }));
    expect(hot).toEqual(miss);
    expect(bytesInMemory(hot)).toEqual(onDisk);
    expect(cache.stats).toMatchObject({ renders: 1, hits: 2 });

    // With room for one render only, the least recently used one leaves memory (its file stays).
    const small = newCache({ maxHotBytes: onDisk.length + 10 });
    for (const w of ['90', '91']) {
      await small.get('h', blocks, 'image/png', params({ w }));
      await small.get('h', blocks, 'image/png', params({ w }));
    }
    expect(small.memoryBytes).toBeLessThanOrEqual(onDisk.length + 10);
    const cooled = await small.get('h', blocks, 'image/png', params({ w: '90' }));
    expect(readFileSync(cooled.path)).toEqual(onDisk);
    expect(small.stats.renders).toBe(2);
  });

  it('computes concurrent requests for one key once', async () => {
    const cache = newCache();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => cache.get('c', blocks, 'image/png', params({ w: '120' }))),
    );
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(cache.stats.renders).toBe(1);
    expect(readdirSync(join(results[0]!.path, '..'))).toHaveLength(1);
  });

  it('recomputes when the cache directory was wiped', async () => {
    const dir = join(root, 'wiped');
    const cache = newCache({ dir });
    const first = await cache.get('d', blocks, 'image/png', params({ w: '60' }));
    rmSync(dir, { recursive: true });
    const again = await cache.get('d', blocks, 'image/png', params({ w: '60' }));
    expect(again.path).toBe(first.path);
    expect(statSync(again.path).size).toBe(again.size);
    expect(cache.stats.renders).toBe(2);
  });

  it('evicts least recently used entries to stay under maxBytes and maxEntries', async () => {
    const probe = await newCache().get('e', noise, 'image/png', params({ w: '100', force_format: 'jpeg' }));
    const dir = join(root, 'bounded');
    const maxBytes = Math.floor(probe.size * 3.5);
    const cache = newCache({ dir, maxBytes });
    const widths = [100, 101, 102, 103, 104, 105];
    for (const w of widths.slice(0, 3))
      await cache.get('e', noise, 'image/png', params({ w, force_format: 'jpeg' }));
    // Touch the oldest so it survives the next evictions.
    const kept = await cache.get('e', noise, 'image/png', params({ w: 100, force_format: 'jpeg' }));
    for (const w of widths.slice(3, 5))
      await cache.get('e', noise, 'image/png', params({ w, force_format: 'jpeg' }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const onDisk = readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    expect(cache.totalBytes).toBeLessThanOrEqual(maxBytes);
    expect(onDisk).toBe(cache.totalBytes);
    expect(cache.stats.evictions).toBeGreaterThan(0);
    expect(statSync(kept.path).isFile()).toBe(true);
    expect(cache.entryCount).toBe(3);

    const few = newCache({ maxEntries: 2 });
    for (const w of widths) await few.get('e', noise, 'image/png', params({ w, force_format: 'jpeg' }));
    expect(few.entryCount).toBe(2);
  });

  it('keeps using its files after a restart, still honouring the bound', async () => {
    const dir = join(root, 'restart');
    const before = newCache({ dir });
    const results = [];
    for (const w of [40, 50, 60]) results.push(await before.get('f', blocks, 'image/png', params({ w })));
    writeFileSync(join(dir, 'unrelated.txt'), 'ignored');
    const after = newCache({ dir });
    expect(await after.get('f', blocks, 'image/png', params({ w: 60 }))).toEqual(results[2]);
    expect(after.stats).toMatchObject({ renders: 0, hits: 1 });

    const smaller = newCache({ dir, maxEntries: 1 });
    expect(smaller.entryCount).toBe(1);
    expect(readdirSync(dir).filter((name) => !name.endsWith('.txt'))).toHaveLength(1);
    unlinkSync(join(dir, 'unrelated.txt'));
  });
});

describe('TransformCache render slots', () => {
  it('runs at most maxConcurrent renders, queues maxQueued more and refuses the rest with 503', async () => {
    const held = gate();
    const cache = newCache({ maxConcurrent: 1, maxQueued: 1, beforeRender: held.hook });
    // An entry cached beforehand, in a directory a gated cache opens below.
    const warm = newCache({ dir: join(root, 'slots'), maxConcurrent: 1, maxQueued: 0 });
    const cached = await warm.get('s', blocks, 'image/png', params({ w: '30' }));

    const first = cache.get('s', blocks, 'image/png', params({ w: '31' }));
    const second = cache.get('s', blocks, 'image/png', params({ w: '32' }));
    await vi.waitFor(() => expect(cache.rendering).toEqual({ running: 1, queued: 1 }));
    expect(held.entered()).toBe(1);

    // A third distinct render finds the slot and the queue taken.
    const busy = await thrown(cache.get('s', blocks, 'image/png', params({ w: '33' })));
    expect([busy.httpStatus, busy.code, busy.headers]).toEqual([503, 'TRANSFORM_BUSY', { 'retry-after': '1' }]);
    // The same key as a render in progress joins it rather than queueing.
    const joined = cache.get('s', blocks, 'image/png', params({ width: '31' }));
    // func=proxy (the original) never waits; nor does a hit (another cache over a warmed directory).
    expect(await cache.get('s', blocks, 'image/png', { func: 'proxy', w: 10 })).toMatchObject({ path: blocks });
    const hits = newCache({ dir: join(root, 'slots'), maxConcurrent: 1, maxQueued: 0, beforeRender: held.hook });
    const blocker = hits.get('s', blocks, 'image/png', params({ w: '34' }));
    await vi.waitFor(() => expect(hits.rendering.running).toBe(1));
    expect(await hits.get('s', blocks, 'image/png', params({ w: '30' }))).toEqual(cached);
    expect(cache.stats).toMatchObject({ renders: 0, busy: 1 }); // both still held at the gate

    held.open();
    const [a, b, c] = await Promise.all([first, second, joined, blocker]);
    expect(a).toEqual(c);
    expect((await sharp(a!.path).metadata()).width).toBe(31);
    expect((await sharp(b!.path).metadata()).width).toBe(32);
    expect(cache.stats).toMatchObject({ renders: 2, busy: 1 });
    expect(cache.rendering).toEqual({ running: 0, queued: 0 });
    // With the slot free again the refused render goes through.
    expect((await sharp((await cache.get('s', blocks, 'image/png', params({ w: '33' }))).path).metadata()).width).toBe(33);
  });

  it('serves waiting renders round-robin by client, so one burst does not hold everyone else back', async () => {
    const held = gate();
    const cache = newCache({ maxConcurrent: 1, maxQueued: 10, beforeRender: held.hook });
    const order: string[] = [];
    const request = (name: string, client: string, w: number) =>
      cache.get('rr', blocks, 'image/png', params({ w }), undefined, client).then(() => order.push(name));
    // a1 takes the slot; a2..a4 queue, then b1 arrives behind them.
    const all = [request('a1', 'A', 41)];
    await vi.waitFor(() => expect(cache.rendering.running).toBe(1));
    for (const [name, w] of [['a2', 42], ['a3', 43], ['a4', 44]] as const) {
      all.push(request(name, 'A', w));
      await vi.waitFor(() => expect(cache.rendering.queued).toBe(all.length - 1));
    }
    all.push(request('b1', 'B', 45));
    await vi.waitFor(() => expect(cache.rendering.queued).toBe(4));
    held.open();
    await Promise.all(all);
    expect(order).toEqual(['a1', 'a2', 'b1', 'a3', 'a4']);
  });

  it('frees the slot when a render fails', async () => {
    const cache = newCache({ maxConcurrent: 1, maxQueued: 0 });
    const error = await thrown(cache.get('t', text, 'text/plain', params({ w: '10' })));
    expect(error.code).toBe('NOT_AN_IMAGE');
    expect(cache.rendering).toEqual({ running: 0, queued: 0 });
    expect((await cache.get('t', blocks, 'image/png', params({ w: '10' }))).size).toBeGreaterThan(0);
  });
});
