import { randomBytes } from 'node:crypto';
import type { BufferPool, Lease } from '../core/buffer-pool.js';
import type { BodyPayload } from '../core/http.js';
import { HEAD_ROOM, TAIL_ROOM } from './source.js';

export interface MultipartFile {
  field: string;
  filename: string;
  contentType: string;
  size: number | undefined;
  /** The file's bytes as a stream, or whole (then the body goes out as one buffer). */
  content: AsyncIterable<Uint8Array> | Uint8Array;
  /** The lent buffer `content` was read into, at `HEAD_ROOM` (see `ResolvedSource.lease`). */
  lease?: Lease;
}

/** A body payload, and the buffer it was built in when that was lent for it (the caller releases it). */
export type MultipartPayload = BodyPayload & { lease?: Lease };

/**
 * A `multipart/form-data` body streamed part by part: text fields first (the API wants `info[...]`
 * before the binary), then the file, read chunk by chunk so memory stays flat whatever its size.
 * When the file's size is known the body's exact length is sent too: some servers (and the real
 * API's URL checks) want a Content-Length rather than chunked encoding.
 */
export function multipartBody(
  fields: ReadonlyArray<readonly [string, string]>,
  file: MultipartFile,
  pool?: BufferPool,
): MultipartPayload {
  const boundary = `----sfx${randomBytes(12).toString('hex')}`;
  const headText =
    fields
      .map(
        ([name, value]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`,
      )
      .join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="${quote(file.field)}"; filename="${quote(file.filename)}"\r\n` +
      `Content-Type: ${file.contentType}\r\n\r\n`;
  const tailText = `\r\n--${boundary}--\r\n`;
  const contentType = `multipart/form-data; boundary=${boundary}`;
  const content = file.content;
  if (content instanceof Uint8Array) {
    // One buffer: a single write for the transport, no per-chunk promises for a small file.
    const headLength = Buffer.byteLength(headText);
    const size = content.byteLength;
    if (file.lease && headLength <= HEAD_ROOM && tailText.length <= TAIL_ROOM) {
      // Framed in place around the bytes already read: no copy, no new buffer.
      const buffer = file.lease.buffer;
      buffer.write(headText, HEAD_ROOM - headLength);
      buffer.write(tailText, HEAD_ROOM + size, 'latin1');
      const body = file.lease.view(HEAD_ROOM - headLength, HEAD_ROOM + size + tailText.length);
      return { body, contentType, contentLength: body.byteLength };
    }
    const length = headLength + size + tailText.length;
    const lease = pool?.lend(length);
    const buffer = lease?.buffer ?? Buffer.allocUnsafe(length);
    buffer.write(headText, 0);
    buffer.set(content, headLength);
    buffer.write(tailText, headLength + size, 'latin1');
    const body = lease ? lease.view(0, length) : buffer;
    return { body, contentType, contentLength: length, lease };
  }
  const head = Buffer.from(headText);
  const tail = Buffer.from(tailText);
  async function* body(): AsyncGenerator<Uint8Array> {
    yield head;
    yield* content as AsyncIterable<Uint8Array>;
    yield tail;
  }
  return {
    body: body(),
    contentType,
    contentLength: file.size === undefined ? undefined : head.byteLength + file.size + tail.byteLength,
  };
}

/** Quotes a parameter the way browsers do: UTF-8 kept, `"` and line breaks percent-encoded. */
function quote(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
