import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * One resumable (tus) upload as kept on disk. `offset` is the acknowledged offset: bytes up to it
 * were fsynced before it was written here, and this record is replaced atomically.
 */
export interface ResumableUpload {
  id: string;
  /** Upload-Length: the whole file's size. */
  length: number;
  offset: number;
  /** Upload-Metadata exactly as the creation request sent it (echoed by HEAD). */
  rawMetadata: string;
  folder: string;
  name: string;
  type: string;
  product?: { ref: string | null; position: number | null };
  /** Where the bytes go once committed; chosen at creation so a commit interrupted by a crash can be recognised. */
  blobId: string;
  /** The principal that created it (logs; the owner of records from before uploads were bound). */
  createdBy: string;
  /**
   * Who may see and continue it (HEAD, PATCH, DELETE), and whose cap on pending uploads it counts
   * against: `key:{uuid}` for an API key, `template:{hash of the template id}` for SASS keys, which
   * expire and are renewed mid-upload.
   * Absent on records written before uploads were bound: then only `createdBy` may.
   */
  owner?: string;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  /** Set once every byte is in: the content hash, then the asset it became. */
  sha1?: string;
  committing?: boolean;
  fileUuid?: string;
  /** The folder already held this content (duplicate policy): `fileUuid` is the existing asset. */
  duplicate?: boolean;
  /** The commit failed for good (e.g. the name was refused); the upload cannot complete. */
  failure?: { code: string; msg: string };
}

const ID = /^[a-f0-9]{32}$/;

/** A writable that writes each chunk at its position through one file handle and counts what landed. */
class PositionedWriter extends Writable {
  written = 0;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly handle: FileHandle,
    private readonly start: number,
    private readonly onWritten: (chunk: Buffer) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const work = (async () => {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await this.handle.write(chunk, done, chunk.length - done, this.start + this.written + done);
        done += bytesWritten;
      }
      this.written += done;
      this.onWritten(chunk);
    })();
    this.pending = work.catch(() => undefined);
    work.then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Never release the handle under a write still in flight: the count must match the file.
    void this.pending.then(() => callback(error));
  }

  settled(): Promise<unknown> {
    return this.pending;
  }
}

export interface AppendResult {
  offset: number;
  /** Why the body ended early (client gone, over the length); bytes before it are kept and counted. */
  error?: unknown;
}

/**
 * The resumable uploads of a server: one `{id}.json` record and one `{id}.data` file per upload in
 * their own folder (not `tmp/`, which start-up recovery empties). Appends are positioned writes
 * followed by fsync, and the record is then replaced (temp, fsync, rename, fsync folder), so an
 * acknowledged offset survives `kill -9` and power loss. Bytes past the recorded offset (a crash
 * in the middle of a PATCH) are cut off on the next write: the client resends them.
 */
/** What the store keeps in memory of each record: enough to count pending uploads and spare committing blobs. */
interface IndexEntry {
  /** Who the upload belongs to (`owner`, or `createdBy` on records from before uploads were bound). */
  owner: string;
  expiresAt: number;
  /** Neither committed nor failed: it still takes bytes (or is being committed). */
  pending: boolean;
  /** The blob id while a commit is under way (`committing`): its blob may sit in blobs/ before its row commits. */
  committingBlob?: string;
}

export class ResumableStore {
  private readonly locks = new Map<string, { done: Promise<void>; abort: () => void }>();
  /** Every record on disk, kept in step by `create`, `save` and `remove` (loaded by `init`). */
  private readonly index = new Map<string, IndexEntry>();
  private readonly committingBlobs = new Set<string>();
  /** Running sha1 of each upload's bytes [0, bytes) while the process lives; saves re-reading the file at the end. */
  private readonly hashes = new Map<string, { hash: Hash; bytes: number }>();

  constructor(
    readonly dir: string,
    private readonly sync: boolean,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const upload = await this.get(name.slice(0, -5));
        if (upload) this.track(upload);
      } catch {
        // Unreadable record: nothing can resume it, and expiry removes it.
      }
    }
  }

  private track(upload: ResumableUpload): void {
    this.untrack(upload.id);
    const pending = !upload.fileUuid && !upload.failure;
    const committingBlob = pending && upload.committing ? upload.blobId : undefined;
    this.index.set(upload.id, { owner: upload.owner ?? upload.createdBy, expiresAt: upload.expiresAt, pending, committingBlob });
    if (committingBlob) this.committingBlobs.add(committingBlob);
  }

  private untrack(id: string): void {
    const entry = this.index.get(id);
    if (entry?.committingBlob) this.committingBlobs.delete(entry.committingBlob);
    this.index.delete(id);
  }

  /**
   * Uploads not yet committed nor failed and not expired at `now`, of `owner` when given: how
   * many, and when the first of them expires (ms since the epoch; undefined when none).
   */
  pending(now: number, owner?: string): { count: number; nextExpiry: number | undefined } {
    let count = 0;
    let nextExpiry: number | undefined;
    for (const entry of this.index.values()) {
      if (!entry.pending || entry.expiresAt <= now) continue;
      if (owner !== undefined && entry.owner !== owner) continue;
      count++;
      nextExpiry = Math.min(nextExpiry ?? entry.expiresAt, entry.expiresAt);
    }
    return { count, nextExpiry };
  }

  /**
   * Whether `blobId` belongs to an upload whose commit is under way (or was cut short by a crash):
   * its blob may be in blobs/ before the row that references it, and must not be taken for an orphan.
   */
  isCommittingBlob(blobId: string): boolean {
    return this.committingBlobs.has(blobId);
  }

  static newId(): string {
    return randomUUID().replaceAll('-', '');
  }

  static isId(id: string): boolean {
    return ID.test(id);
  }

  dataPath(id: string): string {
    return join(this.dir, `${id}.data`);
  }

  private recordPath(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  /** Creates the (empty) data file, then the record: a record always has its data file. */
  async create(upload: ResumableUpload): Promise<void> {
    // Counted at once (before any await), so that a cap checked just before holds under concurrency.
    this.track(upload);
    try {
      const handle = await open(this.dataPath(upload.id), 'wx');
      try {
        if (this.sync) await handle.sync();
      } finally {
        await handle.close();
      }
      this.hashes.set(upload.id, { hash: createHash('sha1'), bytes: 0 });
      await this.save(upload);
    } catch (error) {
      this.untrack(upload.id);
      throw error;
    }
  }

  async get(id: string): Promise<ResumableUpload | undefined> {
    if (!ID.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(this.recordPath(id), 'utf8')) as ResumableUpload;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Replaces the record atomically (and durably when syncing). */
  async save(upload: ResumableUpload): Promise<void> {
    const path = this.recordPath(upload.id);
    const temp = `${path}.${randomUUID().slice(0, 8)}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(upload));
      if (this.sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    this.track(upload);
    if (this.sync) await fsyncDir(this.dir);
  }

  async remove(id: string): Promise<void> {
    this.untrack(id);
    this.hashes.delete(id);
    await rm(this.recordPath(id), { force: true });
    await rm(this.dataPath(id), { force: true });
  }

  /**
   * After a crash between moving an upload's data into the blob store (`blobPath`) and committing
   * its row, moves the data back when it is there and the data file is not, so that the commit can
   * run again. Returns whether it moved anything.
   */
  async takeBack(upload: ResumableUpload, blobPath: string): Promise<boolean> {
    try {
      await stat(this.dataPath(upload.id));
      return false;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    try {
      await rename(blobPath, this.dataPath(upload.id));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    if (this.sync) await fsyncDir(this.dir);
    return true;
  }

  /** Forgets the running hash (the data file moved into the blob store). */
  forgetHash(id: string): void {
    this.hashes.delete(id);
  }

  /**
   * Runs `work` alone for this upload. With `preempt`, a request already holding the upload is
   * asked to stop first (a new PATCH means its client gave up on the old one): the bytes it wrote
   * are kept and counted. Without, it waits its turn. `onAbort` is how this request is stopped.
   */
  async exclusive<T>(id: string, work: () => Promise<T>, options: { preempt?: boolean; onAbort?: () => void } = {}): Promise<T> {
    for (;;) {
      const held = this.locks.get(id);
      if (!held) break;
      if (options.preempt) held.abort();
      await held.done;
    }
    const onAbort = options.onAbort ?? ((): void => undefined);
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    this.locks.set(id, { done, abort: onAbort });
    try {
      return await work();
    } finally {
      this.locks.delete(id);
      release();
    }
  }

  /**
   * Writes `source` at `upload.offset`, at most `upload.length - upload.offset` bytes (more is an
   * error, after what fits was written), fsyncs, cuts anything beyond, and returns the new offset.
   * The caller records it. Memory stays flat: the body streams through 1 MiB buffers.
   */
  async append(upload: ResumableUpload, source: Readable): Promise<AppendResult> {
    const start = upload.offset;
    const room = upload.length - start;
    const running = this.hashes.get(upload.id);
    const hashed = running && running.bytes === start ? running : undefined;
    if (!hashed) this.hashes.delete(upload.id);
    const handle = await open(this.dataPath(upload.id), 'r+');
    let error: unknown;
    let writer: PositionedWriter | undefined;
    try {
      let seen = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          const fits = Math.max(0, Math.min(chunk.length, room - seen));
          seen += chunk.length;
          if (fits < chunk.length) {
            if (fits > 0) this.push(chunk.subarray(0, fits));
            callback(new BodyTooLong(room));
            return;
          }
          callback(null, chunk);
        },
      });
      writer = new PositionedWriter(handle, start, (chunk) => {
        if (hashed) {
          hashed.hash.update(chunk);
          hashed.bytes += chunk.length;
        }
      });
      try {
        await pipeline(source, limit, writer);
      } catch (caught) {
        error = caught;
      }
      await writer.settled();
      const offset = start + writer.written;
      // Bytes past the offset are from a PATCH that died before its acknowledgement.
      if ((await handle.stat()).size > offset) await handle.truncate(offset);
      if (this.sync) await handle.datasync();
      return { offset, error };
    } catch (failure) {
      this.hashes.delete(upload.id);
      throw failure;
    } finally {
      await handle.close();
    }
  }

  /** The sha1 of the whole content: the running hash when it covers every byte, else read from disk. */
  async sha1(upload: ResumableUpload): Promise<string> {
    const running = this.hashes.get(upload.id);
    this.hashes.delete(upload.id);
    if (running && running.bytes === upload.length) return running.hash.digest('hex');
    const hash = createHash('sha1');
    await pipeline(
      createReadStream(this.dataPath(upload.id), { start: 0, end: upload.length - 1, highWaterMark: 1 << 20 }),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback();
        },
      }),
    ).catch((error: NodeJS.ErrnoException) => {
      // An empty file has no byte to read; a range read of it fails on some platforms.
      if (upload.length !== 0) throw error;
    });
    return hash.digest('hex');
  }

  /**
   * Removes uploads past their expiry, leftover temp records, and data files without a record
   * (creation interrupted) older than `orphanGraceMs`. Runs at start-up and with the periodic
   * collection. Uploads busy in a request are left alone.
   */
  async expire(now: number, orphanGraceMs: number): Promise<number> {
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    const records = new Set(names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)));
    for (const name of names) {
      const path = join(this.dir, name);
      if (name.endsWith('.tmp') || (name.endsWith('.data') && !records.has(name.slice(0, -5)))) {
        try {
          if (now - (await stat(path)).mtimeMs < orphanGraceMs) continue;
        } catch {
          continue;
        }
        await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -5);
      if (this.locks.has(id)) continue;
      let upload: ResumableUpload | undefined;
      try {
        upload = await this.get(id);
      } catch {
        upload = undefined; // Unreadable record: nothing can resume it.
      }
      if (upload && upload.expiresAt > now) continue;
      await this.remove(id);
      removed++;
    }
    return removed;
  }
}

export class BodyTooLong extends Error {
  constructor(readonly room: number) {
    super(`The body goes past Upload-Length: only ${room} more bytes were expected.`);
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
