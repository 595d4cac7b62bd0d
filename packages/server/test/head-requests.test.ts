import { connect } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/**
 * A HEAD on a route that serves file bytes (CDN, origin store, download) answers with the headers
 * its GET would send, Content-Length included, and no body: clients size downloads and check
 * validators with HEAD before fetching.
 */

type FileObject = { uuid: string; name: string; url: { cdn: string } };

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function uploadForm(folder: string, name: string, content: Buffer): Promise<FileObject> {
  const body = await h.upload(folder, name, content);
  expect(body.status, JSON.stringify(body)).toBe('success');
  return body.file as FileObject;
}

interface RawReply {
  status: number;
  headers: Record<string, string>;
  /** Every byte after the header block until the server closed the connection. */
  rest: Buffer;
}

/**
 * One request over a plain socket with `Connection: close`, reading until the server closes, so
 * any body bytes a HEAD reply wrongly carried would show (fetch drops them).
 */
function raw(method: string, url: string, headers: Record<string, string> = {}): Promise<RawReply> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      if (split < 0) {
        reject(new Error(`no complete reply: ${all.toString('latin1')}`));
        return;
      }
      const [statusLine, ...lines] = all.subarray(0, split).toString('latin1').split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers: parsed, rest: all.subarray(split + 4) });
    });
    const lines = Object.entries({ host: target.host, connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(`${method} ${target.pathname}${target.search} HTTP/1.1\r\n${lines.join('')}\r\n`);
  });
}

/** Headers that differ between any two replies whatever the method. */
const perRequest = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);
const comparable = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !perRequest.has(name)));

/** The GET, then the HEAD, of `url`; checks the HEAD matches the GET's headers with no body. */
async function expectHeadLikeGet(url: string, headers: Record<string, string> = {}): Promise<RawReply> {
  const got = await raw('GET', url, headers);
  const head = await raw('HEAD', url, headers);
  expect(head.status).toBe(got.status);
  expect(comparable(head.headers)).toEqual(comparable(got.headers));
  if (got.headers['content-length'] !== undefined) expect(Number(head.headers['content-length'])).toBe(got.rest.length);
  expect(head.rest.length).toBe(0);
  return got;
}

describe('HEAD on routes that serve file bytes', () => {
  it('gives an original on /cdn and /store the GET\'s size, type and validators', async () => {
    const content = Buffer.alloc(5000, 'x');
    const file = await uploadForm('/head', 'plain.txt', content);
    const got = await expectHeadLikeGet(file.url.cdn);
    expect(got.status).toBe(200);
    expect(got.rest.length).toBe(content.length);
    expect(got.headers).toMatchObject({ 'content-length': '5000', 'accept-ranges': 'bytes' });
    expect(got.headers.etag).toMatch(/^"[0-9a-f]{40}"$/);
    expect(got.headers['last-modified']).toBeTruthy();
    expect(got.headers['content-type']).toMatch(/^text\/plain/);
    await expectHeadLikeGet(`${h.server.url}/${h.server.token}/store/head/plain.txt`);
  });

  it('gives a transformed image the render\'s size, both before and after it is cached', async () => {
    const png = await sharp({ create: { width: 120, height: 90, channels: 3, background: '#336699' } }).png().toBuffer();
    const file = await uploadForm('/head', 'pic.png', png);
    // A HEAD first: the render is made for it, and its size is the one the GET then sends.
    const fresh = `${file.url.cdn}&w=40`;
    const first = await raw('HEAD', fresh);
    expect(first.status).toBe(200);
    expect(first.rest.length).toBe(0);
    const got = await raw('GET', fresh);
    expect(comparable(first.headers)).toEqual(comparable(got.headers));
    expect(Number(first.headers['content-length'])).toBe(got.rest.length);
    expect(got.rest.length).toBeGreaterThan(0);
    expect(got.rest.length).not.toBe(png.length);
    // Cached (GETs after the render are answered from the prepared reply): a HEAD still matches.
    const cached = `${file.url.cdn}&w=50`;
    for (let i = 0; i < 4; i++) expect((await raw('GET', cached)).status).toBe(200);
    await expectHeadLikeGet(cached);
    await expectHeadLikeGet(cached);
  });

  it('gives a download its attachment headers and size', async () => {
    const content = Buffer.alloc(3333, 'd');
    const file = await uploadForm('/head', 'report.bin', content);
    const got = await expectHeadLikeGet(`${h.api()}/get/${file.uuid}/download`);
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBe('3333');
    expect(got.headers['content-disposition']).toMatch(/^attachment; filename="report.bin"/);
  });

  it('answers a HEAD with Range with the 206 headers of the GET', async () => {
    const content = Buffer.from('0123456789'.repeat(100));
    const file = await uploadForm('/head', 'digits.txt', content);
    const got = await expectHeadLikeGet(file.url.cdn, { range: 'bytes=10-109' });
    expect(got.status).toBe(206);
    expect(got.headers).toMatchObject({ 'content-length': '100', 'content-range': 'bytes 10-109/1000' });
    const suffix = await expectHeadLikeGet(`${h.api()}/get/${file.uuid}/download`, { range: 'bytes=-7' });
    expect(suffix.status).toBe(206);
    expect(suffix.rest.toString()).toBe('3456789');
  });

  it('answers a HEAD with an unsatisfiable range as the GET does, without its body', async () => {
    const file = await uploadForm('/head', 'short.txt', Buffer.from('abc'));
    const got = await expectHeadLikeGet(file.url.cdn, { range: 'bytes=10-20' });
    expect(got.status).toBe(416);
    expect(got.headers['content-range']).toBe('bytes */3');
  });

  it('answers a conditional HEAD with 304 as the GET does', async () => {
    const file = await uploadForm('/head', 'cond.txt', Buffer.from('conditional'));
    const first = await raw('GET', file.url.cdn);
    const got = await expectHeadLikeGet(file.url.cdn, { 'if-none-match': first.headers.etag! });
    expect(got.status).toBe(304);
  });

  it('answers a HEAD on a permalink with the GET\'s redirect', async () => {
    const file = await uploadForm('/head', 'moved.txt', Buffer.from('moved'));
    const got = await expectHeadLikeGet(`${h.api()}/get/${file.uuid}`);
    expect(got.status).toBe(302);
    expect(got.headers.location).toBe(file.url.cdn);
  });

  it('still answers a HEAD on a JSON route with the GET\'s length', async () => {
    const file = await uploadForm('/head', 'meta.txt', Buffer.from('meta'));
    await expectHeadLikeGet(`${h.api()}/files/${file.uuid}`, { 'x-filerobot-key': h.server.rootKey });
  });
});
