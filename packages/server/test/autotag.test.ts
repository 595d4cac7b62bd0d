import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourName } from '../src/api/autotag.js';
import { startHarness, type Harness } from './harness.js';

interface Tag {
  key: string;
  label: string;
  confidence: number;
  kind: string;
}
interface Reply {
  action: string;
  file_uuid: string;
  languages: string[];
  unsupported_languages: string[];
  tags: Record<string, Tag[]>;
  analysis: {
    width: number;
    height: number;
    orientation: string;
    dominant_color: string | null;
    transparent_share: number;
    main_colors: Array<{ name: string; hex: string; share: number }>;
  };
  saved: boolean;
  file?: { uuid: string; tags: Record<string, Array<{ sid: string; label: string }>> };
}

let h: Harness;
const missing = '6f1c1b1e-0000-4000-8000-000000000000';
const uuids: Record<string, string> = {};

/** A small valid PNG whose header claims `width`×`height` pixels (a decompression bomb's shape). */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const out = await sharp({ create: { width: 10, height: 10, channels: 4, background: '#00ff0000' } }).png().toBuffer();
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

const solid = (width: number, height: number, colour: string): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer();

async function upload(name: string, content: Buffer): Promise<string> {
  const r = await h.upload('/autotag', name, content);
  expect(r.status, JSON.stringify(r)).toBe('success');
  return (r.file as { uuid: string }).uuid;
}

beforeAll(async () => {
  h = await startHarness();
  uuids.red = await upload('red-square.png', await solid(100, 100, '#ff0000'));
  uuids.wide = await upload('wide.png', await solid(200, 100, '#0000ff'));
  uuids.tall = await upload('tall.jpg', await sharp({ create: { width: 100, height: 300, channels: 3, background: '#ffff00' } }).jpeg().toBuffer());
  uuids.pano = await upload('pano.png', await solid(500, 100, '#808080'));
  // 200×100: red left half, white right half.
  uuids.split = await upload(
    'split.png',
    await sharp(await solid(200, 100, '#ff0000'))
      .composite([{ input: await solid(100, 100, '#ffffff'), left: 100, top: 0 }])
      .png()
      .toBuffer(),
  );
  // 100×100: left half fully transparent, right half green.
  const rgba = Buffer.alloc(100 * 100 * 4);
  for (let y = 0; y < 100; y++)
    for (let x = 50; x < 100; x++) rgba.set([0, 255, 0, 255], (y * 100 + x) * 4);
  uuids.logo = await upload('logo.png', await sharp(rgba, { raw: { width: 100, height: 100, channels: 4 } }).png().toBuffer());
  uuids.text = await upload('notes.txt', Buffer.from('plain text'));
});
afterAll(async () => {
  await h.close();
});

async function key(permission: string): Promise<string> {
  const r = await h.call('POST', '/access/keys', { body: { permissions: [permission] } });
  return (r.body.key as { secret: string }).secret;
}

async function tag(uuid: string, body: unknown = {}, secret?: string): Promise<Reply> {
  const r = await h.call('POST', `/files/${uuid}/autotag`, { body, key: secret });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as unknown as Reply;
}

const keys = (reply: Reply, lang = 'en'): string[] => reply.tags[lang]!.map((t) => t.key);
const find = (reply: Reply, k: string, lang = 'en'): Tag | undefined => reply.tags[lang]!.find((t) => t.key === k);

describe('auto-tagging (inferred: POST /{v}/files/{uuid}/autotag)', () => {
  it('tags a red square "red", "square" and "small" with FILE_PROCESS_AUTOTAGGING alone', async () => {
    const reply = await tag(uuids.red!, {}, await key('FILE_PROCESS_AUTOTAGGING'));
    expect(reply).toMatchObject({ action: 'file_analysed', file_uuid: uuids.red, languages: ['en'], saved: false });
    expect(find(reply, 'red')).toEqual({ key: 'red', label: 'red', confidence: 100, kind: 'color' });
    expect(find(reply, 'square')).toMatchObject({ kind: 'orientation', confidence: 100 });
    expect(find(reply, 'small')).toMatchObject({ kind: 'size' });
    expect(keys(reply)).not.toContain('transparent');
    expect(keys(reply).filter((k) => find(reply, k)!.kind === 'color')).toEqual(['red']);
    expect(reply.analysis).toMatchObject({ width: 100, height: 100, orientation: 'square', dominant_color: '#ff0000' });
    // Nothing is saved unless asked.
    expect((await h.call('GET', `/files/${uuids.red}`)).body.file).toMatchObject({ tags: {} });
  });

  it('reads the orientation from the pixel size', async () => {
    const wide = await tag(uuids.wide!);
    expect(keys(wide)).toEqual(expect.arrayContaining(['landscape', 'blue']));
    expect(keys(wide)).not.toContain('panorama');
    expect(keys(await tag(uuids.tall!))).toEqual(expect.arrayContaining(['portrait', 'yellow']));
    expect(keys(await tag(uuids.pano!))).toEqual(expect.arrayContaining(['panorama', 'gray']));
  });

  it('gives each colour the share of the image it covers; confidence and limit filter', async () => {
    const all = await tag(uuids.split!);
    expect(find(all, 'red')!.confidence).toBe(50);
    expect(find(all, 'white')!.confidence).toBe(50);
    expect(all.analysis.main_colors.map((c) => c.name).sort()).toEqual(['red', 'white']);

    const sure = await tag(uuids.split!, { confidence: 60 });
    expect(keys(sure).sort()).toEqual(['landscape', 'small']);
    const one = await tag(uuids.split!, { limit: 1 });
    expect(one.tags.en).toHaveLength(1);
    // Highest confidence first: the whole-image facts (100) before the half-image colours.
    expect(one.tags.en![0]!.confidence).toBe(100);
  });

  it('measures transparency and leaves transparent pixels out of the colours', async () => {
    const reply = await tag(uuids.logo!);
    expect(find(reply, 'transparent')).toMatchObject({ kind: 'transparency', confidence: 50 });
    expect(find(reply, 'green')!.confidence).toBe(100);
    expect(reply.analysis.transparent_share).toBeCloseTo(0.5, 2);
  });

  it('translates the tags (fr, de, es, it) and falls back to English for other languages', async () => {
    const reply = await tag(uuids.red!, { languages: ['fr', 'de-DE', 'xx'] });
    expect(reply.languages).toEqual(['fr', 'de', 'en']);
    expect(reply.unsupported_languages).toEqual(['xx']);
    expect(find(reply, 'red', 'fr')!.label).toBe('rouge');
    expect(find(reply, 'square', 'fr')!.label).toBe('carré');
    expect(find(reply, 'red', 'de')!.label).toBe('rot');
    expect(find(reply, 'red', 'en')!.label).toBe('red');
    // Same tags, same confidences, in every language.
    expect(reply.tags.fr!.map((t) => [t.key, t.confidence])).toEqual(reply.tags.en!.map((t) => [t.key, t.confidence]));
  });

  it('adds the tags to the file with save: true, once, keeping the tags it had', async () => {
    await h.call('PUT', `/file/${uuids.wide}/tags`, { body: { lang: 'en', new_tags: ['hero'] } });
    const saved = await tag(uuids.wide!, { languages: ['en', 'fr'], save: true, confidence: 90 });
    expect(saved).toMatchObject({ action: 'file_autotagged', saved: true });
    const labels = (lang: string): string[] => saved.file!.tags[lang]!.map((t) => t.label).sort();
    expect(labels('en')).toEqual(['blue', 'hero', 'landscape', 'small']);
    expect(labels('fr')).toEqual(['bleu', 'paysage', 'petit']);
    await tag(uuids.wide!, { languages: ['en', 'fr'], save: true, confidence: 90 });
    const file = (await h.call('GET', `/files/${uuids.wide}`)).body.file as Reply['file'];
    expect(file!.tags.en!.map((t) => t.label).sort()).toEqual(['blue', 'hero', 'landscape', 'small']);
    // Searchable like any tag.
    const found = (await h.call('GET', '/files?folder=/autotag&q=%23blue')).body.files as Array<{ uuid: string }>;
    expect(found.map((f) => f.uuid)).toEqual([uuids.wide]);
  });

  it('answers the reference body at /{token}/ask/images/autotag', async () => {
    const r = await h.call('POST', `${h.server.url}/${h.server.token}/ask/images/autotag`, {
      key: await key('FILE_PROCESS_AUTOTAGGING'),
      body: { file: { uuid: uuids.red }, meta: { languages: ['en', 'fr'], limit: 2, confidence: 80 } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const reply = r.body as unknown as Reply;
    expect(reply.file_uuid).toBe(uuids.red);
    expect(reply.tags.en).toHaveLength(2);
    expect(keys(reply)).toContain('red');
    expect(keys(reply, 'fr')).toEqual(keys(reply));
    const bad = await h.call('POST', `${h.server.url}/${h.server.token}/ask/images/autotag`, { body: { meta: {} } });
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_PARAMETER']);
    expect(String(bad.body.msg)).toContain('file.uuid');
    const gone = await h.call('POST', `${h.server.url}/${h.server.token}/ask/images/autotag`, { body: { file: { uuid: missing } } });
    expect([gone.status, gone.body.code]).toEqual([404, 'FILE_NOT_FOUND']);
  });

  it('refuses non-images (400), bad options (400, naming them), unknown files (404) and other keys (403)', async () => {
    const text = await h.call('POST', `/files/${uuids.text}/autotag`, { body: {} });
    expect([text.status, text.body.code]).toEqual([400, 'NOT_AN_IMAGE']);
    const cases: Array<[unknown, RegExp]> = [
      [{ confidence: 150 }, /"confidence"/],
      [{ meta: { limit: 0 } }, /"meta\.limit"/],
      [{ limit: 2.5 }, /"limit"/],
      [{ languages: [] }, /"languages"/],
      [{ languages: ['english!'] }, /"languages\[0\]"/],
      [{ save: 'yes' }, /"save"/],
    ];
    for (const [body, msg] of cases) {
      const r = await h.call('POST', `/files/${uuids.red}/autotag`, { body });
      expect([r.status, r.body.code], JSON.stringify(body)).toEqual([400, 'INVALID_PARAMETER']);
      expect(String(r.body.msg)).toMatch(msg);
    }
    const bomb = await upload('bomb.png', await pngClaiming(30_000, 30_000));
    const big = await h.call('POST', `/files/${bomb}/autotag`, { body: {} });
    expect([big.status, big.body.code]).toEqual([413, 'IMAGE_TOO_LARGE']);
    const gone = await h.call('POST', `/files/${missing}/autotag`, { body: {} });
    expect([gone.status, gone.body.code]).toEqual([404, 'FILE_NOT_FOUND']);
    const denied = await h.call('POST', `/files/${uuids.red}/autotag`, { key: await key('FILE_META_CHANGE'), body: {} });
    expect([denied.status, denied.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(String(denied.body.msg)).toContain('FILE_PROCESS_AUTOTAGGING');
  });
});

describe('colour names', () => {
  it('names the usual colours', () => {
    const cases: Array<[string, number, number, number]> = [
      ['red', 255, 0, 0],
      ['orange', 255, 165, 0],
      ['yellow', 255, 255, 0],
      ['green', 0, 128, 0],
      ['cyan', 0, 255, 255],
      ['blue', 0, 0, 128],
      ['purple', 128, 0, 128],
      ['pink', 255, 192, 203],
      ['pink', 255, 105, 180],
      ['brown', 139, 69, 19],
      ['black', 10, 10, 10],
      ['white', 250, 250, 250],
      ['gray', 128, 128, 128],
    ];
    for (const [name, r, g, b] of cases) expect(colourName(r, g, b), `${r},${g},${b}`).toBe(name);
  });
});
