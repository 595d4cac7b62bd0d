import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool } from '../src/core/buffer-pool.js';
import { httpTransport, IDLE_TIMEOUT, type Transport } from '../src/core/transport.js';
import { ConnectionError, type Filerobot } from '../src/index.js';
import { startFixture, type Fixture } from './server-fixture.js';

let fx: Fixture;
let client: Filerobot;

beforeAll(async () => {
  fx = await startFixture();
  client = fx.client();
});

afterAll(async () => {
  await fx.close();
});

/** A bare node:http server for what the local server never does (stall, answer early). */
async function bareServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const sha1 = (bytes: Uint8Array): string => createHash('sha1').update(bytes).digest('hex');

describe('the default transport (node:http) against the local server', () => {
  it('uploads many small files through reused buffers with every byte intact, keeping only failures when asked', async () => {
    // Sizes straddle the pool's 16 KiB grain, so buffers are reused across different files.
    const sizes = [9, 700, 16 * 1024 - 300, 16 * 1024 + 5, 40_000, 100 * 1024, 33_000, 12];
    const paths: string[] = [];
    const expected = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const bytes = Buffer.alloc(sizes[i % sizes.length]!, `${i}-`);
      const path = join(fx.dir, `pool-${i}.txt`);
      await writeFile(path, bytes);
      paths.push(path);
      expected.set(`pool-${i}.txt`, sha1(bytes));
    }
    const missing = join(fx.dir, 'no-such-file.txt');
    const seen: string[] = [];
    const report = await client.files.uploadMany([...paths.slice(0, 20), missing, ...paths.slice(20)], {
      folder: '/pool',
      concurrency: 4,
      results: 'failures',
      onItem: (r) => r.ok && seen.push(r.file.name),
    });
    expect(report.done).toBe(41);
    expect(report.failed).toBe(1);
    expect(report.results.map((r) => [r.index, r.ok])).toEqual([[20, false]]);
    expect(seen.length).toBe(40);

    const stored = await client.files.list({ folder: '/pool' }).toArray(100);
    expect(stored.length).toBe(40);
    for (const file of stored) expect(file.hash?.sha1, file.name).toBe(expected.get(file.name));
  });

  it('keeps every result by default, in input order', async () => {
    const path = join(fx.dir, 'one.txt');
    await writeFile(path, 'one');
    const report = await client.files.uploadMany([path, join(fx.dir, 'nothing-here')], { folder: '/all' });
    expect(report.results.map((r) => [r.index, r.ok])).toEqual([
      [0, true],
      [1, false],
    ]);
  });

  it('gives a lent buffer back only after the transport wrote it and its owner released it', async () => {
    const pool = new BufferPool();
    const transport = httpTransport();
    try {
      const lease = pool.lend(1000);
      lease.buffer.write('{}');
      const body = lease.view(0, 2);
      const url = `${fx.endpoint}/v5/files?folder=/`;
      const reply = await transport({ method: 'GET', url, headers: { 'x-filerobot-key': fx.server.rootKey }, body });
      await reply.dump();
      expect(pool.lend(1000).buffer).not.toBe(lease.buffer); // written, but its owner still holds it
      lease.release();
      expect(pool.lend(1000).buffer).toBe(lease.buffer);

      // Sent through any other transport, nothing says when it is done with it: never reused.
      const other = pool.lend(1000);
      const spy: Transport = async (req) => transport({ ...req, body: Buffer.from(req.body as Uint8Array) });
      await (await spy({ method: 'GET', url, headers: {}, body: other.view(0, 2) })).dump();
      other.release();
      expect(pool.lend(1000).buffer).not.toBe(other.buffer);
    } finally {
      await transport.close();
    }
  });

  it('sends a body with a DELETE framed by its length', async () => {
    const { url, server } = await bareServer((req, res) => {
      let text = '';
      req.setEncoding('utf8').on('data', (c: string) => (text += c));
      req.on('end', () => res.end(JSON.stringify({ length: req.headers['content-length'], text })));
    });
    const transport = httpTransport();
    try {
      const reply = await transport({ method: 'DELETE', url, headers: {}, body: '{"uuids":["a"]}' });
      expect(JSON.parse(await reply.text())).toEqual({ length: '15', text: '{"uuids":["a"]}' });
    } finally {
      await transport.close();
      server.close();
    }
  });

  it('fails a request whose server goes silent, with the idle timeout code', async () => {
    const { url, server } = await bareServer(() => undefined); // never answers
    const transport = httpTransport({ idleTimeoutMs: 150 });
    try {
      await expect(transport({ method: 'GET', url, headers: {} })).rejects.toMatchObject({ code: IDLE_TIMEOUT });
    } finally {
      await transport.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('hands back a reply sent before the streamed body ended, and the client reports it as an error', async () => {
    const { url, server } = await bareServer((req, res) => {
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ status: 'error', code: 'TOO_BIG', msg: 'no' }));
      req.resume();
    });
    const transport = httpTransport();
    const early = fx.client({ endpoint: `${url}/demo`, transport, retry: { maxRetries: 0 } });
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 4096; i++) yield Buffer.alloc(64 * 1024, 1);
    }
    try {
      const error = await early.files.upload({ data: endless(), name: 'big.bin' }, { via: 'stream' }).catch((e: unknown) => e);
      // Either the 413 itself or the reset that followed it; never a hang or an unhandled error.
      expect(
        (error as { status?: number }).status === 413 || error instanceof ConnectionError,
        String(error),
      ).toBe(true);
    } finally {
      await transport.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('stops a request when the caller aborts', async () => {
    const { url, server } = await bareServer(() => undefined);
    const transport = httpTransport();
    try {
      const controller = new AbortController();
      const pending = transport({ method: 'GET', url, headers: {}, signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      await transport.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
