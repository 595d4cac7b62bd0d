import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot } from '../src/index.js';
import { startFaultProxy, type FaultProxy } from '../../../bench/lib/fault-proxy.mjs';
import { startFixture, type Fixture } from './server-fixture.js';

let fx: Fixture;
let proxy: FaultProxy;

beforeAll(async () => {
  // Duplicates allowed: the server's duplicate check must not be what saves us from double uploads.
  fx = await startFixture({ duplicatePolicy: 'allow' });
  proxy = await startFaultProxy(fx.server.url, { 'rate-limit': 0.06, unavailable: 0.04, 'drop-early': 0.04, 'unavailable-after': 0.04, 'drop-after': 0.04 }, 20261123);
});

afterAll(async () => {
  await proxy.close();
  await fx.close();
});

describe('bulk upload through a faulty network', () => {
  it('ends with exactly one asset per file, every sha1 matching', async () => {
    const files = Array.from({ length: 1000 }, (_, i) => ({ name: `asset-${String(i).padStart(4, '0')}.bin`, data: randomBytes(512 + (i % 7) * 300) }));
    const expected = new Map(files.map((f) => [f.name, createHash('sha1').update(f.data).digest('hex')]));
    const client = new Filerobot({ endpoint: `${proxy.url}/${fx.server.token}`, apiKey: fx.server.rootKey, retry: { maxRetries: 10, initialDelayMs: 2, maxDelayMs: 20 } });

    const report = await client.files.uploadMany(files.map((f) => ({ source: f.data, name: f.name })), { folder: '/faults', concurrency: 8 });
    await client.close();

    const failures = report.results.filter((r) => !r.ok);
    expect(failures.map((r) => (r.ok ? '' : `${r.source}: ${r.error.message}`))).toEqual([]);
    // Every kind of fault really happened, including the ones where the write landed unseen.
    for (const fault of ['rate-limit', 'unavailable', 'drop-early', 'unavailable-after', 'drop-after'] as const) {
      expect(proxy.counts[fault], fault).toBeGreaterThan(5);
    }

    // Count what the server holds, directly (no proxy).
    const direct = fx.client();
    const stored = await direct.files.list({ folder: '/faults' }).toArray(5000);
    expect(stored).toHaveLength(1000);
    const byName = new Map(stored.map((f) => [f.name, f.hash?.sha1]));
    expect(byName.size).toBe(1000);
    for (const [name, sha1] of expected) expect(byName.get(name), name).toBe(sha1);
    // Each result points at the asset that was stored for it.
    expect(new Set(report.results.map((r) => (r.ok ? r.file.uuid : '')))).toEqual(new Set(stored.map((f) => f.uuid)));
  }, 240_000);

  it('recovers uploads from paths (streamed PUT and pooled multipart) that landed unseen, hashing the file again only then', async () => {
    const lossy = await startFaultProxy(fx.server.url, { 'unavailable-after': 0.25, 'drop-after': 0.25 }, 7);
    try {
      const client = new Filerobot({ endpoint: `${lossy.url}/${fx.server.token}`, apiKey: fx.server.rootKey, retry: { maxRetries: 10, initialDelayMs: 2, maxDelayMs: 20 } });
      const expected = new Map<string, string>();
      const paths: string[] = [];
      for (let i = 0; i < 12; i++) {
        const data = randomBytes(20_000 + i * 1000);
        const path = join(fx.dir, `lossy-${i}.bin`);
        await writeFile(path, data);
        paths.push(path);
        expected.set(`lossy-${i}.bin`, createHash('sha1').update(data).digest('hex'));
      }
      for (const [i, path] of paths.entries())
        await client.files.upload(path, { folder: '/lossy', ...(i % 2 ? { via: 'stream' as const, streamThreshold: 0 } : {}) });
      await client.close();
      expect(lossy.counts['unavailable-after'] + lossy.counts['drop-after']).toBeGreaterThan(3);
      const stored = await fx.client().files.list({ folder: '/lossy' }).toArray(100);
      expect(stored.map((f) => [f.name, f.hash?.sha1]).sort()).toEqual([...expected].sort());
    } finally {
      await lossy.close();
    }
  }, 120_000);
});

