import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/**
 * What an anonymous or unauthorised caller can make the server hold: multipart fields in memory,
 * JSON bodies read before the key is checked, silent connections, airbox files written before the
 * per-request and per-minute limits apply; and the headers that keep stored files inert in a browser.
 * Limits are configured small so every case stays fast and light.
 */

type Part = { name: string; value: string | Buffer; filename?: string };

function multipart(boundary: string, parts: Part[], end = true): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value));
    chunks.push(Buffer.from('\r\n'));
  }
  if (end) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** A request whose body is sent in pieces, so a test can hold it open; resolves with the reply. */
function openRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
): {
  write(chunk: Buffer): Promise<void>;
  end(chunk?: Buffer): void;
  destroy(): void;
  reply: Promise<{ status: number; body: Record<string, unknown> }>;
} {
  let req!: http.ClientRequest;
  const reply = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    req = http.request(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
  });
  return {
    write: (chunk) => new Promise((resolve, reject) => req.write(chunk, (e) => (e ? reject(e) : resolve()))),
    end: (chunk) => req.end(chunk),
    destroy: () => req.destroy(),
    reply,
  };
}

/** Resolves with the ms until the server closes the socket, or `undefined` when it is still open after `waitMs`. */
function closedWithin(socket: net.Socket, waitMs: number): Promise<{ closedAfter: number | undefined; said: string }> {
  const started = Date.now();
  let said = '';
  socket.on('data', (d) => (said += String(d)));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ closedAfter: undefined, said }), waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closedAfter: Date.now() - started, said });
    });
    socket.on('error', () => undefined);
  });
}

function connect(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => resolve(socket));
    socket.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('multipart fields are bounded per field, in number and in total', () => {
  let h: Harness;
  let airboxUri: string;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxFieldBytes: 1024, maxFieldsPerRequest: 8, maxFieldBytesPerRequest: 4096 } });
    const r = await h.call('POST', '/airboxes', { body: { title: 'Fields', folder: '/inbox/fields' } });
    airboxUri = (r.body.airbox as { airbox_uri: string }).airbox_uri;
  });
  afterAll(() => h.close());

  const file: Part = { name: 'file', filename: 'a.txt', value: 'hello' };
  const send = async (url: string, parts: Part[], headers: Record<string, string> = {}) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data; boundary=BOUNDARY', ...headers },
      body: multipart('BOUNDARY', parts),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const stored = async (folder: string): Promise<number> =>
    ((await h.call('GET', `/files?folder=${encodeURIComponent(folder)}`)).body.files as unknown[]).length;

  it('refuses a field over maxFieldBytes with a 413 FIELD_TOO_LARGE, without a key (airbox) and with one', async () => {
    const big: Part = { name: 'meta[file]', value: JSON.stringify({ note: 'x'.repeat(2000) }) };
    const anonymous = await send(airboxUri, [big, file]);
    expect([anonymous.status, anonymous.body.code]).toEqual([413, 'FIELD_TOO_LARGE']);
    const keyed = await send(`${h.api()}/files?folder=/keyed`, [big, file], { 'X-Filerobot-Key': h.server.rootKey });
    expect([keyed.status, keyed.body.code]).toEqual([413, 'FIELD_TOO_LARGE']);
    expect(await stored('/inbox/fields')).toBe(0);
  });

  it('refuses fields that together pass maxFieldBytesPerRequest with a 413 FIELDS_TOO_LARGE', async () => {
    const parts: Part[] = Array.from({ length: 6 }, (_, i) => ({ name: `meta[f${i}]`, value: JSON.stringify({ n: 'y'.repeat(900) }) }));
    const r = await send(airboxUri, [...parts, file]);
    expect([r.status, r.body.code]).toEqual([413, 'FIELDS_TOO_LARGE']);
    expect(String(r.body.msg)).toContain('4096 bytes');
    expect(await stored('/inbox/fields')).toBe(0);
  });

  it('refuses more than maxFieldsPerRequest fields with a 400 TOO_MANY_PARTS; small fields still work', async () => {
    const many: Part[] = Array.from({ length: 9 }, (_, i) => ({ name: `x${i}`, value: '1' }));
    const r = await send(airboxUri, [...many, file]);
    expect([r.status, r.body.code]).toEqual([400, 'TOO_MANY_PARTS']);
    const ok = await send(airboxUri, [{ name: 'meta[file]', value: JSON.stringify({ note: 'fine' }) }, file]);
    expect(ok.status).toBe(200);
    expect(await stored('/inbox/fields')).toBe(1);
  });
});

describe('the key is checked before the body is read', () => {
  let h: Harness;
  let reader: string;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxJsonUploadBytes: 64 * 1024 } });
    const r = await h.call('POST', '/access/keys', { body: { permissions: ['OBJECTS_LIST'] } });
    reader = (r.body.key as { secret: string }).secret;
  });
  afterAll(() => h.close());

  it('answers 401/403 to a JSON body that never ends, so it is neither buffered nor parsed', async () => {
    for (const [key, status, code] of [
      [undefined, 401, 'UNAUTHORIZED'],
      ['not-a-key', 401, 'UNAUTHORIZED'],
      [reader, 403, 'PERMISSION_DENIED'],
    ] as const) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Content-Length': String(60 * 1024) };
      if (key) headers['X-Filerobot-Key'] = key;
      const request = openRequest(`${h.api()}/files?folder=/x`, 'POST', headers);
      await request.write(Buffer.from('{"files_urls": ["'));
      // The rest of the body is never sent: only an answer made before reading it can arrive.
      const reply = await Promise.race([request.reply, sleep(5000).then(() => undefined)]);
      request.reply.catch(() => undefined);
      request.destroy();
      expect(reply && [reply.status, reply.body.code], String(key)).toEqual([status, code]);
    }
  });

  it('refuses a bad key before an oversized or invalid JSON body is looked at; a valid key still gets those errors', async () => {
    const invalid = await h.call('PUT', '/file/6f1c1b1e-0000-4000-8000-000000000000/meta', { key: null, body: '{not json' });
    expect([invalid.status, invalid.body.code]).toEqual([401, 'UNAUTHORIZED']);
    const huge = JSON.stringify({ data: 'A'.repeat(70 * 1024), name: 'a.txt' });
    const tooLarge = await h.call('POST', '/files', { key: 'wrong', body: huge });
    expect([tooLarge.status, tooLarge.body.code]).toEqual([401, 'UNAUTHORIZED']);
    expect((await h.call('POST', '/files', { body: huge })).body.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await h.call('PUT', '/file/6f1c1b1e-0000-4000-8000-000000000000/meta', { body: '{not json' })).body.code).toBe('INVALID_JSON');
  });
});

describe('connections', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { idleSocketTimeoutMs: 400, headersTimeoutMs: 1200 } });
  });
  afterAll(() => h.close());

  it('closes a connection that goes silent mid-request after idleSocketTimeoutMs', async () => {
    const socket = await connect(h.server.url);
    const path = new URL(`${h.api()}/files?folder=/stalled`).pathname;
    socket.write(
      `POST ${path}?folder=/stalled HTTP/1.1\r\nHost: x\r\nX-Filerobot-Key: ${h.server.rootKey}\r\n` +
        'Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n--B\r\n',
    );
    const { closedAfter } = await closedWithin(socket, 5000);
    socket.destroy();
    expect(closedAfter).toBeDefined();
    expect(closedAfter!).toBeGreaterThanOrEqual(300);
  });

  it('closes a connection whose headers trickle in for longer than headersTimeoutMs', async () => {
    const socket = await connect(h.server.url);
    const closed = closedWithin(socket, 5000);
    socket.write('GET /x HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    // One header byte every 100 ms: never idle, never done.
    while (Date.now() - started < 5000 && !socket.destroyed && socket.writable) {
      socket.write('X');
      await sleep(100);
      if (socket.readableEnded) break;
    }
    const { closedAfter } = await closed;
    socket.destroy();
    expect(closedAfter).toBeDefined();
  });

  it('lets a slow upload through as long as it keeps sending', async () => {
    const path = `${h.api('v4')}/files?folder=/slow&filename=slow.bin`;
    const request = openRequest(path, 'PUT', {
      'X-Filerobot-Key': h.server.rootKey,
      'Content-Type': 'application/octet-stream',
      'Content-Length': '12',
    });
    // 12 bytes over about 1.2 s: three times the idle timeout, never silent for long.
    for (let i = 0; i < 11; i++) {
      await request.write(Buffer.from('a'));
      await sleep(110);
    }
    request.end(Buffer.from('a'));
    const reply = await request.reply;
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  });
});

describe('airbox uploads: files are counted as they arrive', () => {
  let h: Harness;
  const create = async (body: Record<string, unknown>): Promise<string> =>
    ((await h.call('POST', '/airboxes', { body })).body.airbox as { airbox_uri: string }).airbox_uri;
  beforeAll(async () => {
    h = await startHarness({ trustedProxies: ['127.0.0.0/8', '::1/128'] });
  });
  afterAll(() => h.close());

  const files = (n: number, tag: string, size = 5): Part[] =>
    Array.from({ length: n }, (_, i) => ({ name: `file${i}`, filename: `${tag}-${i}.txt`, value: `${tag}${i}`.padEnd(size, '.') }));

  it('refuses the 31st file part before writing it', async () => {
    const uri = await create({ title: 'Thirty', folder: '/inbox/thirty', max_file_size: 100 });
    // The 31st part is also too large: were it written, the answer would be a 413.
    const parts = [...files(30, 'ok'), { name: 'file30', filename: 'big.bin', value: Buffer.alloc(1000, 1) }];
    const response = await fetch(uri, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data; boundary=B', 'X-Forwarded-For': '198.51.100.7' },
      body: multipart('B', parts),
    });
    const body = (await response.json()) as Record<string, unknown>;
    expect([response.status, body.code]).toEqual([400, 'TOO_MANY_FILES']);
    const config = await (await fetch(`${uri}?format=json`)).json();
    expect((config as { airbox: { upload: { max_files_per_request: number } } }).airbox.upload.max_files_per_request).toBe(30);
    // Refused requests give their places back: the address can still send 30.
    const again = await fetch(uri, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data; boundary=B', 'X-Forwarded-For': '198.51.100.7' },
      body: multipart('B', files(30, 'again')),
    });
    expect(again.status).toBe(200);
  });

  it('reserves the per-minute quota as parts arrive, so parallel requests cannot all pass', async () => {
    const uri = await create({ title: 'Parallel', folder: '/inbox/parallel' });
    const headers = { 'Content-Type': 'multipart/form-data; boundary=B', 'X-Forwarded-For': '198.51.100.8' };
    // A sends 20 files and holds its body open.
    const a = openRequest(uri, 'POST', { ...headers, 'Transfer-Encoding': 'chunked' });
    await a.write(multipart('B', files(20, 'a'), false));
    await sleep(800);
    // B, meanwhile, passes the early check (20 < 30) but its 11th file finds the quota taken.
    const b = await fetch(uri, { method: 'POST', headers, body: multipart('B', files(20, 'b')) });
    const bBody = (await b.json()) as Record<string, unknown>;
    expect([b.status, bBody.code]).toEqual([429, 'TOO_MANY_UPLOADS']);
    a.end(Buffer.from('--B--\r\n'));
    const aReply = await a.reply;
    expect(aReply.status, JSON.stringify(aReply.body)).toBe(200);
    expect((aReply.body.info as { uploaded_files: number }).uploaded_files).toBe(20);
    // B gave back what it reserved: ten more fit, the eleventh does not.
    expect((await fetch(uri, { method: 'POST', headers, body: multipart('B', files(10, 'c')) })).status).toBe(200);
    expect((await fetch(uri, { method: 'POST', headers, body: multipart('B', files(1, 'd')) })).status).toBe(429);
    const listed = await h.call('GET', '/files?folder=/inbox/parallel&limit=100');
    expect(listed.body.files).toHaveLength(30);
  });
});

describe('stored files are served inert', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('sends nosniff and a sandbox CSP on store, cdn and download responses', async () => {
    const r = await h.upload('/pages', 'page.html', '<script>alert(1)</script>');
    const url = (r.file as { url: { public: string; cdn: string; download: string } }).url;
    for (const target of [url.public, url.cdn, url.download]) {
      const response = await fetch(target);
      await response.arrayBuffer();
      expect(response.headers.get('x-content-type-options'), target).toBe('nosniff');
      expect(response.headers.get('content-security-policy'), target).toBe('sandbox');
    }
  });
});
