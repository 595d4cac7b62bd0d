import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { AbortError, APIError, ConfigurationError, ConnectionError, FilerobotError } from '../core/errors.js';
import type { ApiCore } from '../core/http.js';
import { delayBeforeRetry, isTransientStatus, sleep } from '../core/retry.js';

/**
 * Where upload URLs are remembered between runs, so an interrupted resumable upload continues
 * where the server stopped instead of starting over (tus-js-client keeps them in localStorage or
 * a file the same way). Keys are fingerprints of the content and its destination.
 */
export interface ResumeStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, uploadUrl: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * A `ResumeStore` in one JSON file, written atomically (temp file + rename) on each change, so a
 * crash leaves the old or the new map, never half of one. Changes from one process are serialised.
 */
export class JsonFileResumeStore implements ResumeStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  private async read(): Promise<Record<string, string>> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as unknown;
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new ConfigurationError(`the resume store ${this.path} cannot be read: ${(error as Error).message}.`);
    }
  }

  private change(edit: (map: Record<string, string>) => void): Promise<void> {
    const run = this.queue.catch(() => undefined).then(async () => {
      const map = await this.read();
      edit(map);
      await mkdir(dirname(this.path), { recursive: true });
      const temp = `${this.path}.${randomUUID().slice(0, 8)}.tmp`;
      await writeFile(temp, JSON.stringify(map, null, 1));
      await rename(temp, this.path);
    });
    this.queue = run;
    return run;
  }

  async get(key: string): Promise<string | undefined> {
    await this.queue.catch(() => undefined);
    return (await this.read())[key];
  }

  set(key: string, uploadUrl: string): Promise<void> {
    return this.change((map) => {
      map[key] = uploadUrl;
    });
  }

  delete(key: string): Promise<void> {
    return this.change((map) => {
      delete map[key];
    });
  }
}

/** What a resumable upload can read from: a local path or bytes (both can be re-read from any offset). */
export type ResumableSource = string | Uint8Array | { path: string; name?: string } | { data: Uint8Array; name: string };

export interface ResolvedResumable {
  name: string;
  size: number;
  /** Identifies this content for the resume store: path + size + mtime, or the bytes' sha1. */
  fingerprint: string;
  /** The bytes [start, end), read in 1 MiB pieces. */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
}

const PIECE = 1024 * 1024;

export async function resolveResumable(source: ResumableSource, name?: string): Promise<ResolvedResumable> {
  if (typeof source === 'string' || (typeof source === 'object' && source !== null && 'path' in source && typeof source.path === 'string')) {
    const path = resolve(typeof source === 'string' ? source : source.path);
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw new ConfigurationError(`cannot read upload source "${path}": ${error.code ?? error.message}. Check the path.`);
    });
    if (!info.isFile()) throw new ConfigurationError(`upload source "${path}" is not a regular file.`);
    return {
      name: name ?? (typeof source === 'string' ? undefined : source.name) ?? basename(path),
      size: info.size,
      fingerprint: `path:${path}:${info.size}:${Math.trunc(info.mtimeMs)}`,
      read: (start, end) =>
        end > start ? createReadStream(path, { start, end: end - 1, highWaterMark: PIECE }) : empty(),
    };
  }
  const data = source instanceof Uint8Array ? source : typeof source === 'object' && source !== null && 'data' in source ? source.data : undefined;
  if (!(data instanceof Uint8Array)) {
    throw new ConfigurationError(
      'a resumable upload reads from a path or bytes ({ data, name }): a stream cannot be read again from an offset.',
    );
  }
  const chosen = name ?? (source instanceof Uint8Array ? undefined : (source as { name: string }).name);
  if (!chosen) throw new ConfigurationError('uploading bytes needs a file name: pass { name: "video.mp4" }.');
  return {
    name: chosen,
    size: data.byteLength,
    fingerprint: `sha1:${createHash('sha1').update(data).digest('hex')}:${data.byteLength}`,
    read: async function* (start, end) {
      for (let at = start; at < end; at += PIECE) yield data.subarray(at, Math.min(end, at + PIECE));
    },
  };
}

async function* empty(): AsyncGenerator<Uint8Array> {}

const TUS = '1.0.0';

export interface TusOptions {
  connectorUrl: string;
  token: string;
  folder: string;
  product?: { ref: string; position?: number };
  contentType?: string;
  chunkSize: number;
  resume?: ResumeStore;
  signal?: AbortSignal;
  timeoutMs?: number;
  onProgress?: (progress: { loaded: number; total: number }) => void;
}

export interface TusOutcome {
  /** The upload's URL (`{connector}/files/{id}`). */
  uploadUrl: string;
  /** Where this run started: 0 for a new upload, the server's offset for a resumed one. */
  resumedFrom: number;
  /** Bytes this run put on the wire (retried chunks counted again). */
  bytesSent: number;
  /** The reply of `GET {connector}/json/{id}`. */
  reply: { status?: string; file?: unknown; upload?: { duplicate?: boolean } };
}

/**
 * The tus 1.0 client side: create (or find the remembered upload and HEAD its offset), PATCH the
 * rest in chunks read from the source at their offsets, then fetch the file object. A failed
 * chunk is retried after 429/5xx/connection errors with the client's backoff (Retry-After
 * honoured); before resending, HEAD asks where the server stands, so bytes that did arrive are not
 * sent twice. A 409 (offset mismatch) goes straight to HEAD. Memory stays at about one 1 MiB piece.
 */
export async function tusUpload(core: ApiCore, file: ResolvedResumable, options: TusOptions): Promise<TusOutcome> {
  const { connectorUrl, token, signal } = options;
  const base = connectorUrl.replace(/\/+$/, '');
  const headers = { 'tus-resumable': TUS, 'x-filerobot-token': token };
  const key = JSON.stringify([file.fingerprint, base, token, options.folder, file.name]);
  const policy = core.options.retry;
  let bytesSent = 0;

  const head = async (url: string): Promise<{ offset: number; length: number }> => {
    const response = await core.raw({ method: 'HEAD', path: '', url, headers, signal, timeoutMs: options.timeoutMs });
    await response.dump();
    return { offset: Number(response.headers['upload-offset']), length: Number(response.headers['upload-length']) };
  };

  let uploadUrl = await options.resume?.get(key);
  let offset = 0;
  if (uploadUrl) {
    try {
      const state = await head(uploadUrl);
      if (state.length !== file.size || !Number.isSafeInteger(state.offset)) throw new FilerobotError('the remembered upload is for other content');
      offset = state.offset;
    } catch (error) {
      if (error instanceof AbortError) throw error;
      // Gone (expired, terminated, another server) or not ours: start afresh.
      if (error instanceof ConnectionError) throw error;
      uploadUrl = undefined;
      await options.resume?.delete(key);
    }
  }
  const resumedFrom = offset;
  if (!uploadUrl) {
    const metadata: Array<[string, string]> = [
      ['name', file.name],
      ['filerobot-folder', options.folder],
    ];
    if (options.contentType) metadata.push(['type', options.contentType]);
    if (options.product) metadata.push(['product', JSON.stringify(options.product)]);
    const response = await core.raw({
      method: 'POST',
      path: '',
      url: `${base}/files`,
      headers: {
        ...headers,
        'upload-length': String(file.size),
        'upload-metadata': metadata.map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(','),
      },
      // A retried creation at worst leaves an empty upload behind, which expires.
      idempotent: true,
      signal,
      timeoutMs: options.timeoutMs,
    });
    await response.dump();
    const location = response.headers.location;
    if (!location) throw new FilerobotError(`the tus server at ${base}/files created an upload but sent no Location.`);
    uploadUrl = new URL(location, `${base}/files`).href;
    await options.resume?.set(key, uploadUrl);
  }
  options.onProgress?.({ loaded: offset, total: file.size });

  let failures = 0;
  while (offset < file.size) {
    const end = Math.min(file.size, offset + options.chunkSize);
    const start = offset;
    try {
      const response = await core.raw({
        method: 'PATCH',
        path: '',
        url: uploadUrl,
        headers: { ...headers, 'upload-offset': String(start) },
        body: () => ({
          body: counted(file.read(start, end), (bytes, total) => {
            bytesSent += bytes;
            options.onProgress?.({ loaded: start + total, total: file.size });
          }),
          contentType: 'application/offset+octet-stream',
          contentLength: end - start,
        }),
        maxRetries: 0,
        signal,
        timeoutMs: options.timeoutMs,
      });
      await response.dump();
      const next = Number(response.headers['upload-offset']);
      if (!Number.isSafeInteger(next) || next <= start) {
        throw new FilerobotError(`the tus server acknowledged offset ${response.headers['upload-offset']} after ${start}.`);
      }
      offset = next;
      failures = 0;
      options.onProgress?.({ loaded: offset, total: file.size });
    } catch (error) {
      if (error instanceof AbortError || signal?.aborted) throw error;
      const status = error instanceof APIError ? error.status : undefined;
      const retryable = error instanceof ConnectionError || status === 409 || (status !== undefined && isTransientStatus(status));
      if (!retryable || failures >= policy.maxRetries) throw error;
      if (status !== 409) {
        const delay = delayBeforeRetry(policy, failures, error instanceof APIError ? error.headers : undefined, core.options.random);
        if (delay === 'too-long') throw error;
        await sleep(delay, signal).catch((cause: unknown) => {
          throw new AbortError('The request was aborted by the caller.', { cause });
        });
      }
      failures++;
      // Where does the server stand? Bytes of a cut PATCH that arrived are kept there.
      offset = (await head(uploadUrl)).offset;
      options.onProgress?.({ loaded: offset, total: file.size });
    }
  }
  await options.resume?.delete(key);

  const id = uploadUrl.split('/').pop() ?? '';
  // The real service may need a moment after the last byte; 409 means "not finished yet".
  let reply: TusOutcome['reply'] | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      reply = await core.json<TusOutcome['reply']>({ method: 'GET', path: '', url: `${base}/json/${encodeURIComponent(id)}`, auth: false, signal, timeoutMs: options.timeoutMs });
      if (reply.file) break;
    } catch (error) {
      if (!(error instanceof APIError && error.status === 409) || attempt >= policy.maxRetries) throw error;
    }
    if (attempt >= policy.maxRetries) break;
    await sleep(delayBeforeRetry(policy, attempt, undefined, core.options.random) as number, signal);
  }
  if (!reply?.file) throw new FilerobotError(`the finished upload ${id} returned no file object from ${base}/json/${id}.`);
  return { uploadUrl, resumedFrom, bytesSent, reply };
}

async function* counted(
  source: AsyncIterable<Uint8Array>,
  onBytes: (bytes: number, total: number) => void,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    onBytes(chunk.byteLength, total);
    yield chunk;
  }
}

export interface ResumableUploadOptions {
  /** Target folder path; created when missing. Default `/`. */
  folder?: string;
  /** The asset's name; defaults to the file's base name. Required for bytes. */
  name?: string;
  /** Applied after the upload with the metadata call (tus does not carry it). */
  meta?: Record<string, unknown>;
  /** Tag labels, applied after the upload with the tags call (tus does not carry them). */
  tags?: string[];
  /** Product link, sent in the tus metadata. */
  product?: { ref: string; position?: number };
  /** MIME type; guessed from the name by the server when absent. */
  contentType?: string;
  /** Bytes per PATCH request. Default 5 MB, as the official uploader. */
  chunkSize?: number;
  /** The tus connector host, e.g. `https://eu-on-24001.connector.filerobot.com`; overrides the client's `connectorUrl`. */
  connectorUrl?: string;
  /** Remembers upload URLs so a later run resumes instead of starting over (e.g. `new JsonFileResumeStore('.sfx/uploads.json')`). */
  resume?: ResumeStore;
  onProgress?: (progress: { loaded: number; total: number }) => void;
  signal?: AbortSignal;
  /** Longest stall of one request. */
  timeoutMs?: number;
}

export const DEFAULT_CHUNK_SIZE = 5 * 1024 * 1024;
