import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
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
 *
 * Blob ids are hex, so the 256 shard folders `blobs/00` .. `blobs/ff` are made once by `init()`:
 * an upload's commit is then one rename and (when syncing) one folder fsync, shared with the
 * uploads committing into the same folder at the same moment.
 */
export class BlobStore {
  readonly tmpDir: string;
  readonly blobDir: string;
  private readonly sync: boolean;
  /** Blobs renamed into blobs/ whose row is not committed yet: the collector must not take them. */
  private readonly pending = new Set<string>();
  private readonly dirSyncs = new Map<string, DirSync>();

  constructor(options: BlobStoreOptions) {
    this.tmpDir = join(options.root, 'tmp');
    this.blobDir = join(options.root, 'blobs');
    this.sync = options.sync;
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.blobDir, { recursive: true });
    const present = new Set(await readdir(this.blobDir));
    const missing = SHARDS.filter((shard) => !present.has(shard));
    await Promise.all(missing.map((shard) => mkdir(join(this.blobDir, shard), { recursive: true })));
    if (this.sync) {
      if (missing.length > 0) await fsyncDir(this.blobDir);
      await fsyncDir(join(this.blobDir, '..'));
    }
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

  /**
   * Moves a staged blob to its final place durably. After this the caller commits the row, then
   * calls `release()`: until then the collector leaves the blob alone whatever its age (a staged
   * file may have waited in tmp/ longer than the grace period, so its mtime proves nothing).
   */
  async commit(staged: StagedBlob): Promise<void> {
    const dir = join(this.blobDir, staged.blobId.slice(0, 2));
    this.pending.add(staged.blobId);
    try {
      await rename(staged.tempPath, this.pathOf(staged.blobId));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // A shard folder removed by hand since start-up: make it (and its entry) durable again.
      await mkdir(dir, { recursive: true });
      await rename(staged.tempPath, this.pathOf(staged.blobId));
      if (this.sync) await this.syncDir(this.blobDir);
    }
    if (this.sync) await this.syncDir(dir);
  }

  /** The row for a committed blob is in (or the blob was queued for deletion): it is no longer in flight. */
  release(blobId: string): void {
    this.pending.delete(blobId);
  }

  /**
   * fsyncs a folder, sharing the call with everyone who asks while one is already queued: an
   * fsync that starts after a rename covers it, so concurrent commits into one folder pay for one.
   */
  private syncDir(dir: string): Promise<void> {
    let state = this.dirSyncs.get(dir);
    if (!state) {
      state = { running: undefined, queued: undefined };
      this.dirSyncs.set(dir, state);
    }
    const current = state;
    if (current.queued) return current.queued;
    const start = (): Promise<void> => {
      const run = fsyncDir(dir).finally(() => {
        if (current.running === run) current.running = undefined;
        if (!current.running && !current.queued) this.dirSyncs.delete(dir);
      });
      current.running = run;
      return run;
    };
    if (!current.running) return start();
    // One is running: it may have started before our rename, so queue the next one and join it.
    const queued = current.running
      .catch(() => undefined)
      .then(() => {
        current.queued = undefined;
        return start();
      });
    current.queued = queued;
    return queued;
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
   * blobs/ before the row that references it commits: those between `commit()` and `release()`
   * are skipped, and so is any blob modified less than `graceMs` ago (written by other means);
   * the reference is checked again right before the unlink.
   * Temp files are left alone: a live upload is writing them (start-up `sweep` clears leftovers).
   */
  async collect(isReferenced: (blobId: string) => boolean, graceMs: number): Promise<number> {
    let removed = 0;
    for (const shard of await readdir(this.blobDir, { withFileTypes: true })) {
      if (!shard.isDirectory()) continue;
      const shardDir = join(this.blobDir, shard.name);
      for (const blobId of await readdir(shardDir)) {
        if (isReferenced(blobId) || this.pending.has(blobId)) continue;
        const path = join(shardDir, blobId);
        let modified: number;
        try {
          modified = (await stat(path)).mtimeMs;
        } catch {
          continue; // Already gone (a delete's reclaim got there first).
        }
        if (Date.now() - modified < graceMs || isReferenced(blobId) || this.pending.has(blobId)) continue;
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }
}

interface DirSync {
  running: Promise<void> | undefined;
  queued: Promise<void> | undefined;
}

const SHARDS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
