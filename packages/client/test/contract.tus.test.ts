/**
 * `files.uploadResumable` (tus 1.0 at the connector host) against the local server: chunked
 * upload with meta/tags/product applied, resume of an interrupted upload from a JSON resume store
 * (only the remaining bytes are sent), the connector URL rules, and a run through a proxy that
 * drops connections and answers 429/503.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, ConfigurationError, Filerobot, JsonFileResumeStore } from '../src/index.js';
import { startFaultProxy } from '../../../bench/lib/fault-proxy.mjs';
import { startFixture, type Fixture } from './server-fixture.js';

const sha1 = (data: Uint8Array): string => createHash('sha1').update(data).digest('hex');
const KiB = 1024;

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture({ duplicatePolicy: 'allow' });
});
afterAll(async () => {
  await fx.close();
});

async function filesIn(client: Filerobot, folder: string): Promise<Array<{ uuid: string; hash?: { sha1?: string } }>> {
  return (await client.files.list({ folder })).files as Array<{ uuid: string; hash?: { sha1?: string } }>;
}

describe('uploadResumable', () => {
  it('uploads a file in chunks, then applies meta and tags; product goes through tus metadata', async () => {
    const client = fx.client();
    const content = randomBytes(300 * KiB + 123);
    const path = join(fx.dir, 'chunked.bin');
    await writeFile(path, content);
    const progress: number[] = [];
    const result = await client.files.uploadResumable(path, {
      folder: '/tus/client',
      chunkSize: 64 * KiB,
      meta: { title: { en: 'Chunked' } },
      tags: ['resumable'],
      product: { ref: 'SKU-CLIENT', position: 1 },
      onProgress: (p) => progress.push(p.loaded),
    });
    expect(result.duplicate).toBe(false);
    expect(result.resumedFrom).toBe(0);
    expect(result.bytesSent).toBe(content.length);
    expect(result.uploadUrl.startsWith(`${fx.server.connectorUrl}/files/`)).toBe(true);
    expect(result.file).toMatchObject({ name: 'chunked.bin', size: { bytes: content.length }, hash: { sha1: sha1(content) }, meta: { title: { en: 'Chunked' } } });
    expect(JSON.stringify(result.file.tags)).toContain('resumable');
    expect((result.file as unknown as { product: { ref: string } }).product.ref).toBe('SKU-CLIENT');
    expect(progress.at(-1)).toBe(content.length);
    expect(Math.max(...progress)).toBe(content.length);
    // Re-fetched from the API: it is the stored state, not an echo.
    const fetched = await client.files.get(result.file.uuid);
    expect(fetched).toMatchObject({ meta: { title: { en: 'Chunked' } }, hash: { sha1: sha1(content) } });
    expect((await filesIn(client, '/tus/client')).length).toBe(1);
  });

  it('uploads bytes ({data, name}); an empty file works too', async () => {
    const client = fx.client();
    const data = randomBytes(10 * KiB);
    const r = await client.files.uploadResumable({ data, name: 'bytes.bin' }, { folder: '/tus/bytes', chunkSize: 3000 });
    expect(r.file.hash?.sha1).toBe(sha1(data));
    const empty = await client.files.uploadResumable({ data: new Uint8Array(0), name: 'empty.txt' }, { folder: '/tus/bytes' });
    expect(empty.file).toMatchObject({ name: 'empty.txt', size: { bytes: 0 } });
    await expect(client.files.uploadResumable(new Uint8Array(3))).rejects.toThrow(/file name/);
  });

  it('resumes an interrupted upload from the resume store: the second run sends only the remaining bytes', async () => {
    const client = fx.client();
    const content = randomBytes(2 * 1024 * KiB + 7);
    const path = join(fx.dir, 'resume.bin');
    await writeFile(path, content);
    const store = new JsonFileResumeStore(join(fx.dir, 'resume-store.json'));
    const abort = new AbortController();
    await expect(
      client.files.uploadResumable(path, {
        folder: '/tus/resume',
        chunkSize: 256 * KiB,
        resume: store,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.loaded >= 900 * KiB) abort.abort();
        },
      }),
    ).rejects.toBeInstanceOf(AbortError);
    const remembered = JSON.parse(await readFile(store.path, 'utf8')) as Record<string, string>;
    expect(Object.values(remembered)).toHaveLength(1);
    const uploadUrl = Object.values(remembered)[0]!;
    const head = await fetch(uploadUrl, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', 'X-Filerobot-Key': fx.server.rootKey, 'X-Filerobot-Token': fx.server.token } });
    const serverOffset = Number(head.headers.get('upload-offset'));
    expect(serverOffset).toBeGreaterThanOrEqual(768 * KiB);
    expect(serverOffset).toBeLessThan(content.length);
    expect(await filesIn(client, '/tus/resume')).toEqual([]);

    const second = await client.files.uploadResumable(path, { folder: '/tus/resume', chunkSize: 256 * KiB, resume: store });
    expect(second.uploadUrl).toBe(uploadUrl);
    expect(second.resumedFrom).toBe(serverOffset);
    expect(second.bytesSent).toBe(content.length - serverOffset);
    expect(second.file.hash?.sha1).toBe(sha1(content));
    const listed = await filesIn(client, '/tus/resume');
    expect(listed.map((f) => f.uuid)).toEqual([second.file.uuid]);
    // Done: the store forgets it, so a third run is a new upload.
    expect(JSON.parse(await readFile(store.path, 'utf8'))).toEqual({});
  });

  it('a remembered upload that is gone (terminated) is started afresh', async () => {
    const client = fx.client();
    const content = randomBytes(50 * KiB);
    const path = join(fx.dir, 'gone.bin');
    await writeFile(path, content);
    const store = new JsonFileResumeStore(join(fx.dir, 'gone-store.json'));
    const abort = new AbortController();
    await expect(
      client.files.uploadResumable(path, { folder: '/tus/gone', chunkSize: 10 * KiB, resume: store, signal: abort.signal, onProgress: (p) => p.loaded >= 20 * KiB && abort.abort() }),
    ).rejects.toBeInstanceOf(AbortError);
    const url = Object.values(JSON.parse(await readFile(store.path, 'utf8')) as Record<string, string>)[0]!;
    const del = await fetch(url, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0', 'X-Filerobot-Key': fx.server.rootKey, 'X-Filerobot-Token': fx.server.token } });
    expect(del.status).toBe(204);
    const again = await client.files.uploadResumable(path, { folder: '/tus/gone', chunkSize: 10 * KiB, resume: store });
    expect(again.uploadUrl).not.toBe(url);
    expect([again.resumedFrom, again.bytesSent]).toEqual([0, content.length]);
    expect(again.file.hash?.sha1).toBe(sha1(content));
  });

  it('the real API host needs connectorUrl, with an error naming the option; a given one is used', async () => {
    const real = new Filerobot({ endpoint: 'https://api.filerobot.com/acme', apiKey: 'k' });
    await expect(real.files.uploadResumable({ data: new Uint8Array(1), name: 'a.txt' })).rejects.toThrow(ConfigurationError);
    await expect(real.files.uploadResumable({ data: new Uint8Array(1), name: 'a.txt' })).rejects.toThrow(/connectorUrl/);
    expect(() => new Filerobot({ endpoint: 'https://api.filerobot.com/acme', apiKey: 'k', connectorUrl: 'ftp://x' })).toThrow(/connectorUrl/);
    expect(new Filerobot({ endpoint: 'https://api.filerobot.com/acme', apiKey: 'k', connectorUrl: 'https://eu-on-24001.connector.filerobot.com/' }).files.connectorUrl).toBe(
      'https://eu-on-24001.connector.filerobot.com',
    );
    expect(fx.client().files.connectorUrl).toBe(fx.server.connectorUrl);
    await real.close();
  });

  it('refusals surface as typed errors: a key without FILE_UPLOAD gets 403', async () => {
    const admin = fx.client();
    const reader = await admin.access.keys.create({ description: 'reader', permissions: ['OBJECTS_LIST'] });
    const client = fx.client({ apiKey: reader.secret! });
    await expect(client.files.uploadResumable({ data: new Uint8Array(5), name: 'no.txt' })).rejects.toMatchObject({ status: 403, code: 'PERMISSION_DENIED' });
  });
});

describe('uploadResumable through a faulty network', () => {
  it('drops, 429s and 503s (before and after the server handled a chunk) end in one correct asset', async () => {
    const proxy = await startFaultProxy(
      fx.server.url,
      { 'rate-limit': 0.08, unavailable: 0.06, 'drop-early': 0.08, 'unavailable-after': 0.06, 'drop-after': 0.08 },
      77,
    );
    try {
      const client = new Filerobot({ endpoint: `${proxy.url}/${fx.server.token}`, apiKey: fx.server.rootKey, retry: { initialDelayMs: 2, maxDelayMs: 20, maxRetries: 10 } });
      const content = randomBytes(1024 * KiB + 99);
      const r = await client.files.uploadResumable({ data: content, name: 'faulty.bin' }, { folder: '/tus/faults', chunkSize: 32 * KiB });
      await client.close();
      expect(r.file.hash?.sha1).toBe(sha1(content));
      const faults = proxy.counts['drop-early'] + proxy.counts['drop-after'] + proxy.counts.unavailable + proxy.counts['unavailable-after'] + proxy.counts['rate-limit'];
      expect(faults).toBeGreaterThanOrEqual(5);
      expect(proxy.counts['drop-after'] + proxy.counts['unavailable-after']).toBeGreaterThan(0);
      const listed = await filesIn(fx.client(), '/tus/faults');
      expect(listed.map((f) => f.uuid)).toEqual([r.file.uuid]);
    } finally {
      await proxy.close();
    }
  });
});
