import { request } from 'node:http';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/*
 * The public CDN bounds the work a caller without a key can cause: a cap on the pixels one
 * transform writes, and a render budget per client address (cache misses only). And an explicit
 * force_format is an order, not a wish the Accept header can overrule.
 */

const png = (width: number, height: number): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: '#336699' } }).png().toBuffer();

async function upload(h: Harness, folder: string, name: string, content: Buffer): Promise<string> {
  const r = await h.upload(folder, name, content);
  expect(r.status, JSON.stringify(r)).toBe('success');
  return (r.file as { url: { cdn: string } }).url.cdn;
}

interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  json: () => { code: string; msg: string; hint: string };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const r = await fetch(url, { headers });
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, body, json: () => JSON.parse(body.toString('utf8')) };
}

/** A GET with no Accept header at all (fetch always sends one). */
function getWithoutAccept(url: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const formatOf = async (bytes: Buffer): Promise<string | undefined> => (await sharp(bytes).metadata()).format;

describe('CDN force_format', () => {
  let h: Harness;
  let cdn: string;
  beforeAll(async () => {
    h = await startHarness();
    cdn = await upload(h, '/formats', 'blue.png', await png(64, 48));
  });
  afterAll(async () => {
    await h.close();
  });

  it('force_format=webp answers WebP whatever the Accept header (curl sends */*)', async () => {
    for (const accept of ['*/*', 'image/jpeg', 'image/png,image/*;q=0.8']) {
      const r = await get(`${cdn}&w=32&force_format=webp`, { accept });
      expect([r.status, r.headers.get('content-type'), await formatOf(r.body)], accept).toEqual([200, 'image/webp', 'webp']);
      // One format does not depend on Accept, so shared caches need not keep a copy per Accept.
      expect(r.headers.get('vary'), accept).toBeNull();
    }
    const bare = await getWithoutAccept(`${cdn}&w=32&force_format=webp`);
    expect([bare.status, bare.type, await formatOf(bare.body)]).toEqual([200, 'image/webp', 'webp']);
  });

  it('each forced format is its own cache entry and ETag', async () => {
    const etags = new Set<string | null>();
    for (const [format, type, decoded] of [
      ['png', 'image/png', 'png'],
      ['jpeg', 'image/jpeg', 'jpeg'],
      ['webp', 'image/webp', 'webp'],
      ['png', 'image/png', 'png'],
    ] as const) {
      const r = await get(`${cdn}&w=20&force_format=${format}`);
      expect([r.status, r.headers.get('content-type'), await formatOf(r.body)]).toEqual([200, type, decoded]);
      etags.add(r.headers.get('etag'));
    }
    expect(etags.size).toBe(3);
  });

  it('a force_format list negotiates with Accept, falls back to its last entry, and says Vary: Accept', async () => {
    const chosen = await get(`${cdn}&w=24&force_format=webp,jpeg`, { accept: 'image/webp,*/*' });
    expect([chosen.headers.get('content-type'), chosen.headers.get('vary')]).toEqual(['image/webp', 'Accept']);
    const fallback = await get(`${cdn}&w=24&force_format=webp,jpeg`, { accept: '*/*' });
    expect([fallback.headers.get('content-type'), await formatOf(fallback.body)]).toEqual(['image/jpeg', 'jpeg']);
    expect(fallback.headers.get('vary')).toBe('Accept');
    const last = await get(`${cdn}&w=24&force_format=avif,webp`, { accept: '*/*' });
    expect(last.headers.get('content-type')).toBe('image/webp');
  });
});

describe('CDN output pixel cap', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxTransformPixels: 1_000_000 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses a transform over the cap with a 413 naming the cap and the option', async () => {
    const square = await upload(h, '/cap', 'square.png', await png(100, 100));
    const ok = await get(`${square}&w=1000&h=1000&func=crop`);
    expect([ok.status, ok.headers.get('content-type')]).toEqual([200, 'image/png']);
    const over = await get(`${square}&w=1001&h=1000&func=crop`);
    expect(over.status).toBe(413);
    const body = over.json();
    expect(body.code).toBe('IMAGE_TOO_LARGE');
    expect(body.msg).toContain('1001×1000');
    expect(body.msg).toContain('1000000');
    expect(body.hint).toContain('maxTransformPixels');
    expect(body.hint).toContain('--max-transform-pixels');
    // dpr counts: 500×500 at dpr 3 is 1500×1500.
    expect((await get(`${square}&w=500&h=500&func=crop&dpr=3`)).status).toBe(413);
    // org_if_sml keeps a small image from growing, but func=fit still pads it out to the whole box.
    const padded = await get(`${square}&w=1001&h=1000&func=fit&org_if_sml=1`);
    expect([padded.status, padded.json().msg]).toEqual([413, expect.stringContaining('1001×1000')]);
    const fits = await get(`${square}&w=1000&h=1000&func=fit&org_if_sml=1`);
    expect([fits.status, (await sharp(fits.body).metadata()).width]).toEqual([200, 1000]);
    // The original is never capped.
    expect((await get(square)).status).toBe(200);
  });

  it('works out the side that follows the aspect ratio from the source before refusing', async () => {
    const strip = await upload(h, '/cap', 'strip.png', await png(2, 100));
    // w=140 on a 2×100 strip is 140×7000, under the cap; w=150 is 150×7500, over it.
    const under = await get(`${strip}&w=140`);
    expect(under.status).toBe(200);
    expect((await sharp(under.body).metadata()).height).toBe(7000);
    const over = await get(`${strip}&w=150`);
    expect([over.status, over.json().msg]).toEqual([413, expect.stringContaining('150×7500')]);
    // func=bound never enlarges, so a huge box over a small image is fine.
    expect((await get(`${strip}&w=10000&h=10000&func=bound`)).status).toBe(200);
  });

  it('has a 25 MP default', async () => {
    const d = await startHarness();
    try {
      const square = await upload(d, '/cap', 'square.png', await png(10, 10));
      const r = await get(`${square}&w=10000&h=10000`);
      expect([r.status, r.json().code]).toEqual([413, 'IMAGE_TOO_LARGE']);
      expect(r.json().msg).toContain('25000000');
    } finally {
      await d.close();
    }
  });
});

describe('CDN render budget per client address', () => {
  let h: Harness;
  let now = Date.parse('2030-01-01T00:00:00Z');
  let cdn: string;
  beforeAll(async () => {
    h = await startHarness({
      limits: { transformMegapixelsPerMinutePerIp: 2 },
      // The test talks from 127.0.0.1 as a proxy would, naming the client in X-Forwarded-For.
      trustedProxies: ['127.0.0.1/32'],
      clock: () => now,
    });
    cdn = await upload(h, '/budget', 'square.png', await png(100, 100));
  });
  afterAll(async () => {
    await h.close();
  });

  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  it('refuses renders past the budget with 429 and Retry-After; hits, originals and other addresses go on', async () => {
    const alice = from('203.0.113.1');
    // 1 MP written + 0.01 MP decoded: about half of alice's 2 MP.
    expect((await get(`${cdn}&w=1000&h=1000&func=crop`, alice)).status).toBe(200);
    // Cache hits are not renders: as many as she likes, and they cost nothing.
    for (let i = 0; i < 5; i++) expect((await get(`${cdn}&w=1000&h=1000&func=crop`, alice)).status).toBe(200);
    expect((await get(cdn, alice)).status).toBe(200);
    // A second megapixel render no longer fits.
    const refused = await get(`${cdn}&w=999&h=1000&func=crop`, alice);
    expect(refused.status).toBe(429);
    expect(refused.json().code).toBe('RENDER_BUDGET_EXCEEDED');
    expect(refused.json().hint).toContain('--transform-budget');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Past her budget, cached transforms and originals are still served to her.
    expect((await get(`${cdn}&w=1000&h=1000&func=crop`, alice)).status).toBe(200);
    expect((await get(cdn, alice)).status).toBe(200);
    // Another address has its own budget.
    expect((await get(`${cdn}&w=999&h=1000&func=crop`, from('203.0.113.2'))).status).toBe(200);
    // The budget refills with time.
    now += 60_000;
    expect((await get(`${cdn}&w=998&h=1000&func=crop`, alice)).status).toBe(200);
  });

  it('counts an IPv6 client as its /64, so moving to another address of it brings no fresh budget', async () => {
    expect((await get(`${cdn}&w=1000&h=990&func=crop`, from('2001:db8:1:2::1'))).status).toBe(200);
    const sameHost = await get(`${cdn}&w=1000&h=991&func=crop`, from('2001:db8:1:2:ffff::7'));
    expect([sameHost.status, sameHost.json().code]).toEqual([429, 'RENDER_BUDGET_EXCEEDED']);
    expect((await get(`${cdn}&w=1000&h=991&func=crop`, from('2001:db8:1:3::1'))).status).toBe(200);
  });
});
