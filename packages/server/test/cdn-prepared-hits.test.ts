import { createHash } from 'node:crypto';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/**
 * Repeated hits on a cached render are answered from a reply prepared in memory, ahead of the
 * routes (cdn/delivery.ts, PreparedHit). These tests warm that path, then check that it answers
 * exactly as the routes do, and that a deleted or replaced file stops being served at once.
 */

type FileObject = { uuid: string; name: string; url: { cdn: string } };

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const image = (background: string): Promise<Buffer> =>
  sharp({ create: { width: 64, height: 48, channels: 3, background } }).png().toBuffer();

async function uploadForm(folder: string, name: string, content: Buffer, query = ''): Promise<FileObject> {
  const body = await h.upload(folder, name, content, {}, query);
  expect(body.status, JSON.stringify(body)).toBe('success');
  return body.file as FileObject;
}

interface Got {
  status: number;
  headers: Record<string, string>;
  bytes: Buffer;
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  const response = await fetch(url, { headers, method });
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

/** The render, then enough hits for later ones to be answered from the prepared reply. */
async function warm(url: string, headers: Record<string, string> = {}): Promise<Got[]> {
  const replies: Got[] = [];
  for (let i = 0; i < 4; i++) replies.push(await get(url, headers));
  for (const reply of replies) expect(reply.status).toBe(200);
  return replies;
}

const sha1 = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('hex');
const withoutPerRequest = (headers: Record<string, string>): Record<string, string> => {
  const { date: _date, 'x-request-id': _id, ...rest } = headers;
  return rest;
};

describe('prepared CDN hits', () => {
  it('answer with the same headers and bytes as the routed reply, and a request id of their own', async () => {
    const file = await uploadForm('/prepared', 'same.png', await image('#112233'));
    const url = `${file.url.cdn}&w=32`;
    const [render, routedHit, ...prepared] = await warm(url);
    for (const reply of [routedHit!, ...prepared]) {
      expect(withoutPerRequest(reply.headers)).toEqual(withoutPerRequest(render!.headers));
      expect(sha1(reply.bytes)).toBe(sha1(render!.bytes));
    }
    expect(render!.headers).toMatchObject({ 'content-type': 'image/png', 'x-content-type-options': 'nosniff', 'cache-control': 'public, max-age=31536000, immutable' });
    const ids = new Set([render, routedHit, ...prepared].map((reply) => reply!.headers['x-request-id']));
    expect(ids.size).toBe(4);
  });

  it('leave validators, ranges and HEAD to the routes', async () => {
    const file = await uploadForm('/prepared', 'validators.png', await image('#445566'));
    const url = `${file.url.cdn}&w=20`;
    const [, , last] = await warm(url);
    const etag = last!.headers.etag!;
    expect((await get(url, { 'If-None-Match': etag })).status).toBe(304);
    expect((await get(url, { 'If-Modified-Since': last!.headers['last-modified']! })).status).toBe(304);
    const part = await get(url, { Range: 'bytes=0-9' });
    expect([part.status, part.headers['content-range'], part.bytes.length]).toEqual([206, `bytes 0-9/${last!.bytes.length}`, 10]);
    const head = await get(url, {}, 'HEAD');
    expect([head.status, head.headers.etag, head.bytes.length]).toEqual([200, etag, 0]);
  });

  it('keep a negotiated format per Accept header', async () => {
    const file = await uploadForm('/prepared', 'negotiated.png', await image('#778899'));
    const url = `${file.url.cdn}&w=16&force_format=webp,jpeg`;
    await warm(url, { Accept: 'image/webp' });
    await warm(url, { Accept: 'image/jpeg' });
    const webp = await get(url, { Accept: 'image/webp' });
    const jpeg = await get(url, { Accept: 'image/jpeg' });
    expect([webp.headers['content-type'], webp.headers.vary]).toEqual(['image/webp', 'Accept']);
    expect([jpeg.headers['content-type'], jpeg.headers.vary]).toEqual(['image/jpeg', 'Accept']);
    expect((await sharp(webp.bytes).metadata()).format).toBe('webp');
  });

  it('stop at once when the file is deleted, replaced or moved away', async () => {
    const deleted = await uploadForm('/prepared', 'deleted.png', await image('#aa0000'));
    const deletedUrl = `${deleted.url.cdn}&w=24`;
    await warm(deletedUrl);
    expect((await h.call('DELETE', `/files/${deleted.uuid}`)).status).toBe(200);
    expect((await get(deletedUrl)).status).toBe(404);

    const replaced = await uploadForm('/prepared', 'replaced.png', await image('#00aa00'));
    const replacedUrl = `${replaced.url.cdn.split('?')[0]}?w=24`;
    const [before] = await warm(replacedUrl);
    const again = await uploadForm('/prepared', 'replaced.png', await image('#0000aa'), '&obfuscate=KEEP_ORIGINAL_NAME');
    expect(again.uuid).toBe(replaced.uuid);
    const after = await get(replacedUrl);
    expect(after.status).toBe(200);
    expect(sha1(after.bytes)).not.toBe(sha1(before!.bytes));
    expect(after.headers.etag).not.toBe(before!.headers.etag);
    const { data } = await sharp(after.bytes).raw().toBuffer({ resolveWithObject: true });
    expect([data[0]! < 40, data[2]! > 130]).toEqual([true, true]);

    const moved = await uploadForm('/prepared', 'moved.png', await image('#aaaa00'));
    const movedUrl = `${moved.url.cdn}&w=24`;
    await warm(movedUrl);
    expect((await h.call('PATCH', `/files/${moved.uuid}`, { body: { name: 'elsewhere.png' } })).status).toBe(200);
    expect((await get(movedUrl)).status).toBe(404);
  });

  it('stop at once when another connection deletes the file row', async () => {
    const file = await uploadForm('/prepared', 'outside.png', await image('#00aaaa'));
    const url = `${file.url.cdn}&w=12`;
    await warm(url);
    const db = new BetterSqlite3(join(h.dir, 'metadata.sqlite'));
    try {
      db.prepare('DELETE FROM files WHERE uuid = ?').run(file.uuid);
    } finally {
      db.close();
    }
    expect((await get(url)).status).toBe(404);
  });
});
