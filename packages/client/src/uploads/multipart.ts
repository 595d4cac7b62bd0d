import { randomBytes } from 'node:crypto';
import type { BodyPayload } from '../core/http.js';

export interface MultipartFile {
  field: string;
  filename: string;
  contentType: string;
  size: number | undefined;
  /** The file's bytes as a stream, or whole (then the body goes out as one buffer). */
  content: AsyncIterable<Uint8Array> | Uint8Array;
}

/**
 * A `multipart/form-data` body streamed part by part: text fields first (the API wants `info[...]`
 * before the binary), then the file, read chunk by chunk so memory stays flat whatever its size.
 * When the file's size is known the body's exact length is sent too: some servers (and the real
 * API's URL checks) want a Content-Length rather than chunked encoding.
 */
export function multipartBody(
  fields: ReadonlyArray<readonly [string, string]>,
  file: MultipartFile,
): BodyPayload {
  const boundary = `----sfx${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    fields
      .map(
        ([name, value]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`,
      )
      .join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="${quote(file.field)}"; filename="${quote(file.filename)}"\r\n` +
      `Content-Type: ${file.contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const contentType = `multipart/form-data; boundary=${boundary}`;
  const content = file.content;
  if (content instanceof Uint8Array) {
    // One buffer: a single write for the transport, no per-chunk promises for a small file.
    const whole = Buffer.concat([head, content, tail]);
    return { body: whole, contentType, contentLength: whole.byteLength };
  }
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
