import { randomBytes } from 'node:crypto';
import type { BodyPayload } from '../core/http.js';

export interface MultipartFile {
  field: string;
  filename: string;
  contentType: string;
  size: number | undefined;
  content: AsyncIterable<Uint8Array>;
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
  async function* body(): AsyncGenerator<Uint8Array> {
    yield head;
    yield* file.content;
    yield tail;
  }
  return {
    body: body(),
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: file.size === undefined ? undefined : head.byteLength + file.size + tail.byteLength,
  };
}

/** Quotes a parameter the way browsers do: UTF-8 kept, `"` and line breaks percent-encoded. */
function quote(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
