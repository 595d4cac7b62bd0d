import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tooLarge } from '../errors.js';

/** Bytes received into a temp file, hashed and counted, not yet visible to anyone. */
export interface StagedBlob {
  blobId: string;
  tempPath: string;
  size: number;
  sha1: string;
}

export interface BlobStoreOptions {
  root: string;
  /** fsync file and directory on commit; off only for tests and CI speed. */
  sync: boolean;
}

/**
 * Asset bytes on disk under opaque ids (never user names). An upload is staged in `tmp/`, fsynced,
 * renamed into `blobs/xx/` and the directory fsynced, and only then does the caller commit the
 * database row that makes it visible. A crash leaves at worst a temp file or an unreferenced blob,
 * both reclaimed by `sweep()` at start-up.
 */
export class BlobStore {
  readonly tmpDir: string;
  readonly blobDir: string;
  private readonly sync: boolean;

  constructor(options: BlobStoreOptions) {
    this.tmpDir = join(options.root, 'tmp');
    this.blobDir = join(options.root, 'blobs');
    this.sync = options.sync;
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.blobDir, { recursive: true });
    if (this.sync) await fsyncDir(join(this.blobDir, '..'));
  }

  pathOf(blobId: string): string {
    return join(this.blobDir, blobId.slice(0, 2), blobId);
  }

  /** Streams `source` into a temp file, hashing as it goes; rejects with 413 past `maxBytes`. */
  async stage(source: Readable, maxBytes: number): Promise<StagedBlob> {
    const blobId = randomUUID().replaceAll('-', '');
    const tempPath = join(this.tmpDir, `${blobId}.part`);
    const hash = createHash('sha1');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (size > maxBytes) {
          callback(tooLarge(`The file is larger than the ${maxBytes} bytes this upload accepts.`, 'Use the streamed PUT upload for large files, or raise --max-upload-bytes.'));
          return;
        }
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    const file = createWriteStream(tempPath, { flush: this.sync, highWaterMark: 1 << 20 });
    try {
      await pipeline(source, meter, file);
    } catch (error) {
      // A write stream destroyed before its open() finished still creates the file when the open
      // lands: removing it before the stream has closed could run first and leave the file behind.
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
      await rm(tempPath, { force: true });
      throw error;
    }
    return { blobId, tempPath, size, sha1: hash.digest('hex') };
  }

  /** Moves a staged blob to its final place durably. After this the caller commits the row. */
  async commit(staged: StagedBlob): Promise<void> {
    const dir = join(this.blobDir, staged.blobId.slice(0, 2));
    const created = await mkdir(dir, { recursive: true });
    // The orphan collector spares blobs modified within its grace period. A staged file may have
    // waited in tmp/ longer than that (other parts of its request, image probing), so restart its
    // clock before it appears in blobs/ without a row.
    const at = new Date();
    await utimes(staged.tempPath, at, at);
    await rename(staged.tempPath, this.pathOf(staged.blobId));
    if (this.sync) {
      await fsyncDir(dir);
      // A new shard folder is itself an entry of blobs/, which must reach the disk too.
      if (created !== undefined) await fsyncDir(this.blobDir);
    }
  }

  async discard(staged: StagedBlob): Promise<void> {
    await rm(staged.tempPath, { force: true });
  }

  async remove(blobId: string): Promise<void> {
    await rm(this.pathOf(blobId), { force: true });
  }

  read(blobId: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.pathOf(blobId), range);
  }

  async size(blobId: string): Promise<number> {
    return (await stat(this.pathOf(blobId))).size;
  }

  /**
   * Deletes every temp file and every blob `isReferenced` does not claim. Run before the server
   * accepts requests, so nothing is mid-upload. Returns what it removed.
   */
  async sweep(isReferenced: (blobId: string) => boolean): Promise<{ temps: number; orphans: number }> {
    let temps = 0;
    let orphans = 0;
    for (const name of await readdir(this.tmpDir)) {
      await rm(join(this.tmpDir, name), { force: true, recursive: true });
      temps++;
    }
    for (const shard of await readdir(this.blobDir, { withFileTypes: true })) {
      // Only shard folders hold blobs; anything else here (a stray .DS_Store) is not ours to judge.
      if (!shard.isDirectory()) continue;
      const shardDir = join(this.blobDir, shard.name);
      for (const blobId of await readdir(shardDir)) {
        if (!isReferenced(blobId)) {
          await unlink(join(shardDir, blobId));
          orphans++;
        }
      }
    }
    return { temps, orphans };
  }

  /**
   * Deletes blobs `isReferenced` does not claim, while the server runs. A blob is renamed into
   * blobs/ before the row that references it commits, so one modified less than `graceMs` ago may
   * be an upload in flight and is kept; the reference is checked again right before the unlink.
   * Temp files are left alone: a live upload is writing them (start-up `sweep` clears leftovers).
   */
  async collect(isReferenced: (blobId: string) => boolean, graceMs: number): Promise<number> {
    let removed = 0;
    for (const shard of await readdir(this.blobDir, { withFileTypes: true })) {
      if (!shard.isDirectory()) continue;
      const shardDir = join(this.blobDir, shard.name);
      for (const blobId of await readdir(shardDir)) {
        if (isReferenced(blobId)) continue;
        const path = join(shardDir, blobId);
        let modified: number;
        try {
          modified = (await stat(path)).mtimeMs;
        } catch {
          continue; // Already gone (a delete's reclaim got there first).
        }
        if (Date.now() - modified < graceMs || isReferenced(blobId)) continue;
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
