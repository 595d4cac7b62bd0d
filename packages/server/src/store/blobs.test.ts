import { mkdtemp, readdir, rm, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStore } from './blobs.js';

const HOUR = 60 * 60_000;
let root: string;
let blobs: BlobStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sfx-blobs-'));
  blobs = new BlobStore({ root, sync: false });
  await blobs.init();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

describe('BlobStore.collect', () => {
  it('keeps a blob staged long ago but committed just now until released: its row may be about to commit', async () => {
    const staged = await blobs.stage(Readable.from([Buffer.from('bytes')]), 100);
    const longAgo = new Date(Date.now() - 2 * HOUR);
    await utimes(staged.tempPath, longAgo, longAgo);
    await blobs.commit(staged);
    expect(await blobs.collect(() => false, HOUR)).toBe(0);
    expect(await blobs.collect(() => false, 0)).toBe(0);
    expect(await exists(blobs.pathOf(staged.blobId))).toBe(true);
    blobs.release(staged.blobId);
    expect(await blobs.collect(() => false, HOUR)).toBe(1);
    expect(await exists(blobs.pathOf(staged.blobId))).toBe(false);
  });

  it('removes old unreferenced blobs only, and leaves temp files and stray files alone', async () => {
    const make = async (blobId: string, ageMs: number): Promise<string> => {
      const path = blobs.pathOf(blobId);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, blobId);
      const at = new Date(Date.now() - ageMs);
      await utimes(path, at, at);
      return path;
    };
    const oldOrphan = await make('aa01', 2 * HOUR);
    const oldReferenced = await make('aa02', 2 * HOUR);
    const youngOrphan = await make('bb01', 1000);
    const temp = join(blobs.tmpDir, 'upload.part');
    await writeFile(temp, 'in flight');
    await utimes(temp, new Date(0), new Date(0));
    await writeFile(join(blobs.blobDir, '.DS_Store'), 'x');

    expect(await blobs.collect((id) => id === 'aa02', HOUR)).toBe(1);
    expect(await exists(oldOrphan)).toBe(false);
    expect(await exists(oldReferenced)).toBe(true);
    expect(await exists(youngOrphan)).toBe(true);
    expect(await exists(temp)).toBe(true);
    expect(await exists(join(blobs.blobDir, '.DS_Store'))).toBe(true);
  });

  it('checks the reference again after reading the age, so a row committed meanwhile saves its blob', async () => {
    const path = blobs.pathOf('cc01');
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, 'x');
    await utimes(path, new Date(0), new Date(0));
    let calls = 0;
    // Unreferenced when listed, referenced by the time the age has been read.
    expect(await blobs.collect(() => ++calls > 1, 0)).toBe(0);
    expect(calls).toBe(2);
    expect(await exists(path)).toBe(true);
  });
});

describe('BlobStore.stage', () => {
  it('leaves no temp file when the source fails before the temp file has even opened', async () => {
    // A client gone at once: the source errors on its first read, racing the write stream's open().
    for (let i = 0; i < 20; i++) {
      const failing = new Readable({
        read() {
          this.destroy(new Error('client went away'));
        },
      });
      await expect(blobs.stage(failing, 100)).rejects.toThrow('client went away');
      expect(await readdir(blobs.tmpDir)).toEqual([]);
    }
  });
});

describe('BlobStore.commit', () => {
  it('finds every shard folder made by init, so a commit is a rename; a shard removed by hand is made again', async () => {
    const shards = (await readdir(blobs.blobDir)).sort();
    expect(shards).toHaveLength(256);
    expect(shards[0]).toBe('00');
    expect(shards.at(-1)).toBe('ff');
    const staged = await blobs.stage(Readable.from([Buffer.from('bytes')]), 100);
    await rm(join(blobs.blobDir, staged.blobId.slice(0, 2)), { recursive: true });
    await blobs.commit(staged);
    expect(await exists(blobs.pathOf(staged.blobId))).toBe(true);
  });

  it('commits many blobs into one shard at once with syncing on (shared folder fsyncs)', async () => {
    const synced = new BlobStore({ root, sync: true });
    await synced.init();
    const staged = await Promise.all(
      Array.from({ length: 20 }, (_, i) => synced.stage(Readable.from([Buffer.from(`blob ${i}`)]), 100)),
    );
    await Promise.all(staged.map((s) => synced.commit(s)));
    for (const s of staged) expect(await exists(synced.pathOf(s.blobId))).toBe(true);
  });
});
