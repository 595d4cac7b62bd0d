import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { BufferPool, Lease } from '../core/buffer-pool.js';
import { ConfigurationError } from '../core/errors.js';

/**
 * What can be uploaded: a local path, bytes, or a readable stream (sent once: a stream cannot be
 * replayed, so its upload is not retried once bytes have left).
 */
export type UploadSource =
  | string
  | Uint8Array
  | Readable
  | AsyncIterable<Uint8Array>
  | { path: string; name?: string }
  | { data: Uint8Array | Readable | AsyncIterable<Uint8Array>; name: string; size?: number };

export interface ResolvedSource {
  name: string;
  /** Bytes, when known up front (paths and buffers); lets the body carry a Content-Length. */
  size: number | undefined;
  replayable: boolean;
  /** A fresh byte stream of the content; for non-replayable sources, callable once. */
  open(): AsyncIterable<Uint8Array>;
  /**
   * The whole content, when it is held in memory (bytes given, or a small file read at once): the
   * request can then go out as one buffer, and its hash be taken only if it is ever needed.
   */
  bytes?: Uint8Array;
  /**
   * When `bytes` were read into a buffer lent by a pool: that buffer, with room before and after
   * them (`bytes` start at `HEAD_ROOM`) so a multipart body can be framed around them in place.
   * The uploader releases it when done.
   */
  lease?: Lease;
  /** A short description for progress and results (the path, or the name). */
  label: string;
}

// Large enough to keep syscalls and per-chunk work low on multi-GiB files, small enough to stay flat.
const CHUNK = 1024 * 1024;
/**
 * Files up to this size are read whole when resolved (open, fstat, one read, close) rather than
 * streamed: a stream costs a 1 MiB read buffer and several calls per file, which dominates when
 * thousands of small files go out at once. Bulk uploads resolve a file only when a slot is free,
 * so at most `concurrency` of these are held.
 */
export const READ_WHOLE_MAX = 1024 * 1024;
/** Room left before and after a file read into a lent buffer, for the multipart head and tail. */
export const HEAD_ROOM = 2048;
export const TAIL_ROOM = 128;

/** With a `pool`, small files are read into lent buffers (see `ResolvedSource.lease`). */
export async function resolveSource(
  source: UploadSource,
  name?: string,
  pool?: BufferPool,
): Promise<ResolvedSource> {
  if (
    typeof source === 'string' ||
    (isRecord(source) && typeof (source as { path?: unknown }).path === 'string' && !('data' in source))
  ) {
    const path = typeof source === 'string' ? source : (source as { path: string; name?: string }).path;
    const cannotRead = (error: NodeJS.ErrnoException): never => {
      throw new ConfigurationError(
        `cannot read upload source "${path}": ${error.code ?? error.message}. Check the path.`,
      );
    };
    // Synchronous calls: for a file of the page cache, open, fstat, one read and close take a few
    // microseconds each, where each promise-based call is a thread-pool round trip costing more
    // CPU than the syscall itself (the largest client cost in a bulk upload of small files).
    // O_NONBLOCK so that opening a FIFO by mistake does not hang; it is refused as not a file.
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      return cannotRead(error as NodeJS.ErrnoException);
    }
    let size: number;
    let bytes: Uint8Array | undefined;
    let lease: Lease | undefined;
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) throw new ConfigurationError(`upload source "${path}" is not a regular file.`);
      size = info.size;
      if (size <= READ_WHOLE_MAX) {
        try {
          if (pool) {
            lease = pool.lend(HEAD_ROOM + size + TAIL_ROOM);
            bytes = lease.buffer.subarray(HEAD_ROOM, HEAD_ROOM + readInto(fd, lease.buffer, HEAD_ROOM, size));
          } else {
            const buffer = Buffer.allocUnsafe(size);
            bytes = buffer.subarray(0, readInto(fd, buffer, 0, size));
          }
        } catch (error) {
          return cannotRead(error as NodeJS.ErrnoException);
        }
        size = bytes.byteLength;
      }
    } finally {
      closeSync(fd);
    }
    const chosen =
      name ?? (typeof source === 'string' ? undefined : (source as { name?: string }).name) ?? basename(path);
    if (bytes) {
      const whole = bytes;
      return { name: chosen, size, replayable: true, bytes: whole, lease, open: () => slices(whole), label: path };
    }
    return {
      name: chosen,
      size,
      replayable: true,
      open: () => createReadStream(path, { highWaterMark: CHUNK }),
      label: path,
    };
  }
  if (source instanceof Uint8Array) {
    if (!name) throw new ConfigurationError('uploading bytes needs a file name: pass { name: "photo.jpg" }.');
    return { name, size: source.byteLength, replayable: true, bytes: source, open: () => slices(source), label: name };
  }
  if (isRecord(source) && 'data' in source) {
    const { data, size } = source as {
      data: Uint8Array | Readable | AsyncIterable<Uint8Array>;
      name: string;
      size?: number;
    };
    const chosen = name ?? (source as { name: string }).name;
    if (!chosen) throw new ConfigurationError('an upload source { data } needs a "name".');
    if (data instanceof Uint8Array) return resolveSource(data, chosen);
    return once(data, chosen, size);
  }
  if (isAsyncIterable(source)) {
    if (!name)
      throw new ConfigurationError('uploading a stream needs a file name: pass { name: "video.mp4" }.');
    return once(source, name, undefined);
  }
  throw new ConfigurationError(
    'unsupported upload source: give a path, a Buffer, a readable stream, or { data, name }.',
  );
}

function once(stream: AsyncIterable<Uint8Array>, name: string, size: number | undefined): ResolvedSource {
  let opened = false;
  return {
    name,
    size,
    replayable: false,
    label: name,
    open() {
      if (opened)
        throw new ConfigurationError(
          `the stream for "${name}" was already consumed and cannot be sent again.`,
        );
      opened = true;
      return toBytes(stream);
    },
  };
}

async function* toBytes(stream: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) {
    if (chunk instanceof Uint8Array) yield chunk;
    else if (typeof chunk === 'string') yield Buffer.from(chunk);
    else throw new ConfigurationError('an upload stream must produce bytes (Buffer/Uint8Array) or strings.');
  }
}

/**
 * Reads a small file whole into `buffer` at `offset`; returns the bytes read. A file that grew since
 * its fstat is cut at that size, one that shrank is shorter.
 */
function readInto(fd: number, buffer: Buffer, offset: number, size: number): number {
  let filled = 0;
  while (filled < size) {
    const read = readSync(fd, buffer, offset + filled, size - filled, filled);
    if (read === 0) break;
    filled += read;
  }
  return filled;
}

async function* slices(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK)
    yield bytes.subarray(offset, offset + CHUNK);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Readable)
  );
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
